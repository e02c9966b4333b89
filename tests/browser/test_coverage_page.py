"""The leaders' coverage map in a real browser: legend, colours, drill-down, hexagons."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from cases.screening import services as coverage
from cases.screening.models import Campaign, Visit
from config.importers import grid_units_import, households_import
from gridmap.models import GridUnit, Household, StaffAssignment
from tests.conftest import SMALL_GRID, TOWNSHIP_1

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def campaign(write_units, tmp_path, django_user_model):
    assert grid_units_import(path=write_units(SMALL_GRID)).ok
    rows = [f"H{i:03d},地址{i},3,{106.002 + 0.0019 * (i % 100):.4f},{33.01 + 0.0018 * (i // 100):.4f}"
            for i in range(300)]
    path = tmp_path / "h.csv"
    path.write_text("code,address,residents,lon,lat\n" + "\n".join(rows) + "\n")
    assert households_import(path=path).ok
    c = Campaign.objects.create(code="C1", name="西淮坝镇专项排查", kind="township_half_yearly",
                                scope=GridUnit.objects.get(code=TOWNSHIP_1[0]),
                                starts_on=date(2026, 6, 1), ends_on=date(2026, 6, 30), target=0.9)
    when = datetime(2026, 6, 10, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    Visit.objects.bulk_create(Visit(campaign=c, household=h, visited_at=when, result="无异常")
                              for h in Household.objects.order_by("code")[:200])
    coverage.visits_derive([c.pk])
    coverage.coverage_rebuild([c.pk])
    leader = django_user_model.objects.create_user("leader", password="pw-12345678")
    StaffAssignment.objects.create(user=leader, role="township_office", unit=c.scope)
    return c


def test_the_leader_sees_coverage_with_its_legend_and_drills_down(page, live_server, campaign, screenshot):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "leader")
    page.fill("input[name=password]", "pw-12345678")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/screening/")
    page.wait_for_selector("#covmap[data-loaded^='C1:3:']")
    legend = page.locator("#legend").inner_text()
    assert "≥ 90%" in legend and "< 20%" in legend
    assert page.locator("#covmap path.leaflet-interactive").count() == 1  # one village in scope
    page.locator("#covmap path.leaflet-interactive").first.click()
    page.wait_for_selector("#covmap[data-loaded^='C1:4:2']")  # its two grids
    page.select_option("#hexagons", "unvisited")
    page.wait_for_selector("#covmap[data-hexagons]")
    assert int(page.locator("#covmap").get_attribute("data-hexagons")) > 0
    page.check("#show-gaps")  # R30: the units missing this period's campaign, outlined
    page.wait_for_selector("#covmap[data-gaps]")
    assert int(page.locator("#covmap").get_attribute("data-gaps")) > 0
    screenshot("coverage-map")


def test_a_field_worker_records_a_visit_and_closes_the_suspected_case(page, live_server, campaign):
    from cases.screening.models import SuspectedCase

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "leader")
    page.fill("input[name=password]", "pw-12345678")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/screening/visit/")
    page.fill("input[name=household_code]", "H250")
    page.fill("input[name=visited_at]", "2026-06-20T10:30")
    page.select_option("select[name=result]", "发现疑似患者")
    page.fill("#lon", "106.1")
    page.fill("#lat", "33.05")
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector(".messages")
    case = SuspectedCase.objects.get()
    assert case.visit.on_site is False  # the fix is far from H250
    page.goto(f"{live_server.url}/screening/suspected/")
    assert "地址250" in page.locator("#suspected").inner_text()
    page.click("button[value=exclude]")
    page.wait_for_selector(".messages")
    case.refresh_from_db()
    assert case.status == "excluded"
