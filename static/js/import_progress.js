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
    const label = root.dataset[`label${data.status[0].toUpperCase()}${data.status.slice(1)}`];
    document.getElementById("state").textContent = label || data.status;
    root.dataset.status = data.status;
    if (data.status === "done" || data.status === "failed") {
      const r = data.report;
      // The report lists the first problems of each kind and counts them all.
      const counts = { ...r, errors: r.error_count ?? r.errors.length,
                       warnings: r.warning_count ?? r.warnings.length };
      document.getElementById("summary").textContent =
        root.dataset.labelSummary.replace(/\{(\w+)\}/g, (_, key) => counts[key]);
      fill("errors", r.errors);
      fill("warnings", r.warnings);
      document.getElementById("again").hidden = !data.again;
      return;
    }
    setTimeout(poll, 700);
  }
  poll();
})();
