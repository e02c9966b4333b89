// The leaders' coverage map (R31): unit polygons coloured by coverage, drill-down by
// click, hexagons of unvisited households or suspected cases. Aggregates only.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("coverage-config").textContent);
  const colours = { green: "#2e9e4f", orange: "#f29d38", red: "#d7392f", yellow: "#f5d33d",
                    none: "#c9ced6", suppressed: "#9aa3ad" };
  const $ = (id) => document.getElementById(id);

  window.addEventListener("map:init", (event) => {
    const map = event.detail.map;
    let units = null, hexes = null, parents = [], fitted = false;

    function campaign() { return config.campaigns.find((c) => c.code === $("campaign").value); }

    async function loadUnits() {
      const c = campaign();
      if (!c) return;
      const level = Number($("cov-level").value);
      const parent = parents.length ? `&parent=${encodeURIComponent(parents[parents.length - 1])}` : "";
      const url = config.coverageUrl.replace("{code}", encodeURIComponent(c.code)) + `?level=${level}${parent}`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      if (units) units.remove();
      units = L.geoJSON(data, {
        style: (f) => ({ color: "#1d2733", weight: 1, fillOpacity: 0.65, fillColor: colours[f.properties.colour] }),
        onEachFeature(feature, layer) {
          const p = feature.properties;
          const share = p.coverage === null ? "—" : `${(p.coverage * 100).toFixed(1)}%`;
          layer.bindTooltip(`${p.name} · ${share}`, { sticky: true });
          layer.on("click", () => {
            $("cov-info").hidden = false;
            $("cov-name").textContent = `${p.name} (${p.code})`;
            $("cov-households").textContent = p.households;
            $("cov-screened").textContent = p.screened;
            $("cov-share").textContent = share;
            if (level < 5) {
              parents.push(p.code);
              $("cov-level").value = String(level + 1);
              loadUnits();
            }
          });
        },
      }).addTo(map);
      if (!fitted && units.getLayers().length) { map.fitBounds(units.getBounds()); fitted = true; }
      $("covmap").dataset.loaded = `${c.code}:${level}:${data.features.length}`;
    }

    async function loadHexes() {
      if (hexes) { hexes.remove(); hexes = null; }
      const kind = $("hexagons").value, c = campaign();
      if (!kind || !c) return;
      const url = config.hexagonsUrl.replace("{code}", encodeURIComponent(c.code)) + `?kind=${kind}&size=250`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      hexes = L.geoJSON(data, {
        style: { color: kind === "suspected" ? "#7030a0" : "#b00020", weight: 0.5, fillOpacity: 0.55 },
        onEachFeature: (f, layer) => layer.bindTooltip(String(f.properties.count)),
      }).addTo(map);
      $("covmap").dataset.hexagons = String(data.features.length);
    }

    function reset() {
      const c = campaign();
      parents = [];
      if (c) $("cov-level").value = String(Math.min(c.scopeLevel + 1, 5));
      fitted = false;
      loadUnits();
      loadHexes();
    }
    let gaps = null;
    async function loadGaps() {
      if (gaps) { gaps.remove(); gaps = null; }
      if (!$("show-gaps").checked) return;
      const response = await fetch(config.gapsUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      gaps = L.geoJSON(data, {
        interactive: true,
        style: { color: "#7030a0", weight: 3, dashArray: "8 5", fill: false },
        onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.name}: ${f.properties.missing.join("；")}`),
      }).addTo(map);
      $("covmap").dataset.gaps = String(data.features.length);
    }
    $("show-gaps").addEventListener("change", loadGaps);
    $("campaign").addEventListener("change", reset);
    $("cov-level").addEventListener("change", () => { parents = []; loadUnits(); });
    $("hexagons").addEventListener("change", loadHexes);
    $("cov-up").addEventListener("click", (e) => {
      e.preventDefault();
      if (!parents.length) return;
      parents.pop();
      $("cov-level").value = String(Math.max(Number($("cov-level").value) - 1, 1));
      loadUnits();
    });
    for (const link of document.querySelectorAll("a.mop-up")) {
      link.addEventListener("click", (e) => {
        e.preventDefault();
        const c = campaign();
        if (c) window.location = `/screening/${encodeURIComponent(c.code)}/mop-up.csv?unit=${link.dataset.unit}`;
      });
    }
    reset();
  });
})();
