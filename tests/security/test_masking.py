"""ID and telephone numbers masked (issue 10, Deliver 2): every answer shows the first six
and last four digits of an ID number and the first three and last four of a telephone;
a person whose roles on the patient give them may reveal them in full, one logged action."""

import re

import pytest
from django.urls import reverse

from cases.patients.models import Patient
from gridmap.models import AccessLog
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


@pytest.fixture
def p01(register):
    patient = Patient.objects.select_related("guardian").get(patient_no="P01")
    patient.guardian.phone = PHONE
    patient.guardian.save()
    return patient


def test_every_read_masks_the_numbers(client, register, p01):
    sign_in(client, register["police"])  # police see ID numbers (R35), masked
    full = p01.id_number
    masked = full[:6] + "********" + full[-4:]
    detail = client.get(reverse("api:patient-detail", args=[p01.pk])).json()
    assert detail["id_number"] == masked and detail["guardian"]["phone"] == "138****5678"
    listed = {r["patient_no"]: r for r in client.get(reverse("api:patients")).json()["results"]}
    assert listed["P01"]["id_number"] == masked
    page = client.get(reverse("patients:patient", args=[p01.pk])).content.decode()
    assert masked in page and "138****5678" in page
    for body in (str(detail), str(listed), page):
        assert full not in body and PHONE not in body
    assert not AccessLog.objects.filter(action="unmask").exists()


def test_revealing_is_one_logged_action_and_shows_what_the_role_gives(client, register, p01):
    sign_in(client, register["police"])
    response = client.post(reverse("api:patient-identifiers", args=[p01.pk]))
    assert response.status_code == 200
    assert response.json() == {"id_number": p01.id_number, "guardian_phone": PHONE}
    entry = AccessLog.objects.get(action="unmask")
    assert entry.patient_ids == [p01.pk] and entry.query == {"revealed": ["guardian_phone", "id_number"]}
    page = client.post(reverse("patients:identifiers", args=[p01.pk])).content.decode()
    assert p01.id_number in page and PHONE in page
    assert AccessLog.objects.filter(action="unmask").count() == 2
    assert client.get(reverse("api:patient-identifiers", args=[p01.pk])).status_code == 405  # an action


def test_a_grid_worker_reveals_the_guardians_phone_but_no_id_number(client, register, p01):
    sign_in(client, register["grid_a"])
    assert "id_number" not in client.get(reverse("api:patient-detail", args=[p01.pk])).json()
    assert client.post(reverse("api:patient-identifiers", args=[p01.pk])).json() == {"guardian_phone": PHONE}
    page = client.get(reverse("patients:patient", args=[p01.pk])).content.decode()
    assert 'id="reveal"' in page and not re.search(r"\b\d{17}[\dX]\b", page)


def test_nobody_reveals_what_is_not_in_their_units(client, register, p01):
    sign_in(client, register["grid_b"])
    assert client.post(reverse("api:patient-identifiers", args=[p01.pk])).status_code == 404
    assert client.post(reverse("patients:identifiers", args=[p01.pk])).status_code == 404
    assert not AccessLog.objects.filter(action="unmask").exists()
