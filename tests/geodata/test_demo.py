"""The demo county (geodata/demo.py), built small and loaded through the real importers.

The load takes seconds, so it runs once per module, in a transaction rolled
back at the end; each test runs in a savepoint inside it (pytest-django's db).
"""

from datetime import date

import pytest
from django.db import connection, transaction

from geodata.demo import (
    ADMIN_USERNAME,
    DEMO_PASSWORD,
    STAFF_USERNAMES,
    demo_county_build,
    demo_county_load,
)
from gridmap.models import GridUnit, Household, Role, StaffAssignment, User

pytestmark = pytest.mark.django_db
SMALL = {"townships": 3, "villages": (3, 4), "households": 4000}
TODAY = date(2026, 6, 30)  # the demo's "today": the patients' histories end here
CODE_DIGITS = {2: 3, 3: 3, 4: 2, 5: 2}  # digits each level adds to its parent's code


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock(), transaction.atomic():
        yield demo_county_load(out_dir=tmp_path_factory.mktemp("demo"), seed=7, today=TODAY, **SMALL)
        transaction.set_rollback(True)


def test_demo_imports_without_errors_or_gap_warnings(demo):
    # demo_county_load raises DemoLoadError if any report has errors.
    for kind, report in demo["imports"].items():
        assert "gap" not in report["warning_keys"], kind
        if kind != "patients":  # patients living outside the county are meant (R22)
            assert "outside" not in report["warning_keys"], kind
    assert demo["units"]["township"] == 3


def test_every_level_tiles_its_parent(demo):
    # Why SQL: the children's summed area and union area per parent, in PostGIS.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.code, ST_Area(p.geom), coalesce(sum(ST_Area(c.geom)), 0),
                   coalesce(ST_Area(ST_Union(c.geom)), 0)
            FROM gridmap_gridunit p LEFT JOIN gridmap_gridunit c ON c.parent_id = p.id
            WHERE p.level < 5 GROUP BY p.id
            """
        )
        rows = cursor.fetchall()
    assert len(rows) == GridUnit.objects.filter(level__lt=5).count()
    for code, area, summed, united in rows:
        assert summed == pytest.approx(area, rel=0.005), code
        assert united == pytest.approx(area, rel=0.005), code


def test_every_household_lies_in_a_micro_grid(demo):
    assert Household.objects.count() == SMALL["households"]
    assert not Household.objects.filter(micro_grid__isnull=True).exists()
    assert demo["households"] == SMALL["households"]


def test_unit_codes_extend_their_parents_code(demo):
    for code, parent, level in GridUnit.objects.values_list("code", "parent__code", "level"):
        if level == 1:
            assert code == "610727"
        else:
            assert code.startswith(parent) and len(code) == len(parent) + CODE_DIGITS[level]


def test_the_same_seed_writes_identical_files(tmp_path):
    first = demo_county_build(out_dir=tmp_path / "a", seed=7, today=TODAY, **SMALL)
    again = demo_county_build(out_dir=tmp_path / "b", seed=7, today=TODAY, **SMALL)
    other = demo_county_build(out_dir=tmp_path / "c", seed=8, today=TODAY, **SMALL)
    for name in ("units", "households", "staff", "patients", "followups"):
        assert getattr(first, name).read_bytes() == getattr(again, name).read_bytes(), name
        assert getattr(first, name).read_bytes() != getattr(other, name).read_bytes(), name


def test_every_staff_role_has_a_demo_user_with_the_demo_password(demo):
    assert set(StaffAssignment.objects.values_list("role", flat=True)) == set(Role.values)
    users = User.objects.filter(username__in=STAFF_USERNAMES)
    assert users.count() == len(STAFF_USERNAMES)
    assert not users.filter(is_staff=True).exists()
    assert users.first().check_password(DEMO_PASSWORD)
    admin = User.objects.get(username=ADMIN_USERNAME)
    assert admin.is_staff and admin.is_superuser and admin.check_password(DEMO_PASSWORD)


def test_grid_workers_a_and_b_serve_two_grids_of_one_village(demo):
    grid_a, grid_b = (StaffAssignment.objects.get(user__username=u).unit
                      for u in ("grid_worker_a", "grid_worker_b"))
    leader = StaffAssignment.objects.get(user__username="micro_grid_leader").unit
    assert grid_a.level == grid_b.level == 4 and grid_a != grid_b
    assert grid_a.parent_id == grid_b.parent_id
    assert leader.parent_id == grid_a.id


def test_loading_twice_changes_nothing(demo, tmp_path):
    again = demo_county_load(out_dir=tmp_path / "demo", seed=7, today=TODAY, **SMALL)
    assert again["imports"]["grid_units"]["unchanged"] == sum(demo["units"].values())
    assert again["imports"]["households"]["unchanged"] == SMALL["households"]
    for kind in ("patients", "followups"):
        report = again["imports"][kind]
        assert report["created"] == report["updated"] == 0 < report["unchanged"], kind
    assert again["units"] == demo["units"]
    assert again["patients"] == demo["patients"]
