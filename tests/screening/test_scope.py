"""Who sees which screening data (R35), decided by gridmap.access, for the fixed personas
of tests/conftest.py: a grid worker in grid A (GRID_1), one in grid B (GRID_2), the
village's doctor, the township's office, an outsider in the other township — and a person
serving two units, who sees both (no unit of theirs is dropped). Campaign C1 covers
township 1; grid A holds micro-grids 1 and 2 (42 households), grid B micro-grid 3 (3)."""

from datetime import date

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.test import Client
from rest_framework.test import APIClient

from cases.screening.models import Campaign, SuspectedCase
from gridmap.models import AccessLog, GridUnit, Household, StaffAssignment, User
from tests.conftest import GRID_1, GRID_2, MICRO_1, MICRO_2, MICRO_3, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1
from tests.screening.conftest import visit

pytestmark = pytest.mark.django_db
GRID_EDGE = 106.1  # grid A lies west of it, grid B east (within township 1)


@pytest.fixture
def people(register, campaign):
    """The personas, with a person serving both grids and one serving both townships, and a
    suspected case in each grid."""
    both_grids = User.objects.create_user("both_grids", password="x-12345678")
    for code in (GRID_1[0], GRID_2[0]):
        StaffAssignment.objects.create(user=both_grids, role="grid_worker", unit=GridUnit.objects.get(code=code))
    both_townships = User.objects.create_user("both_townships", password="x-12345678")
    for code in (TOWNSHIP_1[0], TOWNSHIP_2[0]):
        StaffAssignment.objects.create(user=both_townships, role="police", unit=GridUnit.objects.get(code=code))
    from cases.screening import services

    for code in (f"{MICRO_2[0]}-11", f"{MICRO_3[0]}-00"):
        visit(campaign, code, date(2026, 6, 15), result="发现疑似患者")
    services.visits_derive([campaign.pk])
    services.suspected_cases_open([campaign.pk])
    return {**register, "both_grids": both_grids, "both_townships": both_townships}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def coverage_ids(user, level: int) -> set[str]:
    body = api(user).get("/api/campaigns/C1/coverage/", {"level": level}).json()
    return {f["id"] for f in body["features"]}


def hexagon_sides(user, kind: str = "unvisited") -> set[str]:
    """Which grids the hexagons lie in: "A" west of the edge, "B" east (by their centres)."""
    body = api(user).get("/api/campaigns/C1/hexagons/", {"kind": kind, "size": 250}).json()
    centres = [GEOSGeometry(str(f["geometry"]).replace("'", '"')).centroid.x for f in body["features"]]
    return {"A" if x < GRID_EDGE - 0.004 else "B" for x in centres}


@pytest.mark.parametrize("username, visible", [
    ("grid_a", {"C1"}), ("grid_b", {"C1"}), ("village_doc", {"C1"}), ("office", {"C1"}),
    ("outsider", set()), ("both_townships", {"C1"}),
])
def test_campaigns_over_or_under_a_persons_units_are_listed(people, username, visible):
    assert {c["code"] for c in api(people[username]).get("/api/campaigns/").json()} == visible


def test_the_outsider_gets_nothing_of_the_campaign(people):
    outsider = api(people["outsider"])
    for url in ("/api/campaigns/C1/coverage/?level=4", "/api/campaigns/C1/hexagons/"):
        assert outsider.get(url).status_code == 404
    assert outsider.post("/api/campaigns/C1/visits/", {"household_code": f"{MICRO_1[0]}-00",
                                                      "visited_at": "2026-06-11T10:00:00+08:00",
                                                      "result": "无异常"}).status_code == 404
    assert page(people["outsider"]).get("/screening/C1/mop-up.csv", {"unit": GRID_1[0]}).status_code == 404


@pytest.mark.parametrize("username, level, expected", [
    ("grid_a", 4, {GRID_1[0]}),
    ("grid_b", 4, {GRID_2[0]}),
    ("grid_b", 5, {MICRO_3[0]}),
    ("village_doc", 4, {GRID_1[0], GRID_2[0]}),
    ("village_doc", 5, {MICRO_1[0], MICRO_2[0], MICRO_3[0]}),
    ("office", 4, {GRID_1[0], GRID_2[0]}),
    ("both_grids", 4, {GRID_1[0], GRID_2[0]}),
    # The units above a person's own show their aggregates (a grid worker sees the township's).
    ("grid_a", 2, {TOWNSHIP_1[0]}),
    ("grid_b", 3, {VILLAGE_1[0]}),
])
def test_coverage_shows_a_persons_units_and_those_above_them(people, username, level, expected):
    assert coverage_ids(people[username], level) == expected


