"""The patient API: scoped (R22), trimmed by role, logged (R35), 400 on bad input."""

import pytest
from rest_framework.test import APIClient

from cases.patients.models import Patient
from gridmap.models import AccessLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(register):
    def login(username) -> APIClient:
        client = APIClient()
        client.force_authenticate(register[username])
        return client

    return login


def pk(no):
    return Patient.objects.get(patient_no=no).pk


def test_the_list_holds_only_the_users_patients_and_is_logged(as_user):
    response = as_user("grid_a").get("/api/patients/", {"reason": "weekly round"})
    assert response.status_code == 200
    assert [p["patient_no"] for p in response.json()["results"]] == ["P01", "P05"]
    log = AccessLog.objects.get()
    assert log.action == "list" and sorted(log.patient_ids) == sorted([pk("P01"), pk("P05")])
    assert log.reason == "weekly round"


def test_grid_b_cannot_read_list_change_or_locate_grid_as_patient(as_user):
    client = as_user("grid_b")
    assert client.get(f"/api/patients/{pk('P01')}/").status_code == 404
    assert client.patch(f"/api/patients/{pk('P01')}/", {"residence_address": "x"}, format="json"
                        ).status_code == 404
    assert "P01" not in [p["patient_no"] for p in client.get("/api/patients/").json()["results"]]
    points = client.get("/api/patients/points/").json()["features"]
    assert [f["properties"]["patient_no"] for f in points] == ["P02"]


def test_a_grid_worker_sees_name_address_and_team_but_no_diagnosis(as_user):
    body = as_user("grid_a").get(f"/api/patients/{pk('P01')}/").json()
    assert body["name"] == "患者P01" and body["residence_address"] and "team" in body
    for hidden in ("diagnosis", "risk_level", "key_groups", "id_number", "condition"):
        assert hidden not in body
    assert AccessLog.objects.filter(action="view", patient_ids=[pk("P01")]).exists()


def test_police_see_risk_and_incidents_health_staff_see_medical_fields(as_user):
    police = as_user("police").get(f"/api/patients/{pk('P01')}/").json()
    assert police["risk_level"] == 3 and "prior_incidents" in police and "diagnosis" not in police
    health = as_user("health").get(f"/api/patients/{pk('P01')}/").json()
    assert health["diagnosis"] == "精神分裂症" and health["condition"] == "不稳定"
    assert health["team"]["gaps"] == ["liaison_leader"]


def test_filters_and_key_group_counts(as_user):
    body = as_user("health").get("/api/patients/", {"key_group": "high_risk"}).json()
    assert [p["patient_no"] for p in body["results"]] == ["P01"]
    assert body["key_group_counts"]["high_risk"] == 1
    assert [p["patient_no"] for p in as_user("health").get("/api/patients/", {"risk": 3}).json()["results"]
            ] == ["P01"]


def test_bad_filters_and_hidden_filters_are_400_with_field_errors(as_user):
    response = as_user("health").get("/api/patients/", {"key_group": "nope", "risk": 9})
    assert response.status_code == 400 and set(response.json()) == {"key_group", "risk"}
    response = as_user("grid_a").get("/api/patients/", {"risk": 3})
    assert response.status_code == 400 and "risk" in response.json()


