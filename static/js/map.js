// The grid map page: units of one level over an optional base layer.
// Data come from /api/units/ (GeoJSON built by PostGIS); the map is created
// by django-leaflet, which fires `map:init` on window.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const palette = ["#1f4e79", "#2e75b6", "#548235", "#bf8f00", "#c55a11"];

  function addBaseLayer(map) {
    if (config.basemap === "osm") {
      L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
        maxZoom: 19, attribution: "© OpenStreetMap",
      }).addTo(map);
    } else if (config.basemap === "tianditu") {
      const key = encodeURIComponent(config.tiandituKey);
      for (const layer of ["vec", "cva"]) {
        L.tileLayer(
          `https://t{s}.tianditu.gov.cn/${layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0` +
          `&LAYER=${layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}` +
          `&TILECOL={x}&tk=${key}`,
          { subdomains: "01234567", maxZoom: 18, attribution: "© 天地图" }
        ).addTo(map);
      }
    }
  }

  function showInfo(detail) {
    const byId = (id) => document.getElementById(id);
    byId("unit-info").hidden = false;
    byId("unit-name").textContent = detail.name;
    byId("unit-code").textContent = detail.code;
    byId("unit-level").textContent = `${detail.level} · ${detail.level_name}`;
    byId("unit-parents").textContent =
      detail.parents.map((p) => `${p.name} (${p.code})`).join(" › ") || "—";
    byId("unit-households").textContent = detail.households.toLocaleString();
    byId("unit-population").textContent = detail.population.toLocaleString();
    byId("unit-children").textContent = detail.children.toLocaleString();
  }

  function init(map) {
    addBaseLayer(map);
    const levelSelect = document.getElementById("level");
    const counter = document.getElementById("unit-count");
    let layer = null;
    let selected = null;
    let request = 0;
    const baseStyle = (level) => ({ color: palette[level - 1], weight: 1.5, fillOpacity: 0.12 });

    let outline = null;

    function unitsUrl(level) {
      const b = map.getBounds();
      const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
        .map((v) => v.toFixed(5)).join(",");
      return `${config.unitsUrl}?level=${level}&zoom=${map.getZoom()}&bbox=${bbox}`;
    }

    async function loadOutline(level, mine) {
      // The level above, as thick non-interactive lines, so units read in context.
      if (outline) { outline.remove(); outline = null; }
      if (level === 1) return;
      const response = await fetch(unitsUrl(level - 1), { credentials: "same-origin" });
      if (!response.ok || mine !== request) return;
      outline = L.geoJSON(await response.json(), {
        interactive: false,
        style: { color: "#1d2733", weight: 2.5, fill: false, opacity: 0.8 },
      }).addTo(map);
    }

    async function load() {
      const level = Number(levelSelect.value);
      const mine = ++request;
      const response = await fetch(unitsUrl(level), { credentials: "same-origin" });
      if (!response.ok || mine !== request) return;
      const data = await response.json();
      loadOutline(level, mine);
      if (layer) layer.remove();
      layer = L.geoJSON(data, {
        style: baseStyle(level),
        onEachFeature(feature, featureLayer) {
          featureLayer.bindTooltip(feature.properties.name, { sticky: true });
          featureLayer.on("click", async () => {
            if (selected) selected.setStyle(baseStyle(level));
            selected = featureLayer;
            featureLayer.setStyle({ weight: 3.5, fillOpacity: 0.3 });
            const r = await fetch(`${config.unitsUrl}${encodeURIComponent(feature.id)}/`,
              { credentials: "same-origin" });
            if (r.ok) showInfo(await r.json());
          });
        },
      }).addTo(map);
      counter.textContent = `${data.features.length}`;
      document.getElementById("gridmap").dataset.loadedLevel = String(level);
      document.getElementById("gridmap").dataset.features = String(data.features.length);
    }

    if (config.extent) {
      const [w, s, e, n] = config.extent;
      map.fitBounds([[s, w], [n, e]]);
    }
    levelSelect.addEventListener("change", load);
    map.on("moveend", load);
    load();
    initTransfers(map);
  }

  // Transfers in progress (R24) as arrows from the origin to the destination.
  function arrowHead(from, to) {
    const dx = to.lng - from.lng, dy = to.lat - from.lat;
    const length = Math.hypot(dx, dy);
    if (!length) return null;
    const size = Math.min(length * 0.25, 0.01);
    const ux = dx / length, uy = dy / length;
    const back = [to.lat - uy * size, to.lng - ux * size];
    return [[to.lat, to.lng], [back[0] + ux * size * 0.5, back[1] - uy * size * 0.5],
            [back[0] - ux * size * 0.5, back[1] + uy * size * 0.5]];
  }

  function initTransfers(map) {
    const toggle = document.getElementById("show-transfers");
    if (!toggle) return;
    let group = null;
    async function draw() {
      if (group) { group.remove(); group = null; }
      if (!toggle.checked) return;
      const response = await fetch(config.transfersUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      group = L.layerGroup();
      for (const feature of data.features) {
        const [a, b] = feature.geometry.coordinates.map(([x, y]) => L.latLng(y, x));
        const colour = feature.properties.late ? "#c00000" : "#7030a0";
        const tip = `${feature.properties.patient_no} · ${feature.properties.kind_label} · ${feature.properties.state_label}`;
        L.polyline([a, b], { color: colour, weight: 2.5, dashArray: "6 4", className: "transfer-arrow" })
          .bindTooltip(tip).addTo(group);
        const head = arrowHead(a, b);
        if (head) L.polygon(head, { color: colour, fillColor: colour, fillOpacity: 1, weight: 1 }).addTo(group);
      }
      group.addTo(map);
      document.getElementById("gridmap").dataset.transfers = String(data.features.length);
    }
    toggle.addEventListener("change", draw);
    draw();
  }

  window.addEventListener("map:init", (event) => init(event.detail.map));
})();
