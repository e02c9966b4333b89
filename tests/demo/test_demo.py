"""The demo county (geodata/demo.py), built small and loaded through the real importers,
with its moves, transfers, alerts and event reports (geodata/demo_moves.py) and its
screening campaigns and visits (geodata/demo_screening.py).

The load takes seconds, so it runs once per module, in a transaction rolled
back at the end; each test runs in a savepoint inside it (pytest-django's db).
"""

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from cases.patients.models import EventReport, Task
from cases.screening import selectors as coverage
from cases.screening.importers import VISIT_COLUMNS
from cases.screening.models import Campaign, SuspectedCase, Visit
from cases.transfers import letters, selectors
from cases.transfers.models import Alert, Notification, Transfer
from cases.transfers.rules import MoveKind
from demo.county import (
    ADMIN_USERNAME,
    DEMO_PASSWORD,
    STAFF_USERNAMES,
    demo_county_build,
    demo_county_load,
)
from demo.patients import PATIENT_PREFIX
from geodata.readers import read_table
from gridmap.calendar import local_zone
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
    for name in ("units", "households", "staff", "patients", "followups", "visits"):
        assert getattr(first, name).read_bytes() == getattr(again, name).read_bytes(), name
        assert getattr(first, name).read_bytes() != getattr(other, name).read_bytes(), name
    assert first.campaigns.read_bytes() == again.campaigns.read_bytes()  # by unit codes and periods


def test_every_staff_role_has_a_demo_user_with_the_demo_password(demo):
    assert set(StaffAssignment.objects.values_list("role", flat=True)) == set(Role.values)
    users = User.objects.filter(username__in=STAFF_USERNAMES)
    assert users.count() == len(STAFF_USERNAMES)
    assert not users.filter(is_staff=True).exists()
    assert users.first().check_password(DEMO_PASSWORD)
    admin = User.objects.get(username=ADMIN_USERNAME)
    assert admin.is_staff and admin.is_superuser and admin.check_password(DEMO_PASSWORD)


