"""Bad input is a 400 with field errors, never a 500, and implausible values are refused
(probe finding 9): far-off dates, deep JSON, huge notes, a case that is not a number."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from rest_framework.test import APIClient

from cases.patients.models import EventReport, FollowUp, Patient

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def p01() -> int:
    return Patient.objects.get(patient_no="P01").pk


@pytest.mark.parametrize("field, value", [
    ("resident_since", "9999-12-31"), ("resident_since", "1850-01-01"), ("risk_assessed_on", "0001-01-01"),
])
def test_implausible_dates_in_a_patch_are_400(register, field, value):
    response = api(register["health"]).patch(f"/api/patients/{p01()}/", {field: value}, format="json")
    assert response.status_code == 400 and field in response.json()


@pytest.mark.parametrize("when", ["0001-01-01T10:00:00+08:00", "9999-11-30T10:00:00+08:00",
                                  "1899-12-31T10:00:00+08:00"])
def test_implausible_follow_up_dates_are_400(register, when):
    response = api(register["health"]).post(f"/api/patients/{p01()}/followups/",
                                            {"followed_at": when, "method": "面访", "reached": True},
                                            format="json")
    assert response.status_code == 400 and "followed_at" in response.json()
    assert not FollowUp.objects.exists()


def test_a_nine_megabyte_note_is_400_and_a_long_one_too(register):
    client = api(register["grid_a"])
    found = (datetime.now(BJ) - timedelta(hours=1)).isoformat()
    for size in (9 * 1024 * 1024, 2001):
        response = client.post(f"/api/patients/{p01()}/events/",
                               {"kind": "relapse", "discovered_at": found, "note": "x" * size}, format="json")
        assert response.status_code == 400, size
    assert not EventReport.objects.exists()


def test_deeply_nested_json_is_400(register):
    body = "[" * 5000 + "]" * 5000
    response = api(register["health"]).generic("PATCH", f"/api/patients/{p01()}/", body,
                                               content_type="application/json")
    assert response.status_code == 400
    body = '{"a":' * 40 + "1" + "}" * 40
    assert api(register["health"]).generic("PATCH", f"/api/patients/{p01()}/", body,
                                           content_type="application/json").status_code == 400


def test_a_suspected_case_that_is_not_a_number_is_400(register):
    client = Client()
    client.force_login(register["office"])
    assert client.post("/screening/suspected/", {"case": "abc", "action": "exclude"}).status_code == 400


def test_a_seven_million_character_address_is_a_row_error_not_a_crash(register, tmp_path):
    from tests.helpers import run_import
    from tests.ledgers import patient, write_table

    path = write_table(tmp_path / "l.csv", [patient("P09", residence_address="路" * 7_000_000)])
    ok, text = run_import("function", "import_patients", path)
    assert not ok and "row 1, column residence_address: 7000000 characters, more than the 300 allowed" in text
    assert not Patient.objects.filter(patient_no="P09").exists()
    households = tmp_path / "h.csv"
    households.write_text("code,address,lon,lat\nH1," + "路" * 400 + ",106.05,33.05\n", encoding="utf-8")
    ok, text = run_import("function", "import_households", households)
    assert not ok and "row 1, column address: 400 characters" in text


def test_a_follow_up_file_dated_9999_is_a_row_error(register, tmp_path):
    from tests.helpers import run_import

    path = tmp_path / "f.csv"
    path.write_text("档案编号,随访时间,随访方式,是否随访到\nP01,9999-11-30 10:00,面访,是\n", encoding="utf-8")
    ok, text = run_import("function", "import_followups", path)
    assert not ok and "row 1, column followed_at: 9999-11-30" in text and "in the future" in text


@pytest.mark.parametrize("method, path", [
    ("get", "/api/units/%00/"), ("get", "/api/campaigns/%00/coverage/?level=2"),
    ("get", "/api/campaigns/%00/hexagons/"), ("post", "/api/campaigns/%00/visits/"),
    ("get", "/api/units/6107%0027/"),
])
def test_a_nul_character_in_a_code_in_the_path_is_a_json_404_not_a_500(register, method, path):
    response = getattr(api(register["health"]), method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and response.json()["detail"]


def test_a_nul_character_in_a_page_path_is_404_not_500(register):
    client = Client()
    client.force_login(register["health"])
    assert client.get("/screening/%00/mop-up.csv", {"unit": "610727001"}).status_code == 404


@pytest.mark.parametrize("path", ["/api/patients/abc/", "/api/patients/-1/events/", "/api/nothing/"])
def test_an_api_path_that_names_nothing_is_a_json_404_in_chinese(register, path):
    response = api(register["health"]).get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "未找到。"}


def test_a_page_that_does_not_exist_is_still_a_page(register):
    client = Client()
    client.force_login(register["health"])
    response = client.get("/nothing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("command, row", [
    ("import_staff", {"username": "wang", "name": "王\x00芳", "role": "网格员", "unit_code": "61072700100101"}),
    ("import_staff", {"username": "wang", "name": "王芳", "role": "网格员", "unit_code": "6107\x0027"}),
    ("import_followups", {"patient_no": "P0\x001", "followed_at": "2026-06-01", "method": "电话", "reached": "否"}),
    ("import_campaigns", {"code": "C9", "name": "排\x00查", "kind": "专项排查", "scope_code": "610727",
                          "starts_on": "2026-06-01", "ends_on": "2026-06-30"}),
    ("import_screening", {"campaign_code": "C9", "household_code": "H1", "visited_at": "2026-06-10 10:00",
                          "worker": "grid\x00a", "result": "无异常"}),
])
def test_a_nul_character_in_any_ledger_is_a_row_error_not_a_crash(register, tmp_path, command, row):
    """PostgreSQL refuses NUL in text and JSON: the COPY, or the ORM, raised."""
    from tests.helpers import run_import
    from tests.ledgers import write_table
    from tests.security.test_importer_fuzz import snapshot

    column = next(c for c, v in row.items() if "\x00" in v)
    before = snapshot()
    ok, text = run_import("function", command, write_table(tmp_path / "l.csv", [row]))
    assert not ok and f"row 1, column {column}: holds a NUL character (0x00)" in text
    assert snapshot() == before


@pytest.mark.parametrize("field, value, expected", [
    ("admissions_past_year", "40000", "row 1, column admissions_past_year: 40000 is outside 0..366"),
    ("admissions_past_year", "1e300", "row 1, column admissions_past_year: "),
    ("residence_lon", "nan", "row 1, column residence_lon: 'nan' is not a number"),
    ("name", "张\x00三", "row 1, column name: holds a NUL character (0x00)"),
    ("备注", "\x00", "row 1, column 备注: holds a NUL character (0x00)"),
])
def test_a_ledger_value_the_database_cannot_hold_is_a_row_error(register, tmp_path, field, value, expected):
    """40000 admissions overflowed the smallint column, 1e300 the stage's int; NaN was stored
    as a residence; NUL broke the COPY."""
    from tests.helpers import run_import
    from tests.ledgers import patient, write_table
    from tests.security.test_importer_fuzz import snapshot

    before = snapshot()
    ok, text = run_import("function", "import_patients", write_table(tmp_path / "l.csv", [patient("P09", **{field: value})]))
    assert not ok and expected in text, text
    assert snapshot() == before
