"""One selector decides who sees which patient (R22, R35), and every read is logged."""

import pytest
from django.http import Http404

from cases.patients import selectors
from cases.patients.models import Patient
from gridmap import access
from gridmap.models import AccessLog

pytestmark = pytest.mark.django_db


def visible(user) -> list[str]:
    return sorted(selectors.patients_visible_to(user).values_list("patient_no", flat=True))


def test_a_grid_worker_sees_the_residents_of_their_grid_and_those_registered_there_R22(register):
    assert visible(register["grid_a"]) == ["P01", "P05"]


def test_grid_b_sees_nothing_of_grid_a(register):
    assert visible(register["grid_b"]) == ["P02"]


def test_the_village_sees_its_residents_and_its_registered_patients_living_outside_R22(register):
    assert visible(register["village_doc"]) == ["P01", "P02", "P04", "P05"]


def test_an_outsider_sees_only_their_own_township(register):
    assert visible(register["outsider"]) == ["P03", "P05"]


def test_a_user_without_any_unit_sees_nothing(register, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x-12345678")
    assert visible(nobody) == []


def test_reading_a_record_is_logged_with_who_which_and_why_R35(register):
    p1 = Patient.objects.get(patient_no="P01")
    got = selectors.patient_get_for_user(user=register["grid_a"], pk=p1.pk, reason="home visit")
    assert got == p1
    log = AccessLog.objects.get()
    assert (log.user, log.action, log.patient_ids, log.reason) == (register["grid_a"], "view", [p1.pk],
                                                                    "home visit")


def test_reading_another_grids_patient_is_refused_and_logged_as_refused_not_as_a_read(register):
    p1 = Patient.objects.get(patient_no="P01")
    with pytest.raises(Http404):
        selectors.patient_get_for_user(user=register["grid_b"], pk=p1.pk)
    [row] = AccessLog.objects.all()
    assert row.action == "denied" and row.patient_ids == [p1.pk] and row.username == "grid_b"
    assert "not in the person's units" in row.reason


@pytest.mark.parametrize("username,groups", [
    ("grid_a", {"identity"}),
    ("police", {"identity", "id_number", "risk"}),
    ("health", {"identity", "id_number", "risk", "medical"}),
    ("village_doc", {"identity", "risk", "medical"}),
])
def test_field_detail_depends_on_role(register, username, groups):
    assert access.field_groups(register[username]) == groups
