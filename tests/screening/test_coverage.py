"""Coverage (R31) stored per unit and served to leaders as aggregates only; cadence (R30)."""

import csv
import io
from datetime import date

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from rest_framework.test import APIClient

from cases.screening import selectors
from cases.screening import services as coverage
from cases.screening.models import Campaign, Visit
from gridmap.models import GridUnit, Household, User
from tests.conftest import GRID_1, GRID_2, MICRO_1, MICRO_2, MICRO_3, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1
from tests.screening.conftest import BJ, visit

pytestmark = pytest.mark.django_db

def shares(c, level):
    return {r.unit.code: (r.households, r.screened, r.share, r.colour) for r in selectors.coverage_at_level(c, level)}


def test_R31_coverage_equals_the_hand_computed_figures(campaign):
    from decimal import Decimal as D

    assert shares(campaign, 2) == {TOWNSHIP_1[0]: (45, 34, D("0.7556"), "orange")}
    assert shares(campaign, 4) == {GRID_1[0]: (42, 34, D("0.8095"), "orange"), GRID_2[0]: (3, 0, D("0"), "yellow")}
    assert shares(campaign, 5) == {MICRO_1[0]: (30, 28, D("0.9333"), "green"),
                                   MICRO_2[0]: (12, 6, D("0.5"), "red"), MICRO_3[0]: (3, 0, D("0"), "yellow")}
    assert Visit.objects.filter(campaign=campaign).count() == 38  # every visit is kept


def test_R31_a_unit_without_households_has_no_coverage(campaign):
    Household.objects.filter(micro_grid__code=MICRO_3[0]).delete()
    coverage.coverage_rebuild([campaign.pk])
    households, screened, share, colour = shares(campaign, 5)[MICRO_3[0]]
    assert (households, share, colour) == (0, None, "none")


def test_R32_a_fix_more_than_200_m_away_is_not_on_site(households):
    c = Campaign.objects.create(code="C2", name="x", kind="special", scope=GridUnit.objects.get(code=VILLAGE_1[0]),
                                starts_on=date(2026, 6, 1), ends_on=date(2026, 6, 30), target=0.9)
    home = Household.objects.get(code=f"{MICRO_1[0]}-00").geom
    near = visit(c, f"{MICRO_1[0]}-00", date(2026, 6, 2), fix=Point(home.x + 0.0016, home.y, srid=4326))  # ~150 m
    far = visit(c, f"{MICRO_1[0]}-01", date(2026, 6, 2), fix=Point(home.x + 0.0027 + 0.003, home.y, srid=4326))
    coverage.visits_derive([c.pk])
    near.refresh_from_db()
    far.refresh_from_db()
    assert near.on_site and 140 < near.distance_m < 160
    assert far.on_site is False and 240 < far.distance_m < 260


def test_R30_townships_and_villages_missing_their_campaign(campaign):
    gaps = {(u.code, kind) for u, kind, _, _ in selectors.cadence_gaps(as_of=date(2026, 6, 15))}
    assert (TOWNSHIP_1[0], "township_half_yearly") not in gaps  # C1 covers it
    assert (TOWNSHIP_2[0], "township_half_yearly") in gaps
    assert (VILLAGE_1[0], "village_quarterly") in gaps and (TOWNSHIP_1[0], "annual_full") in gaps
    later = {(u.code, kind) for u, kind, _, _ in selectors.cadence_gaps(as_of=date(2026, 7, 1))}
    assert (TOWNSHIP_1[0], "township_half_yearly") in later  # a new half-year


