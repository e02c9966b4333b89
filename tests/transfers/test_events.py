"""R27/R28: event reports with their hour limits; the registration village told of its
patients living elsewhere."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cases.patients.models import EventReport, Patient
from cases.transfers import services as transfers
from cases.transfers.models import Alert, Notification
from tests.helpers import run_import
from tests.ledgers import patient, write_table

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(register):
    client = APIClient()
    client.force_authenticate(register["grid_a"])
    return client


def post_event(api, **body):
    p1 = Patient.objects.get(patient_no="P01")
    return api.post(f"/api/patients/{p1.pk}/events/", body, format="json")


def test_R28_an_event_reported_within_six_hours_is_on_time(api):
    found = timezone.now() - timedelta(hours=5, minutes=59)
    response = post_event(api, kind="relapse", discovered_at=found.isoformat(), note="夜间吵闹")
    assert response.status_code == 201, response.json()
    assert response.json()["late"] is False
    event = EventReport.objects.get()
    assert event.due_by == found + timedelta(hours=6) and event.reported_by.username == "grid_a"


def test_R28_an_event_reported_after_six_hours_is_flagged_late(api):
    found = timezone.now() - timedelta(hours=6, minutes=1)
    assert post_event(api, kind="lost_contact", discovered_at=found.isoformat()).json()["late"] is True


def test_R27_likely_to_leave_is_due_within_24_hours(api):
    found = timezone.now() - timedelta(hours=23)
    body = post_event(api, kind="likely_to_leave", discovered_at=found.isoformat()).json()
    assert body["late"] is False
    assert EventReport.objects.get().due_by == found + timedelta(hours=24)


def test_R28_an_event_recorded_to_report_later_alerts_when_late_and_clears_when_reported(api, register):
    from cases.transfers.services import event_report_submit

    found = timezone.now() - timedelta(hours=7)
    post_event(api, kind="irregular_medication", discovered_at=found.isoformat(), reported=False)
    event = EventReport.objects.get()
    assert event.reported_at is None
    assert transfers.transfers_sweep()["event_overdue"] == 1
    event_report_submit(user=register["grid_a"], event=event)
    assert event.late and Alert.objects.get().cleared_at is not None


def test_bad_event_reports_are_400(api):
    response = post_event(api, kind="party", discovered_at="soon")
    assert response.status_code == 400 and {"kind", "discovered_at"} <= set(response.json())
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert post_event(api, kind="relapse", discovered_at=future).status_code == 400


def test_R27_the_registration_village_is_told_of_patients_living_elsewhere(register, tmp_path):
    from tests.conftest import AS_OF, PATIENTS

    # P04 lives outside and P05 in the other township, both registered under village 1.
    told = set(Notification.objects.filter(user__username="committee")
               .values_list("patient__patient_no", flat=True))
    assert told == {"P04", "P05"}
    again = run_import("function", "import_patients", write_table(tmp_path / "again.csv", PATIENTS),
                       as_of=AS_OF)
    assert again[0] and Notification.objects.filter(user__username="committee").count() == 2  # once
    # A patient living in their registration village tells nobody.
    rows = [patient("P09", registration_code="610727001001")]  # lives in micro-grid 1, village 1
    run_import("function", "import_patients", write_table(tmp_path / "p9.csv", rows), as_of=AS_OF)
    assert not Notification.objects.filter(patient__patient_no="P09").exists()
