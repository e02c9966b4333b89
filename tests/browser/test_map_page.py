"""The grid map page in a real browser: the unit vector tiles drawn on canvas, the level
following the zoom, a click on a unit for its details."""

import pytest

from config.importers import grid_units_import
from tests.conftest import GRID_1, MICRO_1, SMALL_GRID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# How many pixels of the map's tile canvases are drawn on (not transparent).
DRAWN_PIXELS = """() => [...document.querySelectorAll('#gridmap .leaflet-tile-container canvas')]
  .reduce((sum, canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
    return sum + drawn;
  }, 0)"""


def show(page, lat: float, lon: float, zoom: int) -> None:
    """Centre the map and wait until every tile in view is drawn at that zoom."""
    page.evaluate("([lat, lon, zoom]) => document.getElementById('gridmap').leafletMap.setView([lat, lon], zoom, {animate: false})",
                  [lat, lon, zoom])
    page.wait_for_selector(f"#gridmap[data-drawn-at-zoom='{zoom}']")


def test_the_map_draws_the_unit_tiles_and_the_level_follows_the_zoom(logged_in, write_units, live_server,
                                                                     screenshot):
    assert grid_units_import(path=write_units(SMALL_GRID)).ok
    page = logged_in
    tiles = []
    page.on("response", lambda r: tiles.append(r) if "/tiles/units/" in r.url else None)
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#gridmap[data-tiles-drawn]")
    assert page.evaluate(DRAWN_PIXELS) > 1000  # the county's units are drawn
    assert tiles and all(r.status == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
                         for r in tiles)
    assert all("?v=" in r.url for r in tiles)  # the version in the URL: the browser may keep them
    for zoom, level, name in ((8, "1", "区县"), (9, "2", "乡镇"), (12, "5", "微网格")):
        show(page, 33.1, 106.2, zoom)
        assert page.locator("#gridmap").get_attribute("data-level-shown") == level
        assert name in page.locator("#level-shown").inner_text()
        assert page.evaluate(DRAWN_PIXELS) > 1000
    screenshot("map-micro-grids")


def test_clicking_a_unit_shows_its_details(logged_in, write_units, live_server, screenshot):
    assert grid_units_import(path=write_units(SMALL_GRID)).ok
    page = logged_in
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#gridmap[data-tiles-drawn]")
    show(page, 33.05, 106.05, 12)  # the middle of micro-grid 1
    box = page.locator("#gridmap").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#unit-info:not([hidden])")
    assert page.locator("#unit-code").inner_text() == MICRO_1[0]
    assert GRID_1[0] in page.locator("#unit-parents").inner_text()
    assert "略阳县" in page.locator("#unit-parents").inner_text()
    screenshot("map-unit-detail")


def test_the_page_is_chinese_first_with_english_available(logged_in, live_server):
    page = logged_in
    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "网格地图" in page.locator("header").inner_text()
    assert "当前显示" in page.locator(".panel").inner_text()
    page.click("button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert "Grid map" in page.locator("header").inner_text()
    assert "Shown:" in page.locator(".panel").inner_text()


def test_the_map_needs_a_login(page, live_server, transactional_db):
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url


def test_on_a_phone_the_map_takes_the_width_and_its_panel_comes_below(logged_in, write_units, live_server,
                                                                     screenshot):
    assert grid_units_import(path=write_units(SMALL_GRID)).ok
    page = logged_in
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#gridmap[data-tiles-drawn]")
    map_box, panel_box = page.locator("#gridmap").bounding_box(), page.locator(".panel").bounding_box()
    assert map_box["width"] >= 380 and map_box["height"] >= 400
    assert panel_box["y"] >= map_box["y"] + map_box["height"] - 1  # below the map, not beside it
    assert page.evaluate(DRAWN_PIXELS) > 1000
    screenshot("map-phone")
