"""The grid map's data endpoints."""

import pytest

from tests.conftest import GRID_1, MICRO_1, TOWNSHIP_1, VILLAGE_1

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("staff", password="pw-12345678"))
    return client


def test_units_of_a_level_come_as_geojson(staff_client, small_grid):
    response = staff_client.get("/api/units/", {"level": 5, "zoom": 12})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    data = response.json()
    assert [f["id"] for f in data["features"]][:1] == [MICRO_1[0]]
    assert len(data["features"]) == 4
    assert data["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_bbox_limits_the_units(staff_client, small_grid):
    data = staff_client.get("/api/units/", {"level": 2, "bbox": "106.0,33.0,106.15,33.2"}).json()
    assert [f["id"] for f in data["features"]] == [TOWNSHIP_1[0]]


@pytest.mark.parametrize("params", [{"level": 9}, {}, {"level": 2, "bbox": "a,b"},
                                    {"level": 2, "bbox": "107,33,106,34"}])
def test_bad_parameters_get_400_with_field_errors(staff_client, small_grid, params):
    response = staff_client.get("/api/units/", params)
    assert response.status_code == 400
    assert set(response.json()) <= {"level", "bbox"}


def test_unit_detail_has_its_parent_chain_and_counts(staff_client, small_grid):
    data = staff_client.get(f"/api/units/{MICRO_1[0]}/").json()
    assert data["name"] == "第1微网格" and data["level"] == 5
    assert [p["code"] for p in data["parents"]] == ["610727", TOWNSHIP_1[0], VILLAGE_1[0], GRID_1[0]]
    assert data["households"] == 0


def test_unknown_unit_is_404(staff_client, small_grid):
    assert staff_client.get("/api/units/nope/").status_code == 404


def test_the_api_needs_a_login(client, small_grid):
    assert client.get("/api/units/", {"level": 1}).status_code == 403
