"""R20: the five-person team from the unit tree, with overrides and gaps; R21: care groups."""

import pytest

from cases.patients import selectors
from cases.patients.models import Patient, TeamOverride
from gridmap.models import GridUnit
from tests.conftest import VILLAGE_1

pytestmark = pytest.mark.django_db


def team_of(patient_no):
    p = Patient.objects.select_related("guardian").get(patient_no=patient_no)
    return selectors.teams_for([p])[p.pk]


def usernames(team, role):
    return [u.username for u in team.members.get(role, [])]


def test_R20_each_role_comes_from_the_nearest_unit_up_the_tree(register):
    team = team_of("P01")  # micro-grid 1 has its own village doctor
    assert usernames(team, "village_doctor") == ["micro_doc"]
    assert usernames(team, "police") == ["police"]  # from the township
    assert usernames(team, "village_committee") == ["committee"]
    assert team.guardian == "监护人P01"
    p2 = team_of("P02")  # grid B: the village's doctor
    assert usernames(p2, "village_doctor") == ["village_doc"]


def test_R20_missing_roles_are_gaps(register):
    assert team_of("P01").gaps == ["liaison_leader"]
    # The other township has nobody but a grid worker.
    assert team_of("P03").gaps == ["police", "village_committee", "village_doctor", "liaison_leader"]


def test_R20_an_override_names_someone_else_for_one_patient(register):
    p1 = Patient.objects.get(patient_no="P01")
    TeamOverride.objects.create(patient=p1, role="police", user=register["office"])
    team = team_of("P01")
    assert usernames(team, "police") == ["office"] and team.overridden == {"police"}
    assert usernames(team_of("P02"), "police") == ["police"]


def test_R20_R22_a_patient_living_outside_gets_the_registration_places_team(register):
    team = team_of("P04")  # registered in the village, living outside every unit
    assert usernames(team, "village_doctor") == ["village_doc"]
    assert usernames(team, "police") == ["police"]


def test_R21_the_village_care_group(register):
    group = selectors.care_group(GridUnit.objects.get(code=VILLAGE_1[0]))
    assert [u.username for u in group["village_committee"]] == ["committee"]
    assert [u.username for u in group["grid_worker"]] == ["grid_a", "grid_b"]
    assert [u.username for u in group["village_doctor"]] == ["village_doc"]