def test_a_follow_up_applies_the_rules_at_once_R5_R6(as_user):
    client = as_user("health")
    response = client.post(f"/api/patients/{pk('P02')}/followups/",
                           {"followed_at": "2026-06-20T10:00:00+08:00", "method": "面访", "reached": True,
                            "risk_level": 1}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["condition"] == "基本稳定"  # R5 from risk 1
    assert body["next_due"] == "2026-07-04"  # R6: within 14 days
    assert body["risk_level"] == 1


def test_bad_follow_ups_are_400_and_need_a_medical_role(as_user):
    url = f"/api/patients/{pk('P01')}/followups/"
    response = as_user("health").post(url, {"followed_at": "yesterday", "method": "上门", "reached": False,
                                            "condition": "稳定", "risk_level": 8}, format="json")
    assert response.status_code == 400
    assert {"followed_at", "method", "risk_level"} <= set(response.json())
    assert as_user("grid_a").post(url, {}, format="json").status_code == 403


def test_an_update_validates_and_replaces_the_residence(as_user):
    client = as_user("grid_a")
    url = f"/api/patients/{pk('P01')}/"
    bad = client.patch(url, {"lon": 33.0, "lat": 106.0, "risk_level": 2}, format="json")
    assert bad.status_code == 400 and {"lon", "risk_level"} <= set(bad.json())
    ok = client.patch(url, {"lon": 106.05, "lat": 33.15, "residence_address": "新址"}, format="json")
    assert ok.status_code == 200, ok.json()
    p1 = Patient.objects.get(patient_no="P01")
    assert p1.micro_grid.code == "6107270010010102" and p1.residence_address == "新址"
    assert AccessLog.objects.filter(action="update", patient_ids=[p1.pk]).exists()


def test_anonymous_callers_get_nothing(client, register):
    assert client.get("/api/patients/").status_code == 403


def test_the_openapi_schema_is_served(as_user):
    response = as_user("grid_a").get("/api/schema/")
    assert response.status_code == 200 and b"/api/patients/{id}/followups/" in response.content


def test_the_overdue_filter(as_user, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    client = as_user("health")
    client.post(f"/api/patients/{pk('P02')}/followups/",
                {"followed_at": (timezone.now() - timedelta(days=3)).isoformat(), "method": "面访", "reached": True,
                 "condition": "稳定"}, format="json")
    overdue = [p["patient_no"] for p in client.get("/api/patients/", {"overdue": "true"}).json()["results"]]
    on_time = [p["patient_no"] for p in client.get("/api/patients/", {"overdue": "false"}).json()["results"]]
    assert "P02" in on_time and "P02" not in overdue and "P01" in overdue
    assert client.get("/api/patients/", {"overdue": "maybe"}).status_code == 400


@pytest.mark.parametrize("username", ["grid_a", "police", "health", "village_doc"])
def test_each_row_is_what_drf_itself_gives_trimmed_to_the_readers_fields_R35(as_user, register, username):
    """The serializer reads each row through a per-field-group list of readers; what it
    gives must be, field for field, DRF's own representation of the patient trimmed to the
    fields the reader's roles on that patient show, the numbers masked."""
    from rest_framework import serializers

    from cases.patients import selectors
    from cases.patients.serializers import PatientSerializer, visible_fields
    from gridmap import access, crypto

    answer = as_user(username).get("/api/patients/").json()["results"]
    assert answer
    scope = access.scope_of(register[username])
    for row in answer:
        patient = Patient.objects.get(pk=row["id"])
        groups = selectors.field_groups_by_patient(scope, [patient])[patient.pk]
        serializer = PatientSerializer(context={"groups": {patient.pk: groups},
                                                "teams": selectors.teams_for([patient])})
        full = serializers.ModelSerializer.to_representation(serializer, patient)
        expected = {name: value for name, value in full.items() if name in visible_fields(groups)}
        if expected.get("id_number"):
            expected["id_number"] = crypto.mask_id(expected["id_number"])
        if expected.get("guardian") and expected["guardian"]["phone"]:
            expected["guardian"]["phone"] = crypto.mask_phone(expected["guardian"]["phone"])
        assert row == expected


@pytest.mark.parametrize("username", ["health", "grid_a", "village_doc", "office"])
def test_the_count_is_the_number_of_patients_listed_filtered_or_not(as_user, register, username):
    """Where the reader may see every patient's key groups the count comes from the key-group
    aggregate (one query fewer); it must be the same number either way, on the page too."""
    from django.test import Client

    from cases.patients import selectors

    visible = selectors.patients_visible_to(register[username])
    body = as_user(username).get("/api/patients/").json()
    assert body["count"] == visible.count() == len(body["results"]) > 0
    body = as_user(username).get("/api/patients/", {"q": "P0"}).json()
    assert body["count"] == visible.filter(patient_no__startswith="P0").count()
    page = Client()
    page.force_login(register[username])
    assert page.get("/patients/").context["page"].paginator.count == visible.count()
    assert page.get("/patients/", {"q": "P01"}).context["page"].paginator.count == \
        visible.filter(patient_no__startswith="P01").count()


def test_a_list_asks_the_database_the_same_number_of_times_for_any_number_of_patients(as_user, register):
    """The pages fetch only the columns they show: a column they read and did not fetch
    would cost one more query per row, which this catches."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    def queries(fetch) -> int:
        with CaptureQueriesContext(connection) as captured:
            fetch()
        return len(captured)

    api = as_user("health")
    page = Client()
    page.force_login(register["health"])
    api.get("/api/patients/"), page.get("/patients/")  # a session's first request writes it
    before = (queries(lambda: api.get("/api/patients/")), queries(lambda: page.get("/patients/")))
    p01 = Patient.objects.get(patient_no="P01")
    for n in range(6):
        p01.pk, p01.patient_no, p01.id_number = None, f"P9{n}", ""
        p01.save()
    assert api.get("/api/patients/").json()["count"] >= 8
    assert (queries(lambda: api.get("/api/patients/")), queries(lambda: page.get("/patients/"))) == before


@pytest.mark.parametrize("username", ["health", "grid_a", "police", "village_doc", "office"])
def test_a_patient_reads_the_same_in_the_list_as_on_its_own(as_user, username):
    """The list reads its rows without model objects (units, guardian and chains in the row);
    each must be what the patient's own endpoint gives, field for field (R35)."""
    client = as_user(username)
    listed = client.get("/api/patients/").json()["results"]
    assert listed
    for row in listed:
        assert client.get(f"/api/patients/{row['id']}/").json() == row
