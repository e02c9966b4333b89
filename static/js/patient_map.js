// The small map of the patient page: the residence point and its micro-grid.
// No base layer, so it works offline; data come from json_script.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("patient-map-data").textContent);
  window.addEventListener("map:init", function (event) {
    const map = event.detail.map;
    const bounds = [];
    if (data.unit) {
      const unit = L.geoJSON(data.unit, { style: { color: "#1f4e79", weight: 2, fillOpacity: 0.08 } })
        .bindTooltip(data.unitName).addTo(map);
      bounds.push(unit.getBounds());
    }
    if (data.point) {
      const marker = L.circleMarker([data.point[1], data.point[0]],
        { radius: 7, color: "#c00000", fillColor: "#c00000", fillOpacity: 0.8 }).addTo(map);
      bounds.push(L.latLngBounds([marker.getLatLng(), marker.getLatLng()]));
    }
    if (bounds.length) {
      const all = bounds.reduce((a, b) => a.extend(b));
      map.fitBounds(all.pad(0.2), { maxZoom: 16 });
    }
  });
})();
