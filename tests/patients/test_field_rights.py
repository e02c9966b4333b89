"""R35: what a person sees of a patient follows the role they hold *for that patient's
unit* (probe finding 2: rights were merged across a person's assignments), and a grid
worker reads no medical notes through event reports (finding 3).

`mixed` is the grid worker of grid A (village 1) and the village doctor of village 3 in
the other township: P01 lives in grid A, P03 and P05 in village 3."""

import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from openpyxl import load_workbook
from rest_framework.test import APIClient

from cases.patients.ledgers import ledger_export
from cases.patients.models import EventReport, Patient
from gridmap.models import GridUnit, StaffAssignment, User
from tests.conftest import GRID_1, VILLAGE_2

pytestmark = pytest.mark.django_db
MEDICAL_NOTE = "复发：幻听加重，拒绝服药"


@pytest.fixture
def mixed(register):
    user = User.objects.create_user("mixed", password="a-long-password-1")
    StaffAssignment.objects.create(user=user, role="grid_worker", unit=GridUnit.objects.get(code=GRID_1[0]))
    StaffAssignment.objects.create(user=user, role="village_doctor",
                                   unit=GridUnit.objects.get(code=VILLAGE_2[0]))
    return user


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def pk(no: str) -> int:
    return Patient.objects.get(patient_no=no).pk


def test_the_api_shows_diagnosis_only_where_the_person_is_the_village_doctor(mixed):
    client = api(mixed)
    in_grid = client.get(f"/api/patients/{pk('P01')}/").json()
    in_village = client.get(f"/api/patients/{pk('P03')}/").json()
    for hidden in ("diagnosis", "risk_level", "key_groups", "condition", "next_due"):
        assert hidden not in in_grid, hidden
    assert in_village["diagnosis"] == "精神分裂症" and "risk_level" in in_village and "next_due" in in_village
    rows = {r["patient_no"]: r for r in client.get("/api/patients/").json()["results"]}
    assert set(rows) >= {"P01", "P03"}
    assert "diagnosis" not in rows["P01"] and rows["P03"]["diagnosis"] == "精神分裂症"
    assert client.get(f"/api/patients/{pk('P01')}/followups/").status_code == 403
    assert client.get(f"/api/patients/{pk('P03')}/followups/").status_code == 200


def test_a_filter_on_risk_finds_only_patients_whose_risk_the_person_may_see(mixed):
    # P01 (grid A) has risk 3; P03 (village 3) has risk 0.
    found = {r["patient_no"] for r in api(mixed).get("/api/patients/", {"risk": 3}).json()["results"]}
    assert found == set()
    found = {r["patient_no"] for r in api(mixed).get("/api/patients/", {"risk": 0}).json()["results"]}
    assert found == {"P03", "P05"}  # both live in village 3 (P05 is registered in grid A)
    counts = api(mixed).get("/api/patients/").json()["key_group_counts"]
    assert counts["high_risk"] == 0  # P01 is high-risk, but not to them


def test_the_pages_show_diagnosis_only_where_the_person_is_the_village_doctor(mixed):
    client = Client()
    client.force_login(mixed)
    assert "精神分裂症" not in client.get(f"/patients/{pk('P01')}/").content.decode()
    assert "精神分裂症" in client.get(f"/patients/{pk('P03')}/").content.decode()
    html = client.get("/patients/").content.decode()
    rows = {no: row for row in re.findall(r"<tr><td><a [^>]*>.*?</tr>", html)
            for no in re.findall(r">(P\d+)</a>", row)}
    # The risk and follow-up columns are there (they are the village doctor's), withheld
    # in P01's row, where the person is only a grid worker.
    assert rows["P01"].count('class="withheld"') == 4
    assert 'class="withheld"' not in rows["P03"]


def test_a_ledger_leaves_blank_what_a_row_may_not_show(mixed):
    book = load_workbook(io.BytesIO(ledger_export("key-groups", user=mixed, as_of=date(2026, 6, 30), purpose="report")))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["P01"]["危险性评估等级"] in ("", None) and rows["P01"]["重点管理人群"] in ("", None)
    assert rows["P03"]["危险性评估等级"] == 0
    due = load_workbook(io.BytesIO(ledger_export("followups-due", user=mixed, as_of=date(2026, 6, 30), purpose="care")))
    listed = {r[2] for r in due.active.iter_rows(min_row=2, values_only=True)}
    assert "P01" not in listed  # follow-up dates are medical detail


def test_a_grid_worker_reads_no_medical_note_in_event_reports(register):
    p01 = Patient.objects.get(patient_no="P01")
    EventReport.objects.create(patient=p01, kind="relapse", note=MEDICAL_NOTE,
                               discovered_at=datetime(2026, 6, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
                               due_by=datetime(2026, 6, 1, 15, tzinfo=ZoneInfo("Asia/Shanghai")))
    [event] = api(register["grid_a"]).get(f"/api/patients/{p01.pk}/events/").json()
    assert event["kind"] == "relapse" and "note" not in event
    [event] = api(register["health"]).get(f"/api/patients/{p01.pk}/events/").json()
    assert event["note"] == MEDICAL_NOTE
    page = Client()
    page.force_login(register["grid_a"])
    assert MEDICAL_NOTE not in page.get(f"/patients/{p01.pk}/").content.decode()
    page.force_login(register["health"])
    assert MEDICAL_NOTE in page.get(f"/patients/{p01.pk}/").content.decode()


def test_a_scope_whose_units_all_give_the_same_groups_decides_its_residents_without_a_query(
        register, mixed, django_assert_num_queries):
    from cases.patients.selectors import field_groups_by_patient
    from gridmap import access

    patients = list(Patient.objects.order_by("patient_no"))
    health = access.scope_of(register["health"])
    assert health.uniform_groups == access.ALL_GROUPS
    residents = [p for p in patients if p.township_id in {u.pk for u in health.units}]
    assert residents
    with django_assert_num_queries(0):
        assert field_groups_by_patient(health, residents) == {p.pk: access.ALL_GROUPS for p in residents}
    # P05 is registered in grid A and lives elsewhere: the grid worker's groups come from
    # its registration chain, read from the database.
    grid_a = access.scope_of(register["grid_a"])
    assert grid_a.uniform_groups == frozenset({access.IDENTITY})
    p05 = next(p for p in patients if p.patient_no == "P05")
    with django_assert_num_queries(1):
        assert field_groups_by_patient(grid_a, [p05]) == {p05.pk: frozenset({access.IDENTITY})}
    # Roles that give different groups on different units are never uniform.
    assert access.scope_of(mixed).uniform_groups is None


def test_the_list_and_the_record_agree_on_each_patients_fields_for_a_person_of_two_roles(mixed):
    """The list decides each row's field groups from chains read with the row
    (PatientQuerySet.with_other_chains), the record with a query of its own: the same."""
    client = api(mixed)
    listed = client.get("/api/patients/").json()["results"]
    assert len(listed) > 1
    for row in listed:
        assert client.get(f"/api/patients/{row['id']}/").json() == row
