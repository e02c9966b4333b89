// Polls an import's status and shows its progress bar and report.
(function () {
  "use strict";
  const root = document.getElementById("import-progress");
  const url = root.dataset.statusUrl;
  const fill = (id, items) => {
    const list = document.getElementById(id);
    list.replaceChildren(...items.map((p) => {
      const li = document.createElement("li");
      li.textContent = p.where ? `${p.where}: ${p.message}` : p.message;
      return li;
    }));
  };
  async function poll() {
    const response = await fetch(url, { credentials: "same-origin" });
    const data = await response.json();
    document.getElementById("bar").value = data.progress;
    document.getElementById("state").textContent = `${data.status} ${data.message || ""}`;
    root.dataset.status = data.status;
    if (data.status === "done" || data.status === "failed") {
      const r = data.report;
      document.getElementById("summary").textContent =
        `read ${r.read} · created ${r.created} · updated ${r.updated} · ` +
        `errors ${r.errors.length} · warnings ${r.warnings.length}`;
      fill("errors", r.errors);
      fill("warnings", r.warnings);
      return;
    }
    setTimeout(poll, 700);
  }
  poll();
})();
