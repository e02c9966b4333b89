"""The grid map page in a real browser."""

import pytest

from config.importers import grid_units_import
from tests.conftest import GRID_1, MICRO_1, SMALL_GRID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_map_draws_the_units_of_the_chosen_level(logged_in, write_units, live_server,
                                                     screenshot):
    assert grid_units_import(path=write_units(SMALL_GRID)).ok
    page = logged_in
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#gridmap[data-loaded-level='3']")
    assert page.locator("path.leaflet-interactive").count() == 2  # two villages
    page.select_option("#level", "5")
    page.wait_for_selector("#gridmap[data-loaded-level='5']")
    assert page.locator("path.leaflet-interactive").count() == 4
    assert page.locator("#unit-count").inner_text() == "4"
    screenshot("map-level-5")


def test_clicking_a_unit_shows_its_details(logged_in, write_units, live_server, screenshot):
    assert grid_units_import(path=write_units(SMALL_GRID)).ok
    page = logged_in
    page.goto(f"{live_server.url}/")
    page.select_option("#level", "5")
    page.wait_for_selector("#gridmap[data-loaded-level='5']")
    # Paths are drawn in code order: the first is micro-grid 1.
    page.locator("path.leaflet-interactive").first.click()
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
    page.click("button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert "Grid map" in page.locator("header").inner_text()


def test_the_map_needs_a_login(page, live_server, transactional_db):
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