@pytest.mark.parametrize("username, sides", [
    ("grid_a", {"A"}), ("grid_b", {"B"}), ("village_doc", {"A", "B"}), ("office", {"A", "B"}),
    ("both_grids", {"A", "B"}),  # both of their grids, not the first one only
])
def test_hexagons_count_only_the_households_of_a_persons_units(people, username, sides):
    assert hexagon_sides(people[username]) == sides
    assert hexagon_sides(people[username], "suspected") == sides


def test_mop_up_lists_hold_the_persons_units_only(people):
    grid_a = page(people["grid_a"])
    listed = grid_a.get("/screening/C1/mop-up.csv", {"unit": GRID_1[0]})
    assert listed.status_code == 200
    codes = {line.split(",")[1] for line in listed.content.decode("utf-8-sig").splitlines()[1:]}
    expected = set(Household.objects.filter(grid__code=GRID_1[0]).exclude(
        visits__campaign__code="C1", visits__screened=True).values_list("code", flat=True))
    assert codes == expected and codes
    assert grid_a.get("/screening/C1/mop-up.csv", {"unit": GRID_2[0]}).status_code == 404
    assert grid_a.get("/screening/C1/mop-up.csv", {"unit": TOWNSHIP_1[0]}).status_code == 404
    assert AccessLog.objects.filter(user=people["grid_a"], action="export",
                                    query__mop_up="C1", query__unit=GRID_1[0]).exists()


@pytest.mark.parametrize("username, expected", [
    ("grid_a", {f"{MICRO_2[0]}-11"}), ("grid_b", {f"{MICRO_3[0]}-00"}),
    ("village_doc", {f"{MICRO_2[0]}-11", f"{MICRO_3[0]}-00"}),
    ("office", {f"{MICRO_2[0]}-11", f"{MICRO_3[0]}-00"}),
    ("both_grids", {f"{MICRO_2[0]}-11", f"{MICRO_3[0]}-00"}), ("outsider", set()),
])
def test_suspected_cases_are_listed_for_the_persons_units_only(people, username, expected):
    response = page(people[username]).get("/screening/suspected/")
    assert response.status_code == 200
    assert {c.household.code for c in response.context["cases"]} == expected


def test_a_suspected_case_outside_a_persons_units_cannot_be_closed_by_them(people):
    theirs = SuspectedCase.objects.get(household__code=f"{MICRO_3[0]}-00")  # grid B's
    response = page(people["grid_a"]).post("/screening/suspected/", {"case": theirs.pk, "action": "exclude"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == SuspectedCase.Status.REFERRED


@pytest.mark.parametrize("username, household, status", [
    ("grid_a", f"{MICRO_1[0]}-05", 201),  # grid A's own household
    ("grid_a", f"{MICRO_3[0]}-01", 400),  # grid B's: not in their units
    ("grid_b", f"{MICRO_3[0]}-01", 201),
    ("both_grids", f"{MICRO_3[0]}-02", 201),
])
def test_visits_are_recorded_only_for_households_of_a_persons_units(people, username, household, status):
    response = api(people[username]).post("/api/campaigns/C1/visits/", {
        "household_code": household, "visited_at": "2026-06-11T10:00:00+08:00", "result": "无异常"})
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json() == {"household_code": ["not in your units"]}


def test_cadence_gaps_cover_every_unit_a_person_serves_R30(people):
    Campaign.objects.all().delete()  # no campaign anywhere: every township and village owes one
    body = api(people["both_townships"]).get("/api/campaigns/gaps/").json()
    assert {f["id"] for f in body["features"]} == {TOWNSHIP_1[0], TOWNSHIP_2[0], VILLAGE_1[0], "610727002001"}
    body = api(people["outsider"]).get("/api/campaigns/gaps/").json()  # serves township 2 only
    assert {f["id"] for f in body["features"]} == {TOWNSHIP_2[0], "610727002001"}
    assert api(people["grid_a"]).get("/api/campaigns/gaps/").json()["features"] == []  # owes none
