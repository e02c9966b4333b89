"""The map's patient layer in a real browser (issue 11, Deliver 3): its tiles drawn at a low
zoom and at a street zoom, a marker whose summary shows what the person's role gives (a grid
worker sees no diagnosis), read through the logged API; no layer for the township office."""

import pytest

from cases.patients.models import Patient
from gridmap.models import AccessLog
from tests.browser.test_map_page import show
from tests.browser.test_patient_pages import login, register  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("register")]

PATIENT_TILES = "/tiles/patients/"


def watch_tiles(page) -> list:
    answers = []
    page.on("response", lambda r: answers.append(r) if PATIENT_TILES in r.url else None)
    return answers


def click_at(page, lat: float, lon: float) -> None:
    point = page.evaluate("""([lat, lon]) => {
        const map = document.getElementById('gridmap').leafletMap;
        const p = map.latLngToContainerPoint([lat, lon]);
        const box = document.getElementById('gridmap').getBoundingClientRect();
        return [box.left + p.x, box.top + p.y]; }""", [lat, lon])
    page.mouse.click(*point)


def test_the_layer_draws_and_a_grid_workers_marker_shows_no_diagnosis(page, live_server, screenshot):
    answers = watch_tiles(page)
    login(page, live_server, "grid_a")
    p01 = Patient.objects.get(patient_no="P01")
    show(page, p01.geom.y, p01.geom.x, 10)
    page.wait_for_selector("#gridmap[data-patient-tiles='10']")
    assert answers and all(a.status == 200 for a in answers)
    assert "患者" in page.locator(".patient-legend").inner_text()
    show(page, p01.geom.y, p01.geom.x, 16)
    page.wait_for_selector("#gridmap[data-patient-tiles='16']")
    page.wait_for_timeout(300)  # the canvas drawn after the tile's load
    before = AccessLog.objects.filter(action="view", patient_ids=[p01.pk]).count()
    click_at(page, p01.geom.y, p01.geom.x)
    page.wait_for_selector("#patient-info:not([hidden])")
    info = page.locator("#patient-info").inner_text()
    assert "P01" in info and "地址" in info
    assert "精神分裂症" not in info and "诊断" not in info  # R35: not a grid worker's
    assert page.locator("#patient-link").get_attribute("href") == f"/patients/{p01.pk}/"
    assert AccessLog.objects.filter(action="view", patient_ids=[p01.pk]).count() == before + 1
    screenshot("map-patient-grid-worker")


def test_health_staff_see_the_diagnosis_in_the_summary(page, live_server):
    login(page, live_server, "health")
    p01 = Patient.objects.get(patient_no="P01")
    show(page, p01.geom.y, p01.geom.x, 16)
    page.wait_for_selector("#gridmap[data-patient-tiles='16']")
    page.wait_for_timeout(300)
    click_at(page, p01.geom.y, p01.geom.x)
    page.wait_for_selector("#patient-info:not([hidden])")
    assert "精神分裂症" in page.locator("#patient-info").inner_text()


def test_the_township_office_has_no_patient_layer(page, live_server):
    answers = watch_tiles(page)
    login(page, live_server, "office")
    page.wait_for_selector("#gridmap[data-tiles-drawn]")
    show(page, 33.05, 106.05, 12)
    assert page.locator(".patient-legend").count() == 0
    assert not answers
