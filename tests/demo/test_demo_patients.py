"""The demo's patients (geodata/demo_patients.py): a generated ledger and follow-ups,
loaded through the real importers with every key group present."""

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.db.models import Count

from cases.patients import rules
from cases.patients.models import FollowUp, Guardian, LostSearch, Patient, TeamOverride
from demo.county import demo_county_build, demo_county_load
from demo.patients import PATIENT_PREFIX
from geodata.readers import read_table
from gridmap.calendar import add_months
from gridmap.models import StaffAssignment
from tests.demo.test_demo import SMALL, TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """Loaded once for the module (see tests/geodata/test_demo.py)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield demo_county_load(out_dir=tmp_path_factory.mktemp("demo"), seed=7, today=TODAY, **SMALL)
        transaction.set_rollback(True)


def demo_patients():
    return Patient.objects.filter(patient_no__startswith=PATIENT_PREFIX)


def test_patients_are_0_4_to_0_5_percent_of_the_population(demo):
    assert demo_patients().count() == demo["patients"]["count"]
    assert 0.004 <= demo["patients"]["count"] / demo["population"] <= 0.005


def test_every_key_group_has_patients(demo):
    for group in rules.KeyGroup.values:
        assert demo_patients().filter(key_groups__contains=[group]).exists(), group
        assert demo["patients"]["key_groups"][group] > 0, group


def test_every_risk_level_appears_most_are_0_or_1_and_schizophrenia_leads(demo):
    levels = Counter(demo_patients().values_list("risk_level", flat=True))
    assert set(levels) == set(range(6))  # R2
    assert levels[0] + levels[1] > 0.6 * sum(levels.values())
    diagnoses = Counter(demo_patients().values_list("diagnosis", flat=True))
    assert diagnoses.most_common(1)[0][0] == "精神分裂症"


def test_a_patient_living_outside_the_county_is_flagged_and_registered_in_a_demo_village_R22(demo):
    outside = demo_patients().filter(outside=True)
    assert outside.exists() and not outside.filter(micro_grid__isnull=False).exists()
    assert outside.filter(registration_unit__level=3).exists()
    assert demo["imports"]["patients"]["warning_keys"] == {"outside": outside.count()}


def test_some_guardians_guard_two_patients_and_some_households_hold_two(demo):
    assert Guardian.objects.filter(id_number__isnull=False).annotate(n=Count("patients")).filter(
        n__gte=2).exists()
    assert demo_patients().exclude(household=None).values("household").annotate(n=Count("id")).filter(
        n__gte=2).exists()


@pytest.mark.parametrize("username", ["grid_worker_a", "grid_worker_b"])
def test_each_demo_grid_worker_s_grid_holds_patients_of_several_key_groups(demo, username):
    grid = StaffAssignment.objects.get(user__username=username).unit
    patients = demo_patients().filter(grid=grid)
    assert patients.count() >= 5
    assert len({g for row in patients.values_list("key_groups", flat=True) for g in row}) >= 4


def test_patients_moved_in_on_either_side_of_the_six_months_boundary_R16(demo):
    # TODAY is 30 June: 31 Dec + 6 months is 30 June (clipped), so 31 Dec is the boundary.
    boundary = add_months(TODAY, -6)
    near = demo_patients().filter(resident_since__range=(boundary - timedelta(days=3),
                                                         boundary + timedelta(days=3)))
    floating = {p.resident_since for p in near if "floating" in p.key_groups}
    settled = {p.resident_since for p in near if "floating" not in p.key_groups}
    assert floating and settled
    assert max(settled) + timedelta(days=1) == min(floating)


def test_lost_patients_have_search_actions_and_some_patients_team_overrides(demo):
    searched = demo_patients().filter(searches__isnull=False).distinct()
    assert searched.exists()
    assert searched.filter(key_groups__contains=["lost"]).count() == searched.count()  # R11
    assert 0 < TeamOverride.objects.filter(patient__in=demo_patients()).count() <= 10
    assert LostSearch.objects.count() == demo["patients"]["lost_searches"]


def test_the_ledger_holds_no_real_contact_data(demo):
    ledger = read_table(Path(demo["files"]["patients"]))
    phones = [phone for phone in ledger["监护人电话"] if phone]
    assert phones and all(re.fullmatch(r"1380000\d{4}", phone) for phone in phones)
    assert all(not rules.id_number_problems(number) for number in ledger["身份证号"])


def test_the_same_seed_and_day_write_the_same_patient_files(tmp_path):
    first = demo_county_build(out_dir=tmp_path / "a", seed=7, today=TODAY, **SMALL)
    again = demo_county_build(out_dir=tmp_path / "b", seed=7, today=TODAY, **SMALL)
    later = demo_county_build(out_dir=tmp_path / "c", seed=7, today=TODAY + timedelta(days=1), **SMALL)
    assert first.patients.read_bytes() == again.patients.read_bytes()
    assert first.followups.read_bytes() == again.followups.read_bytes()
    assert first.followups.read_bytes() != later.followups.read_bytes()


def test_a_load_on_a_later_day_replaces_the_generated_history(demo, tmp_path):
    later = demo_county_load(out_dir=tmp_path / "later", seed=7, today=TODAY + timedelta(days=30), **SMALL)
    rows = len(read_table(Path(later["files"]["followups"])))
    assert FollowUp.objects.filter(patient__in=demo_patients()).count() == rows
    assert later["patients"]["count"] == demo["patients"]["count"]
    assert set(demo_patients().values_list("classified_on", flat=True)) == {TODAY + timedelta(days=30)}
