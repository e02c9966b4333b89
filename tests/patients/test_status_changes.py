"""Taking a patient off the register is not a field edit (probe finding 4): 出库 only by a
joint-meeting decision with evidence (R11), 死亡 with its date and source by the medical
team (R4); a grid worker changes neither, and neither is undone by a field edit."""

import pytest
from rest_framework.test import APIClient

from cases.patients.models import Patient

pytestmark = pytest.mark.django_db


def patch(user, data):
    client = APIClient()
    client.force_authenticate(user)
    return client.patch(f"/api/patients/{Patient.objects.get(patient_no='P01').pk}/", data, format="json")


@pytest.mark.parametrize("status", ["出库", "死亡", "失访"])
def test_a_grid_worker_cannot_change_the_status(register, status):
    response = patch(register["grid_a"], {"status": status})
    assert response.status_code == 400 and "status" in response.json()
    assert Patient.objects.get(patient_no="P01").status == "在管"


def test_removal_is_never_a_field_edit_R11(register):
    response = patch(register["health"], {"status": "出库"})
    assert response.status_code == 400 and "R11" in response.json()["status"][0]
    assert Patient.objects.get(patient_no="P01").status == "在管"


def test_a_death_needs_its_date_and_source_R4(register):
    response = patch(register["health"], {"status": "死亡"})
    assert response.status_code == 400 and set(response.json()) == {"died_on", "death_source"}
    assert patch(register["health"], {"status": "死亡", "died_on": "2099-01-01",
                                      "death_source": "家属告知"}).status_code == 400
    assert patch(register["health"], {"died_on": "2026-06-01"}).status_code == 400  # without the status
    response = patch(register["health"], {"status": "死亡", "died_on": "2026-06-01", "death_source": "家属告知"})
    assert response.status_code == 200, response.content
    p01 = Patient.objects.get(patient_no="P01")
    assert (p01.status, str(p01.died_on), p01.death_source) == ("死亡", "2026-06-01", "家属告知")
    assert p01.key_groups == [] and p01.next_due is None  # inactive: in no group or worklist (R4)


@pytest.mark.parametrize("final", ["死亡", "出库"])
def test_a_recorded_death_or_removal_is_not_undone_by_a_field_edit_R4_R11(register, final):
    Patient.objects.filter(patient_no="P01").update(status=final)
    for status in ("在管", "失访"):
        response = patch(register["health"], {"status": status})
        assert response.status_code == 400 and "R4, R11" in response.json()["status"][0]
    assert Patient.objects.get(patient_no="P01").status == final
    assert patch(register["health"], {"residence_address": "新地址"}).status_code == 200  # other fields still