def test_the_demo_admin_and_county_office_have_an_authenticator_that_demo_code_stands_in_for(demo):
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from demo.county import DEMO_DEVICE
    from gridmap.security import needs_second_factor

    devices = TOTPDevice.objects.filter(name=DEMO_DEVICE, confirmed=True).select_related("user")
    holders = {d.user.username for d in devices}
    assert ADMIN_USERNAME in holders
    assert holders == {u.username for u in User.objects.all() if needs_second_factor(u)}
    county = StaffAssignment.objects.get(role=Role.COUNTY_OFFICE).user.username
    out = StringIO()
    call_command("demo_code", county, stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    assert TOTPDevice.objects.get(user__username=county, name=DEMO_DEVICE).verify_token(code)
    with pytest.raises(CommandError):
        call_command("demo_code", "grid_worker_a", stdout=StringIO())  # needs none; has none


def test_grid_workers_a_and_b_serve_two_grids_of_one_village(demo):
    grid_a, grid_b = (StaffAssignment.objects.get(user__username=u).unit
                      for u in ("grid_worker_a", "grid_worker_b"))
    leader = StaffAssignment.objects.get(user__username="micro_grid_leader").unit
    assert grid_a.level == grid_b.level == 4 and grid_a != grid_b
    assert grid_a.parent_id == grid_b.parent_id
    assert leader.parent_id == grid_a.id


def counts() -> dict:
    return {model.__name__: model.objects.count()
            for model in (Transfer, Alert, EventReport, Notification, Task, Campaign, Visit, SuspectedCase)}


def same_moves(summary: dict) -> dict:
    """The demo's moves summary without what only the run that made them reports."""
    return {key: value for key, value in summary["moves"].items() if key not in ("ledger", "import")}


def test_loading_twice_changes_nothing(demo, tmp_path):
    before = counts()
    again = demo_county_load(out_dir=tmp_path / "demo", seed=7, today=TODAY, **SMALL)
    assert counts() == before  # no second set of moves, no transfer cancelled by the base ledger
    assert same_moves(again) == same_moves(demo) and "ledger" not in again["moves"]
    assert again["imports"]["grid_units"]["unchanged"] == sum(demo["units"].values())
    assert again["imports"]["households"]["unchanged"] == SMALL["households"]
    for kind in ("patients", "followups", "campaigns", "screening"):
        report = again["imports"][kind]
        assert report["created"] == report["updated"] == 0 < report["unchanged"], kind
    assert again["imports"]["screening"]["stats"]["suspected_cases_opened"] == 0
    assert again["units"] == demo["units"]
    assert again["patients"] == demo["patients"]
    assert {**again["screening"], "opened": None} == {**demo["screening"], "opened": None}
    assert again["screening"]["opened"] == again["screening"]["pruned"] == 0


# --- moves, transfers, alerts and event reports (geodata/demo_moves.py) ---------------------


def demo_transfers():
    return Transfer.objects.filter(patient__patient_no__startswith=PATIENT_PREFIX)


def staff_unit(username: str) -> GridUnit:
    return StaffAssignment.objects.get(user__username=username).unit


def test_the_moved_ledger_re_import_detects_every_move_kind_but_county_R23(demo):
    # One county in the demo: a move to another county cannot happen.
    kinds = set(demo_transfers().filter(source="import").values_list("kind", flat=True))
    assert kinds == set(MoveKind.values) - {"county"}
    assert demo["moves"]["moves"] == demo["moves"]["import"]["stats"]["moves"]


def test_every_transfer_state_shows(demo):
    assert set(demo_transfers().values_list("state", flat=True)) == set(Transfer.State.values)
    escalated = demo_transfers().get(state="escalated")
    assert escalated.escalated_to == "county" and escalated.dispute_explanation  # R26


def test_missed_deadlines_became_alerts_and_running_ones_did_not_R24_R28(demo):
    assert set(Alert.objects.filter(cleared_at__isnull=True).values_list("kind", flat=True)) == set(
        Alert.Kind.values)
    now = timezone.now()
    fresh = demo_transfers().filter(state="detected", report_by__gt=now)
    counting = demo_transfers().filter(state="exchanged", accept_by__gt=now)
    assert fresh.exists() and counting.exists()
    assert not Alert.objects.filter(transfer__in=[*fresh, *counting]).exists()


def test_an_outflow_to_another_province_needs_a_letter_one_within_shaanxi_does_not_R26(demo):
    needs = [letters.needs_letter(t) for t in demo_transfers().filter(kind="outside", state="outflow")]
    assert ("510000", "四川省") in needs and None in needs
    assert demo["moves"]["letters"] >= 1


def test_grid_workers_a_and_b_are_told_of_the_handoffs_between_their_grids_R23(demo):
    grid_a, grid_b = staff_unit("grid_worker_a"), staff_unit("grid_worker_b")
    handoffs = demo_transfers().filter(state="handed_over")
    assert handoffs.filter(from_unit__grid=grid_a, to_unit__grid=grid_b).exists()
    assert handoffs.filter(from_unit__grid=grid_b, to_unit__grid=grid_a).exists()
    for username in ("grid_worker_a", "grid_worker_b"):
        assert Notification.objects.filter(user__username=username, key__startswith="handoff:").exists()


def test_the_township_office_has_an_inbox_from_and_an_outbox_to_other_townships(demo):
    user = User.objects.get(username="township_office")
    township = staff_unit("township_office")
    inbox = selectors.transfers_for(user, box="inbox").exclude(from_unit__township=township)
    outbox = selectors.transfers_for(user, box="outbox").exclude(to_unit__township=township)
    assert {"exchanged", "accepted", "disputed"} <= set(inbox.values_list("state", flat=True))
    assert {"detected", "reported", "cancelled", "outflow"} <= set(outbox.values_list("state", flat=True))
    assert selectors.open_alerts_for(user).exists()


def test_event_reports_on_time_late_unreported_and_likely_to_leave_R27_R28(demo):
    events = list(EventReport.objects.filter(patient__patient_no__startswith=PATIENT_PREFIX))
    assert any(e.reported_at is not None and not e.late for e in events)
    assert any(e.late for e in events)
    unreported = [e for e in events if e.reported_at is None and e.due_by < timezone.now()]
    assert unreported and Alert.objects.filter(event_report__in=unreported, kind="event_overdue").exists()
    assert any(e.kind == "likely_to_leave" and e.due_by - e.discovered_at == timedelta(hours=24)
               for e in events)


def test_reset_deletes_the_moves_and_the_same_seed_makes_the_same_ones(demo, tmp_path):
    before, old = counts(), set(demo_transfers().values_list("id", flat=True))
    again = demo_county_load(out_dir=tmp_path / "demo", seed=7, today=TODAY, reset=True, **SMALL)
    assert counts() == before and not old & set(demo_transfers().values_list("id", flat=True))
    assert same_moves(again) == same_moves(demo)
    assert Path(again["moves"]["ledger"]).read_bytes() == Path(demo["moves"]["ledger"]).read_bytes()


# --- screening campaigns and visits (geodata/demo_screening.py) -------------------------------


def staff_campaign(kind: str) -> Campaign:
    """The staff township's (or for quarterly ones the staff village's) campaign running on TODAY."""
    unit = staff_unit("village_doctor" if kind == "village_quarterly" else "township_office")
    return Campaign.objects.get(kind=kind, scope=unit, starts_on__lte=TODAY, ends_on__gte=TODAY)


def test_every_campaign_kind_is_present_with_the_staff_township_s_current_ones_R30(demo):
    assert set(Campaign.objects.values_list("kind", flat=True)) == set(Campaign.Kind.values)
    assert demo["screening"]["kinds"].keys() == set(Campaign.Kind.values)
    for kind in ("township_half_yearly", "annual_full", "village_quarterly"):
        assert staff_campaign(kind).visits.exists(), kind
    special = Campaign.objects.get(kind="special")
    assert special.ends_on < TODAY - timedelta(days=30) and special.visits.exists()
    assert Campaign.objects.exclude(scope__township=staff_unit("township_office")).exists()


def test_the_staff_township_s_half_yearly_grids_show_all_four_colours_R31(demo):
    campaign = staff_campaign("township_half_yearly")
    grids = coverage.coverage_at_level(campaign, 4)
    assert {grid.colour for grid in grids} == {"green", "orange", "red", "yellow"}
    colour = {grid.unit.code: grid.colour for grid in grids}
    assert colour[staff_unit("grid_worker_a").code] == "green"
    assert colour[staff_unit("grid_worker_b").code] == "orange"
    township = coverage.coverage_at_level(campaign, 2)[0]
    assert demo["screening"]["featured"] == {"code": campaign.code, "name": campaign.name,
                                             "unit": township.unit.name, "share": township.share}
    screened = campaign.visits.filter(screened=True).values("household").distinct().count()
    assert township.screened == screened < campaign.visits.count()  # repeat visits count once


def test_visits_outside_the_window_nobody_home_or_off_site_are_kept_and_flagged_R31_R32(demo):
    campaign = staff_campaign("township_half_yearly")
    early = [v for v in campaign.visits.all() if v.visited_at.astimezone(local_zone()).date() < campaign.starts_on]
    assert early and not any(v.screened for v in early)
    assert campaign.visits.filter(result="无人在家").exists()
    assert not campaign.visits.filter(result="无人在家", screened=True).exists()
    far = Visit.objects.filter(on_site=False)
    assert far.exists() and far.filter(screened=True).exists()  # R32 flags, R31 still counts
    assert not far.filter(distance_m__lte=200).exists()
    assert not Visit.objects.filter(on_site=True, distance_m__gt=120.5).exists()
    assert Visit.objects.filter(geom__isnull=True, on_site__isnull=True).exists()
    by = dict(campaign.visits.filter(household__grid=staff_unit("grid_worker_b"))
              .values_list("worker__username").annotate(n=Count("id")))
    assert set(by) == {"grid_worker_b"}
    times = [v.astimezone(local_zone()).time() for v in Visit.objects.values_list("visited_at", flat=True)]
    assert all(time(8, 30) <= t <= time(11, 50) or time(14, 0) <= t <= time(17, 50) for t in times)
    assert demo["screening"]["visits"]["outside_window"] >= len(early)


def test_suspected_cases_are_recent_but_one_is_overdue_R33(demo):
    cases = SuspectedCase.objects.select_related("visit__campaign", "visit__worker")
    start = datetime.combine(TODAY, time.min, tzinfo=local_zone())
    overdue = [c for c in cases if c.diagnose_by < start]
    assert len(overdue) == 1 and overdue[0].visit.campaign.kind == "special"
    recent = [c for c in cases if c.diagnose_by >= start]
    assert len(recent) >= 3 and all(TODAY - c.found_at.astimezone(local_zone()).date() <= timedelta(days=7)
                                    for c in recent)
    assert "grid_worker_a" in {c.visit.worker.username for c in recent if c.visit.worker}
    assert demo["screening"]["suspected"] == len(cases) and demo["screening"]["overdue"] == 1


def test_townships_and_villages_without_their_campaign_are_cadence_gaps_R30(demo):
    gaps = coverage.cadence_gaps(as_of=TODAY)
    assert len(gaps) == demo["screening"]["cadence_gaps"] > 0
    township = staff_unit("township_office")
    assert not [g for g in gaps if g[0] == township]
    assert {kind for unit, kind, *_ in gaps if unit.level == 2} == {"township_half_yearly", "annual_full"}
    assert [g for g in gaps if g[0].level == 3 and g[0].township_id == township.id]


def test_a_load_on_a_later_day_replaces_the_generated_visits(demo, tmp_path):
    before = staff_campaign("township_half_yearly")
    later = demo_county_load(out_dir=tmp_path / "later", seed=7, today=TODAY + timedelta(days=7), **SMALL)
    rows = read_table(Path(later["files"]["visits"]))
    codes = set(rows[VISIT_COLUMNS["campaign_code"]])
    assert Visit.objects.filter(campaign__code__in=codes).count() == len(rows)
    assert later["screening"]["pruned"] > 0  # the year's campaign, drawn up to another day
    assert Campaign.objects.filter(pk=before.pk).exists() and before.visits.exists()  # last half-year's