def test_export_coverage_has_four_decimals_and_colours(campaign, tmp_path):
    out = tmp_path / "cov.csv"
    call_command("export_coverage", "--campaign=C1", "--level=5", "--lang=en", "-o", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [(r["unit_code"], r["households"], r["visited"], r["coverage"], r["colour"]) for r in rows] == [
        (MICRO_1[0], "30", "28", "0.9333", "green"), (MICRO_2[0], "12", "6", "0.5000", "red"),
        (MICRO_3[0], "3", "0", "0.0000", "yellow")]


@pytest.fixture
def leader(campaign):
    from gridmap.models import StaffAssignment

    user = User.objects.create_user("leader", password="x-12345678")
    StaffAssignment.objects.create(user=user, role="township_office", unit=GridUnit.objects.get(code=TOWNSHIP_1[0]))
    client = APIClient()
    client.force_authenticate(user)
    return client


def numbers(value):
    """Every number and geometry type anywhere in a JSON answer."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "type" and isinstance(v, str):
                yield ("type", v)
            elif k not in ("coordinates", "level", "target", "coverage", "from", "to"):
                yield from numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers(v)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield ("count", value)


def test_the_leaders_coverage_endpoint_sends_no_points_and_no_count_below_5(leader):
    body = leader.get("/api/campaigns/C1/coverage/", {"level": 5}).json()
    found = list(numbers(body))
    assert ("type", "Point") not in found and ("type", "MultiPoint") not in found
    assert all(v >= 5 for kind, v in found if kind == "count")
    micro3 = next(f for f in body["features"] if f["id"] == MICRO_3[0])["properties"]
    assert micro3["households"] == "<5" and micro3["screened"] == "<5" and micro3["coverage"] is None
    micro2 = next(f for f in body["features"] if f["id"] == MICRO_2[0])["properties"]
    assert (micro2["households"], micro2["screened"], micro2["colour"]) == (12, 6, "red")


def test_hexagons_of_unvisited_households_are_aggregates_masked_below_5(leader):
    body = leader.get("/api/campaigns/C1/hexagons/", {"kind": "unvisited", "size": 250}).json()
    assert body["features"] and {f["geometry"]["type"] for f in body["features"]} == {"Polygon"}
    counts = [f["properties"]["count"] for f in body["features"]]
    assert all(c == "<5" or c >= 5 for c in counts)
    assert not any(isinstance(c, int) and c < 5 for c in counts)


def test_drill_down_and_bad_parameters(leader):
    body = leader.get("/api/campaigns/C1/coverage/", {"level": 5, "parent": GRID_2[0]}).json()
    assert [f["id"] for f in body["features"]] == [MICRO_3[0]]
    assert leader.get("/api/campaigns/C1/coverage/", {"level": 9}).status_code == 400
    assert leader.get("/api/campaigns/C1/coverage/", {"level": 1}).status_code == 400  # above the scope
    assert leader.get("/api/campaigns/C1/hexagons/", {"size": 5}).status_code == 400
    assert leader.get("/api/campaigns/NOPE/coverage/", {"level": 5}).status_code == 404


def test_R31_R32_R33_one_visit_from_the_api_updates_coverage_at_once(campaign, leader):
    from cases.screening.models import CoverageCount, SuspectedCase

    code = f"{MICRO_1[0]}-29"  # the household where nobody was home
    home = Household.objects.get(code=code).geom
    response = leader.post("/api/campaigns/C1/visits/", {
        "household_code": code, "visited_at": "2026-06-25T15:00:00+08:00", "result": "发现疑似患者",
        "lon": home.x + 0.003, "lat": home.y}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["screened"] is True and body["on_site"] is False and body["suspected_case"]
    assert CoverageCount.objects.get(campaign=campaign, unit__code=MICRO_1[0]).screened == 29
    assert CoverageCount.objects.get(campaign=campaign, unit__code=TOWNSHIP_1[0]).screened == 35
    coverage.coverage_rebuild([campaign.pk])  # the incremental figures equal a rebuild
    assert CoverageCount.objects.get(campaign=campaign, unit__code=TOWNSHIP_1[0]).screened == 35
    case = SuspectedCase.objects.get()
    assert case.diagnose_by.astimezone(BJ).date() == date(2026, 7, 9)  # R33: 10 working days


def test_bad_visits_are_400(campaign, leader):
    response = leader.post("/api/campaigns/C1/visits/", {
        "household_code": "NOPE", "visited_at": "soon", "result": "不知道", "lon": 106.0}, format="json")
    assert response.status_code == 400
    assert {"household_code", "visited_at", "result"} <= set(response.json())
    other = leader.post("/api/campaigns/C1/visits/", {"household_code": "6107270020010101-01",
                                                      "visited_at": "2026-06-25T15:00:00+08:00",
                                                      "result": "无异常"}, format="json")
    assert other.status_code == 400 and "household_code" in other.json()  # not the leader's township


def test_R31_a_visit_changed_to_nobody_home_takes_the_household_out_of_coverage(campaign, leader):
    from cases.screening.models import CoverageCount

    code = f"{MICRO_1[0]}-05"
    body = {"household_code": code, "visited_at": "2026-06-10T10:00:00+08:00", "result": "无人在家"}
    assert leader.post("/api/campaigns/C1/visits/", body, format="json").status_code == 201
    assert CoverageCount.objects.get(campaign=campaign, unit__code=MICRO_1[0]).screened == 27
    coverage.coverage_rebuild([campaign.pk])
    assert CoverageCount.objects.get(campaign=campaign, unit__code=MICRO_1[0]).screened == 27


def test_R31_new_households_join_the_denominators_of_running_campaigns(campaign, tmp_path):
    from cases.screening.models import CoverageCount
    from tests.helpers import run_import

    Campaign.objects.filter(pk=campaign.pk).update(ends_on=date(2099, 12, 31))
    path = tmp_path / "more.csv"
    path.write_text("code,address,residents,lon,lat\nNEW-1,新户,2,106.04,33.06\n")
    assert run_import("function", "import_households", path)[0]
    assert CoverageCount.objects.get(campaign=campaign, unit__code=MICRO_1[0]).households == 31


def test_R30_units_missing_their_campaign_are_outlined_for_the_leader(campaign, leader):
    body = leader.get("/api/campaigns/gaps/").json()
    by_code = {f["id"]: f["properties"]["missing"] for f in body["features"]}
    assert VILLAGE_1[0] in by_code and TOWNSHIP_2[0] not in by_code  # only the leader's township
    assert {f["geometry"]["type"] for f in body["features"]} <= {"Polygon", "MultiPolygon"}


def test_R31_a_visit_to_a_household_in_no_unit_is_kept_and_does_not_count(campaign):
    outside = Household.objects.create(code="FAR-1", address="县外", geom=Point(108.5, 34.2, srid=4326))
    far = visit(campaign, outside.code, date(2026, 6, 10))
    coverage.visits_derive([campaign.pk])
    far.refresh_from_db()
    assert far.screened is False


def test_hexagon_cells_are_the_ones_postgis_draws_and_count_every_unvisited_household(campaign):
    """The arithmetic placement agrees with ST_HexagonGrid point by point."""
    import random

    from django.db import connection

    from cases.screening.selectors import CONDITIONS, hexagon_query

    rng = random.Random(3)  # 3,000 more households scattered over the township
    Household.objects.bulk_create(
        Household(code=f"R{k}", address="随机", township_id=campaign.scope_id,
                  geom=Point(rng.uniform(106.0, 106.2), rng.uniform(33.0, 33.2), srid=4326))
        for k in range(3000))

    sql, params = hexagon_query(campaign, kind="unvisited", size=250)
    reference = """
        SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_Hexagon(250, i, j), 3857), 4326), 6), count(*)
        FROM gridmap_household h CROSS JOIN LATERAL (
            SELECT i, j FROM ST_HexagonGrid(250, ST_Expand(ST_Transform(h.geom, 3857), 250))
            WHERE ST_Intersects(geom, ST_Transform(h.geom, 3857)) ORDER BY i, j LIMIT 1) hx
        WHERE h.township_id = %(scope)s AND """ + CONDITIONS["unvisited"] + " GROUP BY i, j"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        mine = sorted(cursor.fetchall())
        cursor.execute(reference, params)
        postgis = sorted(cursor.fetchall())
    assert mine == postgis
    assert sum(n for _, n in mine) == 3000 + 45 - 34  # households in scope minus screened ones


def test_a_masked_count_cannot_be_recomputed_from_what_is_shown_R35(leader, campaign):
    """Probe finding 8: households=60, screened "<5", coverage 0.0 told that screened was 0;
    and a lone masked grid could be got back as the village's total less its sibling."""
    Visit.objects.filter(campaign=campaign, household__micro_grid__code=MICRO_1[0]).delete()
    coverage.visits_derive([campaign.pk])
    coverage.coverage_rebuild([campaign.pk])
    micro = {f["id"]: f["properties"]
             for f in leader.get("/api/campaigns/C1/coverage/", {"level": 5}).json()["features"]}
    assert (micro[MICRO_1[0]]["households"], micro[MICRO_1[0]]["screened"]) == (30, "<5")
    assert micro[MICRO_1[0]]["coverage"] is None  # 0.0 would give the hidden 0 back
    grids = {f["id"]: f["properties"]
             for f in leader.get("/api/campaigns/C1/coverage/", {"level": 4}).json()["features"]}
    village = leader.get("/api/campaigns/C1/coverage/", {"level": 3}).json()["features"][0]["properties"]
    assert grids[GRID_2[0]]["screened"] == "<5"  # 3 households: masked
    assert grids[GRID_1[0]]["screened"] == "—" and grids[GRID_1[0]]["coverage"] is None
    assert isinstance(village["screened"], int)  # the total is shown; its parts cannot be subtracted


def test_a_visit_dated_before_1900_is_400(campaign, leader):
    response = leader.post("/api/campaigns/C1/visits/", {
        "household_code": "6107270010010101-00", "visited_at": "1899-06-01T10:00:00+08:00",
        "result": "无异常"}, format="json")
    assert response.status_code == 400 and "visited_at" in response.json()
