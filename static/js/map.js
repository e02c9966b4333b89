// The grid map page: the unit vector tiles (/tiles/units/z/x/y.pbf) drawn by
// Leaflet.VectorGrid on canvas, the level shown following the zoom (gridmap.tiles),
// the levels above as outlines, labels from the tiles' `labels` layer; a click on a unit
// shows its details (/api/units/<code>/). Transfers in progress as arrows (R24).
// The map is created by django-leaflet, which fires `map:init` on window.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const palette = ["#1f4e79", "#2e75b6", "#548235", "#bf8f00", "#c55a11"];
  const container = () => document.getElementById("gridmap");

  // Leaflet 1.9 dropped L.DomEvent.fakeStop, which VectorGrid 1.3's canvas click handler
  // still calls (Leaflet.VectorGrid issue 274, fixed upstream after its last release).
  if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = (event) => { event._stopped = true; };

  // Label points are drawn as text on the tile's canvas: a point styled with `label` is
  // its unit's name, white-haloed so it reads over fills and outlines. A label that would
  // overlap one already drawn on the tile, or run over the tile's edge (where the next
  // tile's canvas would cut it), is left out; zooming in makes room for it.
  const drawPoint = L.Canvas.Tile.prototype._updateCircle;
  L.Canvas.Tile.include({
    _updateCircle(layer) {
      const text = layer.options.label;
      if (layer.options.count) {  // a patients' cluster: its circle with its count in it
        drawPoint.call(this, layer);
        const ctx = this._ctx, p = layer._point;
        ctx.save();
        ctx.font = 'bold 12px "Noto Sans CJK SC", sans-serif';
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillStyle = "#fff";
        ctx.fillText(layer.options.count, p.x, p.y);
        ctx.restore();
        return;
      }
      if (!text) return drawPoint.call(this, layer);
      const ctx = this._ctx, p = layer._point;
      const size = layer.options.labelSize || 12;
      ctx.font = `${size}px "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif`;
      const half = ctx.measureText(text).width / 2 + 3;
      const box = [p.x - half, p.y - size / 2 - 2, p.x + half, p.y + size / 2 + 2];
      if (box[0] < 0 || box[1] < 0 || box[2] > this._size.x || box[3] > this._size.y) return;
      this._labelBoxes = this._labelBoxes || [];
      if (this._labelBoxes.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) return;
      this._labelBoxes.push(box);
      ctx.save();
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.lineJoin = "round";
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255, 255, 255, 0.92)";
      ctx.strokeText(text, p.x, p.y);
      ctx.fillStyle = "#1d2733";
      ctx.fillText(text, p.x, p.y);
      ctx.restore();
    },
  });

  function levelShown(zoom) {
    let shown = 1;
    for (const [start, level] of Object.entries(config.levelFromZoom)) {
      if (Number(start) <= zoom) shown = Math.max(shown, level);
    }
    return shown;
  }

  function unitStyle(properties, zoom) {
    const shown = levelShown(zoom);
    const level = properties.level;
    if (level === shown) {
      return { color: palette[level - 1], weight: 1, opacity: 0.9, fill: true,
               fillColor: palette[level - 1], fillOpacity: 0.08 };
    }
    // A level above the one shown: an outline, thicker the higher the level.
    return { color: "#1d2733", weight: 1 + (shown - level) * 0.9, opacity: 0.75, fill: false };
  }

  function labelStyle(properties) {
    // Not interactive: a click goes to the unit under the label (Leaflet 1.9 would ask a
    // clicked point for a latitude VectorGrid's points do not have).
    return { label: properties.name, labelSize: properties.level <= 2 ? 14 : 12,
             radius: 0, weight: 0, opacity: 0, fill: false, interactive: false };
  }

  function baseLayers() {
    const layers = { [config.text.noBase]: L.layerGroup() };
    if (config.basemap === "osm") {
      layers["OpenStreetMap"] = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
        maxZoom: 19, attribution: "© OpenStreetMap" });
    } else if (config.basemap === "tianditu") {
      const key = encodeURIComponent(config.tiandituKey);
      const wmts = (layer) => L.tileLayer(
        `https://t{s}.tianditu.gov.cn/${layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0` +
        `&LAYER=${layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}` +
        `&TILECOL={x}&tk=${key}`, { subdomains: "01234567", maxZoom: 18, attribution: "© 天地图" });
      layers[config.text.tiandituVector] = L.layerGroup([wmts("vec"), wmts("cva")]);
      layers[config.text.tiandituImagery] = L.layerGroup([wmts("img"), wmts("cia")]);
    }
    return layers;
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

  function showZoom(map) {
    const shown = levelShown(map.getZoom());
    document.getElementById("level-shown").textContent =
      `${config.levelNames[shown]} · ${config.text.zoom} ${map.getZoom()}`;
    container().dataset.levelShown = String(shown);
  }

  function init(map) {
    container().leafletMap = map;  // for the browser tests (tests/browser/test_map_page.py)
    const bases = baseLayers();
    Object.values(bases)[Object.keys(bases).length > 1 ? 1 : 0].addTo(map);
    let selected = null;
    const units = L.vectorGrid.protobuf(`${config.tilesUrl}?v=${encodeURIComponent(config.tilesVersion)}`, {
      rendererFactory: L.canvas.tile,
      maxNativeZoom: config.maxZoom,
      interactive: true,
      // Only the units' shapes get an id (for the selection's style): a label point carries
      // its unit's code too, and must not be restyled as a polygon.
      getFeatureId: (feature) => ("households" in feature.properties ? feature.properties.code : undefined),
      vectorTileLayerStyles: {
        units: (properties, zoom) => unitStyle(properties, zoom),
        labels: (properties) => labelStyle(properties),
      },
    });
    units.on("click", async (event) => {
      const properties = event.layer.properties;
      if (!properties || !properties.code) return;
      if (selected) units.resetFeatureStyle(selected);
      selected = properties.code;
      units.setFeatureStyle(selected, { color: "#c00000", weight: 3, fill: true,
                                        fillColor: "#c00000", fillOpacity: 0.18 });
      const r = await fetch(`${config.unitsUrl}${encodeURIComponent(properties.code)}/`,
        { credentials: "same-origin" });
      if (r.ok) showInfo(await r.json());
    });
    units.on("load", () => {
      container().dataset.tilesDrawn = String(Object.keys(units._vectorTiles || {}).length);
      container().dataset.drawnAtZoom = String(map.getZoom());
    });
    units.addTo(map);
    const control = L.control.layers(bases, { [config.text.units]: units }, { collapsed: true }).addTo(map);
    if (config.extent) {
      const [w, s, e, n] = config.extent;
      map.fitBounds([[s, w], [n, e]], { animate: false });  // the first view, not a zoom to it
    }
    map.on("zoomend", () => showZoom(map));
    showZoom(map);
    initTransfers(map);
    initPatients(map, control);
  }

  // The patients the person may see (/tiles/patients/: cases.patients.selectors.patient_tile):
  // clusters with their count below the street zoom, a marker each from it, coloured by risk
  // level where the person's role shows it (grey where not), ringed when in a key group.
  // A click on a marker reads the patient through the API (logged) and shows what the
  // person's role on them shows: a grid worker sees no diagnosis.
  const CLUSTER = "#2e75b6";
  function riskColour(level) {
    if (level === undefined || level === null) return "#7f8c99";
    return level >= 3 ? "#c00000" : level === 2 ? "#d9a400" : "#4e9a3a";
  }

  function clusterStyle(properties) {
    // Radius over 10 px: Leaflet then places a click by its pixel, not by a point's latitude
    // (which VectorGrid's points do not have).
    return { radius: Math.min(26, 11 + 3 * Math.log2(properties.patients)), fill: true, fillColor: CLUSTER,
             fillOpacity: 0.85, color: "#fff", weight: 2, count: String(properties.patients) };
  }

  function markerStyle(properties) {
    const grouped = Boolean(properties.key_groups);
    return { radius: 11, fill: true, fillColor: riskColour(properties.risk_level), fillOpacity: 0.9,
             color: grouped ? "#7030a0" : "#fff", weight: grouped ? 4 : 2 };
  }

  function showPatient(detail) {
    const byId = (id) => document.getElementById(id);
    byId("patient-info").hidden = false;
    byId("patient-name").textContent = `${detail.name || ""} ${detail.patient_no || ""}`.trim();
    const facts = byId("patient-facts");
    facts.replaceChildren();
    for (const [name, label] of Object.entries(config.text.patientFields)) {
      if (!(name in detail)) continue;  // not given to this role (R35)
      const value = Array.isArray(detail[name]) ? detail[name].join("、") : detail[name];
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = label;
      dd.textContent = value === null || value === "" ? "—" : String(value);
      dd.dataset.field = name;
      facts.append(dt, dd);
    }
    byId("patient-link").href = `${config.patientPage}${detail.id}/`;
    // On a phone the panel is below the map: bring the summary into view.
    if (window.matchMedia("(max-width: 700px)").matches) byId("patient-info").scrollIntoView({ block: "nearest" });
  }

  function initPatients(map, control) {
    if (!config.patientsUrl) return;
    const patients = L.vectorGrid.protobuf(config.patientsUrl, {
      rendererFactory: L.canvas.tile,
      maxNativeZoom: config.maxZoom,
      interactive: true,
      pane: "markerPane",
      vectorTileLayerStyles: { clusters: clusterStyle, patients: markerStyle },
    });
    patients.on("click", async (event) => {
      const properties = event.layer.properties || {};
      if (properties.patients) {  // a cluster: zoom in where it is
        map.setView(event.latlng, Math.min(map.getZoom() + 2, config.maxZoom));
        return;
      }
      if (!properties.id) return;
      const r = await fetch(`${config.patientUrl}${properties.id}/`, { credentials: "same-origin" });
      if (r.ok) showPatient(await r.json());
    });
    patients.on("load", () => { container().dataset.patientTiles = String(map.getZoom()); });
    patients.addTo(map);
    control.addOverlay(patients, config.text.patients);
    container().patientLayer = patients;  // for the browser tests
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
      container().dataset.transfers = String(data.features.length);
    }
    toggle.addEventListener("change", draw);
    draw();
  }

  window.addEventListener("map:init", (event) => init(event.detail.map));
})();
