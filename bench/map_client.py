"""The map's two candidate tile renderers, measured in headless Chromium on the province's
unit tiles (the map issue, "Client"): Leaflet.VectorGrid (canvas) and
@maplibre/maplibre-gl-leaflet (WebGL inside Leaflet). Both draw the same `units` layer, with
the same fill and outline, from the same server; the labels are left out of both.

For each view (zoom and centre over the province, 1440×900): the first draw (from the
layer's creation until every tile in view is drawn: VectorGrid's `load`, MapLibre's
`idle`), a pan of 1,000 pixels to an area not seen before (until drawn again), and the
page's JavaScript heap afterwards (Chromium's Performance.getMetrics). Each is the median
of ROUNDS fresh pages. Chromium runs with the flags of the browser tests; WebGL there is
SwiftShader (software): a phone's GPU draws MapLibre faster, and the figures say so.
"""

import json
import statistics

ROUNDS = 3
VIEWPORT = {"width": 1440, "height": 900}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--enable-unsafe-swiftshader"]
CHROMIUM = "/usr/bin/chromium"
HARNESS_PATH = "/__map_bench__"
RENDERERS = {
    "vectorgrid": ["/static/vendor/vectorgrid/Leaflet.VectorGrid.bundled.min.js"],
    "maplibre": ["/static/vendor/maplibre-gl/maplibre-gl.js",
                 "/static/vendor/maplibre-gl-leaflet/leaflet-maplibre-gl.js"],
}

HARNESS = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/vendor/maplibre-gl/maplibre-gl.css">
<style>html,body,#map{margin:0;height:100%%}</style>
<script src="/static/leaflet/leaflet.js"></script>%(scripts)s
</head><body><div id="map"></div><script>
window.drawn = function (kind, layer) {
  return new Promise((resolve) => {
    if (kind === "vectorgrid") { layer.once("load", () => resolve()); return; }
    const gl = layer.getMaplibreMap();
    gl.once("idle", () => resolve());
    gl.triggerRepaint();
  });
};
window.runBench = async function (kind, tiles, center, zoom) {
  const map = L.map("map", {center: center, zoom: zoom, zoomAnimation: false, fadeAnimation: false});
  const started = performance.now();
  let layer;
  if (kind === "vectorgrid") {
    layer = L.vectorGrid.protobuf(tiles, {
      rendererFactory: L.canvas.tile, maxNativeZoom: 20, interactive: true,
      vectorTileLayerStyles: {
        units: () => ({color: "#1f4e79", weight: 1, fill: true, fillColor: "#1f4e79", fillOpacity: 0.1}),
        labels: () => ({radius: 0, weight: 0, opacity: 0, fill: false}),
      },
    });
    const first = window.drawn(kind, layer);
    layer.addTo(map);
    await first;
  } else {
    const source = {type: "vector", tiles: [location.origin + tiles], maxzoom: 20};
    const on = {source: "u", "source-layer": "units"};
    layer = L.maplibreGL({style: {version: 8, sources: {u: source}, layers: [
      {id: "fill", type: "fill", ...on, paint: {"fill-color": "#1f4e79", "fill-opacity": 0.1}},
      {id: "line", type: "line", ...on, paint: {"line-color": "#1f4e79", "line-width": 1}}]}});
    layer.addTo(map);
    await new Promise((resolve) => layer.getMaplibreMap().once("idle", resolve));
  }
  const first = performance.now() - started;
  const panStarted = performance.now();
  const again = window.drawn(kind, layer);
  map.panBy([1000, 0], {animate: false});
  await again;
  return {first_ms: first, pan_ms: performance.now() - panStarted};
};
</script></body></html>"""


def _page(browser, host: str, cookies: list, kind: str):
    context = browser.new_context(viewport=VIEWPORT)
    context.add_cookies(cookies)
    scripts = "".join(f'<script src="{src}"></script>' for src in RENDERERS[kind])
    context.route(f"{host}{HARNESS_PATH}", lambda route: route.fulfill(
        status=200, content_type="text/html", body=HARNESS % {"scripts": scripts}))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{host}{HARNESS_PATH}")
    return context, page, errors


def measure(host: str, cookies: list, views: dict[str, tuple[float, float, int]]) -> dict:
    """{renderer: {view: {first_ms, pan_ms, heap_mb}}} (medians), or the renderer's error."""
    from playwright.sync_api import sync_playwright

    results: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for kind in RENDERERS:
                results[kind] = {}
                for view, (lat, lon, zoom) in views.items():
                    runs = []
                    for _ in range(ROUNDS):
                        context, page, errors = _page(browser, host, cookies, kind)
                        try:
                            figures = page.evaluate(
                                "([k, t, c, z]) => window.runBench(k, t, c, z)",
                                [kind, "/tiles/units/{z}/{x}/{y}.pbf", [lat, lon], zoom])
                            session = context.new_cdp_session(page)
                            session.send("Performance.enable")
                            metrics = {m["name"]: m["value"] for m in
                                       session.send("Performance.getMetrics")["metrics"]}
                            figures["heap_mb"] = metrics["JSHeapUsedSize"] / 2**20
                            runs.append(figures)
                        except Exception as error:  # a renderer that cannot draw here: say so
                            results[kind][view] = {"error": (errors or [str(error)])[0][:200]}
                            break
                        finally:
                            context.close()
                    if runs:
                        results[kind][view] = {key: statistics.median(r[key] for r in runs)
                                               for key in ("first_ms", "pan_ms", "heap_mb")}
        finally:
            browser.close()
    return results


def client_rows(results: dict) -> list[tuple]:
    rows = []
    for kind, views in results.items():
        for view, m in views.items():
            if "error" in m:
                rows.append((kind, view, "—", "—", "—", m["error"]))
            else:
                rows.append((kind, view, f"{m['first_ms']:.0f}", f"{m['pan_ms']:.0f}",
                             f"{m['heap_mb']:.1f}", ""))
    return rows


if __name__ == "__main__":  # python -m bench.map_client HOST COOKIES_JSON (a quick look)
    import sys

    print(json.dumps(measure(sys.argv[1], json.loads(sys.argv[2]),
                             {"z9": (33.3, 108.0, 9)}), indent=1))
