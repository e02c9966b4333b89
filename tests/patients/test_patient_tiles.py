"""The map's patient layer (/tiles/patients/{z}/{x}/{y}.pbf, issue 11 Deliver 3): only the
person's own patients (R22), counted in world-anchored clusters below the street zoom and
one marker each from it, a marker's risk and overdue days only where the person's roles on
that patient show them (R35), every marker tile logged, and no layer at all for the
township leaders who look at aggregates only (DESIGN)."""

import math

import mapbox_vector_tile
import pytest
from django.test import Client

from cases.patients import selectors
from cases.patients.models import Patient
from gridmap.models import AccessLog, GridUnit, StaffAssignment, User
from tests.conftest import GRID_1, VILLAGE_2

pytestmark = pytest.mark.django_db

MARKER_ZOOM = selectors.MARKER_ZOOM


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    n = 2 ** zoom
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def features(client, zoom: int, x: int, y: int, layer: str) -> list[dict]:
    answer = client.get(f"/tiles/patients/{zoom}/{x}/{y}.pbf")
    assert answer.status_code == 200, answer.status_code
    assert answer["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert "no-store" in answer["Cache-Control"] and "private" in answer["Cache-Control"]
    return mapbox_vector_tile.decode(answer.content).get(layer, {}).get("features", [])


def tiles_of(patients, zoom: int) -> set[tuple[int, int]]:
    return {tile_of(p.geom.x, p.geom.y, zoom) for p in patients}


def residents(user) -> list[Patient]:
    return list(selectors.patients_visible_to(user).filter(geom__isnull=False))


@pytest.fixture
def mixed(register):
    """Grid worker of grid A, village doctor of village 2 (the other township)."""
    user = User.objects.create_user("mixed", password="a-long-password-1")
    StaffAssignment.objects.create(user=user, role="grid_worker", unit=GridUnit.objects.get(code=GRID_1[0]))
    StaffAssignment.objects.create(user=user, role="village_doctor", unit=GridUnit.objects.get(code=VILLAGE_2[0]))
    return user


@pytest.mark.parametrize("username", ["grid_a", "grid_b", "health", "police", "outsider"])
@pytest.mark.parametrize("zoom", [6, 10, 13])
def test_the_clusters_count_exactly_the_persons_patients(register, username, zoom):
    user = register[username]
    mine = residents(user)
    client = signed_in(user)
    counted = sum(f["properties"]["patients"] for x, y in tiles_of(mine, zoom)
                  for f in features(client, zoom, x, y, "clusters"))
    assert counted == len(mine)
    for x, y in tiles_of(mine, zoom):  # a cluster names nobody
        for f in features(client, zoom, x, y, "clusters"):
            assert set(f["properties"]) == {"patients"}


def test_a_cluster_tile_is_an_aggregate_and_not_logged_as_a_read(register):
    p01 = Patient.objects.get(patient_no="P01")
    before = AccessLog.objects.count()
    assert features(signed_in(register["health"]), 10, *tile_of(p01.geom.x, p01.geom.y, 10), "clusters")
    assert AccessLog.objects.count() == before


def test_from_the_street_zoom_each_patient_is_a_marker_and_the_tile_is_logged(register):
    user = register["health"]
    mine = residents(user)
    client = signed_in(user)
    shown = set()
    for x, y in tiles_of(mine, MARKER_ZOOM):
        before = AccessLog.objects.count()
        ids = {f["properties"]["id"] for f in features(client, MARKER_ZOOM, x, y, "patients")}
        shown |= ids
        row = AccessLog.objects.order_by("-id").first()
        assert AccessLog.objects.count() == before + 1 and set(row.patient_ids) == ids
        assert row.action == "list" and row.query == {"tile": f"{MARKER_ZOOM}/{x}/{y}"}
    assert shown == {p.pk for p in mine}


def marker_of(client, patient: Patient) -> dict:
    x, y = tile_of(patient.geom.x, patient.geom.y, MARKER_ZOOM)
    found = [f["properties"] for f in features(client, MARKER_ZOOM, x, y, "patients")
             if f["properties"]["id"] == patient.pk]
    assert len(found) == 1
    return found[0]


def test_a_marker_shows_only_what_the_persons_role_on_that_patient_shows_R35(register, mixed):
    p01, p03 = Patient.objects.get(patient_no="P01"), Patient.objects.get(patient_no="P03")
    assert set(marker_of(signed_in(register["grid_a"]), p01)) == {"id"}  # a grid worker: no risk
    assert set(marker_of(signed_in(register["police"]), p01)) == {"id", "risk_level", "key_groups"}
    health = marker_of(signed_in(register["health"]), p01)
    assert health["risk_level"] == 3 and "days_overdue" in health
    client = signed_in(mixed)
    assert set(marker_of(client, p01)) == {"id"}  # grid worker in grid A
    assert {"risk_level", "days_overdue"} <= set(marker_of(client, p03))  # village doctor in village 2


def test_another_scopes_patient_is_in_no_tile(register):
    p03 = Patient.objects.get(patient_no="P03")  # the other township
    client = signed_in(register["grid_a"])
    for zoom in (10, MARKER_ZOOM):
        x, y = tile_of(p03.geom.x, p03.geom.y, zoom)
        layer = "clusters" if zoom < MARKER_ZOOM else "patients"
        ids = {f["properties"].get("id") for f in features(client, zoom, x, y, layer)}
        assert p03.pk not in ids
    mine = {p.pk for p in residents(register["grid_a"])}
    x, y = tile_of(p03.geom.x, p03.geom.y, MARKER_ZOOM)
    assert {f["properties"]["id"] for f in features(client, MARKER_ZOOM, x, y, "patients")} <= mine


def test_the_township_office_has_no_point_layer_and_its_attempt_is_logged(register):
    p01 = Patient.objects.get(patient_no="P01")
    x, y = tile_of(p01.geom.x, p01.geom.y, 10)
    answer = signed_in(register["office"]).get(f"/tiles/patients/10/{x}/{y}.pbf")
    assert answer.status_code == 403
    row = AccessLog.objects.order_by("-id").first()
    assert row.action == AccessLog.Action.DENIED and row.user == register["office"]


def test_anonymous_and_impossible_tiles_are_refused(register):
    assert Client().get("/tiles/patients/10/0/0.pbf").status_code == 403
    assert signed_in(register["health"]).get("/tiles/patients/3/9/0.pbf").status_code == 404
