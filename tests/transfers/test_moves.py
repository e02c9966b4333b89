"""R23: residence changes detected from ledger re-imports and the API, by kind.

A grid of two counties whose literal WKT gives every move kind; generated
patients, about 8 % of whom move (including onto shared edges and out of the
stored area); the re-import must open exactly the expected moves.
"""

import random
from datetime import date

import pytest

from cases.patients.models import Patient, Task
from cases.transfers import rules
from cases.transfers.models import Notification, Transfer
from gridmap.models import GridUnit, User
from tests.helpers import run_import
from tests.ledgers import patient, write_table

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def box(x0, y0, x1, y1):
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


# County A: township 1 (villages 1 and 2), township 2; county B next to it.
MOVE_GRID = [
    ("610727", "县A", 1, "", box(106.0, 33.0, 106.4, 33.2)),
    ("610727001", "镇1", 2, "610727", box(106.0, 33.0, 106.2, 33.2)),
    ("610727001001", "村1", 3, "610727001", box(106.0, 33.0, 106.1, 33.2)),
    ("61072700100101", "网格1", 4, "610727001001", box(106.0, 33.0, 106.1, 33.1)),
    ("6107270010010101", "微1", 5, "61072700100101", box(106.0, 33.0, 106.05, 33.1)),
    ("6107270010010102", "微2", 5, "61072700100101", box(106.05, 33.0, 106.1, 33.1)),
    ("61072700100102", "网格2", 4, "610727001001", box(106.0, 33.1, 106.1, 33.2)),
    ("6107270010010201", "微3", 5, "61072700100102", box(106.0, 33.1, 106.1, 33.2)),
    ("610727001002", "村2", 3, "610727001", box(106.1, 33.0, 106.2, 33.2)),
    ("61072700100201", "网格3", 4, "610727001002", box(106.1, 33.0, 106.2, 33.2)),
    ("6107270010020101", "微4", 5, "61072700100201", box(106.1, 33.0, 106.2, 33.2)),
    ("610727002", "镇2", 2, "610727", box(106.2, 33.0, 106.4, 33.2)),
    ("610727002001", "村3", 3, "610727002", box(106.2, 33.0, 106.4, 33.2)),
    ("61072700200101", "网格4", 4, "610727002001", box(106.2, 33.0, 106.4, 33.2)),
    ("6107270020010101", "微5", 5, "61072700200101", box(106.2, 33.0, 106.4, 33.2)),
    ("610728", "县B", 1, "", box(106.4, 33.0, 106.6, 33.2)),
    ("610728001", "镇3", 2, "610728", box(106.4, 33.0, 106.6, 33.2)),
    ("610728001001", "村4", 3, "610728001", box(106.4, 33.0, 106.6, 33.2)),
    ("61072800100101", "网格5", 4, "610728001001", box(106.4, 33.0, 106.6, 33.2)),
    ("6107280010010101", "微6", 5, "61072800100101", box(106.4, 33.0, 106.6, 33.2)),
]
MICRO = {code: wkt for code, _, level, _, wkt in MOVE_GRID if level == 5}
# Shared edges and corners, with the unit R0 gives them (lowest code).
EDGES = [
    ((106.05, 33.05), "6107270010010101"),  # micro 1 | micro 2
    ((106.05, 33.1), "6107270010010101"),  # corner of micro 1, 2, 3
    ((106.1, 33.05), "6107270010010102"),  # micro 2 | micro 4 (two villages)
    ((106.2, 33.1), "6107270010020101"),  # micro 4 | micro 5 (two townships)
    ((106.4, 33.1), "6107270020010101"),  # micro 5 | micro 6 (two counties)
]
OUTSIDE = (108.5, 34.2)


def interior(rng, code):
    from shapely import from_wkt

    x0, y0, x1, y1 = from_wkt(MICRO[code]).bounds
    return round(rng.uniform(x0 + 0.005, x1 - 0.005), 6), round(rng.uniform(y0 + 0.005, y1 - 0.005), 6)


def chain(code):
    """The five placement ids of a micro-grid code, or None for no unit."""
    if code is None:
        return (None,) * 5
    unit = GridUnit.objects.get(code=code)
    return tuple(unit.ancestor_id(level) for level in range(1, 6))


@pytest.fixture
def move_grid(db, write_units):
    from config.importers import grid_units_import

    report = grid_units_import(path=write_units(MOVE_GRID))
    assert report.ok, report.errors


def ledger(tmp_path, homes, name):
    rows = [patient(f"P{i:03d}", residence_lon=str(x), residence_lat=str(y),
                    residence_address=f"地址{i}-{name}") for i, (x, y) in enumerate(homes)]
    return write_table(tmp_path / f"{name}.csv", rows)


def test_R23_a_reimport_opens_exactly_the_expected_moves_and_nothing_else(move_grid, tmp_path):
    rng = random.Random(7)
    codes = sorted(MICRO)
    homes, where = [], []
    for i in range(200):
        if i % 25 == 0:
            point, code = EDGES[(i // 25) % len(EDGES)]
        else:
            code = codes[i % len(codes)]
            point = interior(rng, code)
        homes.append(point)
        where.append(code)
    ok, text = run_import("function", "import_patients", ledger(tmp_path, homes, "before"), as_of=AS_OF)
    assert ok, text
    assert dict(Patient.objects.values_list("patient_no", "micro_grid__code")) == {
        f"P{i:03d}": code for i, code in enumerate(where)}

    # 16 movers (8 %): every kind, onto shared edges and out of the stored area.
    targets = [(interior(rng, c), c) for c in codes] + EDGES + [(OUTSIDE, None)] * 3
    movers = rng.sample(range(200), 16)
    moved_homes, expected = list(homes), set()
    for k, i in enumerate(movers):
        point, code = targets[k % len(targets)]
        moved_homes[i] = point
        kind = rules.move_kind(chain(where[i]), chain(code))
        if kind is not None:
            expected.add((f"P{i:03d}", kind, where[i], code))
    kinds = {kind for _, kind, _, _ in expected}
    assert kinds == set(rules.MoveKind.values), kinds  # the sample covers every kind

    ok, text = run_import("function", "import_patients", ledger(tmp_path, moved_homes, "after"), as_of=AS_OF)
    assert ok, text
    opened = set(Transfer.objects.values_list("patient__patient_no", "kind", "from_unit__code",
                                              "to_unit__code"))
    assert opened == expected

    # Handoffs re-home at once; transfers and outflows stay with the origin (R25).
    for no, kind, origin, destination in expected:
        p = Patient.objects.get(patient_no=no)
        assert p.micro_grid.code == (destination if kind in rules.HANDOFF_KINDS else origin)

    # Importing the same moved ledger again opens nothing (R23).
    ok, text = run_import("function", "import_patients", ledger(tmp_path, moved_homes, "after"), as_of=AS_OF)
    assert ok, text
    assert Transfer.objects.count() == len(expected)


def test_R23_a_reimport_that_moves_nobody_opens_nothing(move_grid, tmp_path):
    homes = [EDGES[0][0], interior(random.Random(1), "6107270010010102")]
    run_import("function", "import_patients", ledger(tmp_path, homes, "a"), as_of=AS_OF)
    # Same points, new addresses: no move.
    ok, _ = run_import("function", "import_patients", ledger(tmp_path, homes, "b"), as_of=AS_OF)
    assert ok and not Transfer.objects.exists()


def test_R25_a_transfer_keeps_the_patient_with_the_origin_and_opens_phone_follow_ups(move_grid, tmp_path):
    run_import("function", "import_patients", ledger(tmp_path, [EDGES[0][0]], "a"), as_of=AS_OF)
    run_import("function", "import_patients", ledger(tmp_path, [(106.3, 33.1)], "b"), as_of=AS_OF)
    transfer = Transfer.objects.get()
    assert (transfer.kind, transfer.state) == ("township", "detected")
    p = Patient.objects.get()
    assert p.micro_grid.code == "6107270010010101" and p.residence_address == "地址0-a"
    assert transfer.to_address == "地址0-b" and transfer.to_point.x == pytest.approx(106.3)
    assert Task.objects.get(patient=p, kind="phone_follow_up").unit == transfer.from_unit
    assert transfer.report_by is not None


def test_R23_moving_back_cancels_the_open_transfer(move_grid, tmp_path):
    home = [(106.02, 33.05)]
    run_import("function", "import_patients", ledger(tmp_path, home, "a"), as_of=AS_OF)
    run_import("function", "import_patients", ledger(tmp_path, [(106.5, 33.1)], "b"), as_of=AS_OF)
    run_import("function", "import_patients", ledger(tmp_path, home, "c"), as_of=AS_OF)
    transfer = Transfer.objects.get()
    assert transfer.state == "cancelled" and "back" in transfer.resolution
    assert not Task.objects.filter(kind="phone_follow_up", closed_on__isnull=True).exists()


def test_R23_a_handoff_notifies_both_grid_workers(move_grid, tmp_path):
    staff = write_table(tmp_path / "staff.csv", [
        {"username": "g1", "name": "甲", "role": "网格员", "unit_code": "61072700100101"},
        {"username": "g2", "name": "乙", "role": "网格员", "unit_code": "61072700100102"},
        {"username": "g3", "name": "丙", "role": "网格员", "unit_code": "61072700100201"},
    ])
    assert run_import("function", "import_staff", staff)[0]
    run_import("function", "import_patients", ledger(tmp_path, [(106.02, 33.05)], "a"), as_of=AS_OF)
    run_import("function", "import_patients", ledger(tmp_path, [(106.05, 33.15)], "b"), as_of=AS_OF)
    assert Transfer.objects.get().kind == "grid"
    told = set(Notification.objects.values_list("user__username", flat=True))
    assert told == {"g1", "g2"}


def test_R23_the_api_detects_moves_the_same_way(move_grid, tmp_path):
    from rest_framework.test import APIClient

    run_import("function", "import_patients", ledger(tmp_path, [(106.02, 33.05)], "a"), as_of=AS_OF)
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root", password="x-12345678"))
    p = Patient.objects.get()
    response = client.patch(f"/api/patients/{p.pk}/", {"lon": 106.15, "lat": 33.1,
                                                         "residence_address": "新村"}, format="json")
    assert response.status_code == 200, response.json()
    transfer = Transfer.objects.get()
    assert (transfer.kind, transfer.source, transfer.to_unit.code) == ("village", "api", "6107270010020101")
    p.refresh_from_db()
    assert p.micro_grid.code == "6107270010010101" and p.residence_address == "地址0-a"
    # The same move sent twice opens nothing more.
    client.patch(f"/api/patients/{p.pk}/", {"lon": 106.16, "lat": 33.12}, format="json")
    assert Transfer.objects.count() == 1


def test_R23_a_patient_living_outside_who_is_still_outside_has_not_moved(move_grid, tmp_path):
    rows = lambda name: [patient("P001", residence_lon="108.5", residence_lat="34.2",  # noqa: E731
                                 registration_code="610727001001", residence_address=f"外地{name}")]
    run_import("function", "import_patients", write_table(tmp_path / "a.csv", rows("a")), as_of=AS_OF)
    ok, text = run_import("function", "import_patients", write_table(tmp_path / "b.csv", rows("b")),
                          as_of=AS_OF)
    assert ok and not Transfer.objects.exists()
    assert Patient.objects.get().outside


def test_a_reimported_ledger_does_not_undo_newer_follow_ups(move_grid, tmp_path):
    from tests.ledgers import followup

    home = [(106.02, 33.05)]
    run_import("function", "import_patients", ledger(tmp_path, home, "a"), as_of=AS_OF)  # risk 0, 2026-01-10
    rows = [followup("P000", "2026-05-01", risk_level="3", condition="不稳定")]
    run_import("function", "import_followups", write_table(tmp_path / "f.csv", rows), as_of=AS_OF)
    run_import("function", "import_patients", ledger(tmp_path, home, "a"), as_of=AS_OF)
    p = Patient.objects.get()
    assert (p.risk_level, p.risk_assessed_on, p.condition) == (3, date(2026, 5, 1), "不稳定")


def test_R25_a_pending_transfer_keeps_the_old_household_and_acceptance_takes_the_new(move_grid, tmp_path):
    from django.contrib.gis.geos import Point

    from cases.transfers import services as transfers
    from gridmap.models import Household

    old = Household.objects.create(code="H-old", address="旧址", geom=Point(106.02, 33.05, srid=4326))
    new = Household.objects.create(code="H-new", address="新址", geom=Point(106.3, 33.1, srid=4326))
    for name, code in (("a", "H-old"), ("b", "H-new")):
        rows = [patient("P001", residence_lon="", residence_lat="", household_code=code)]
        assert run_import("function", "import_patients", write_table(tmp_path / f"{name}.csv", rows),
                          as_of=AS_OF)[0]
    transfer = Transfer.objects.get()
    assert Patient.objects.get().household == old and transfer.to_household == new
    root = User.objects.create_superuser("root", password="x-12345678")
    transfers.transfer_report(user=root, transfer=transfer)
    transfers.transfer_exchange(user=root, transfer=transfer)
    transfers.transfer_accept(user=root, transfer=transfer)
    assert Patient.objects.get().household == new


def test_R15_R25_acceptance_recounts_the_households_left_and_joined(move_grid, tmp_path):
    """A patient accepted into a household with another active patient makes both weak
    guardianship (two active patients in one household); the household left no longer is."""
    from django.contrib.gis.geos import Point

    from cases.transfers import services as transfers
    from gridmap.models import Household

    Household.objects.create(code="H-old", address="旧址", geom=Point(106.02, 33.05, srid=4326))
    Household.objects.create(code="H-new", address="新址", geom=Point(106.3, 33.1, srid=4326))

    def import_ledger(name, mover_home):
        rows = [patient("P001", residence_lon="", residence_lat="", household_code=mover_home),
                patient("P002", residence_lon="", residence_lat="", household_code="H-old"),
                patient("P003", residence_lon="", residence_lat="", household_code="H-new")]
        assert run_import("function", "import_patients", write_table(tmp_path / f"{name}.csv", rows),
                          as_of=AS_OF)[0]

    def weak():
        return set(Patient.objects.filter(key_groups__contains=["weak_guardian"])
                   .values_list("patient_no", flat=True))

    import_ledger("a", "H-old")
    assert weak() == {"P001", "P002"}  # two active patients in H-old
    import_ledger("b", "H-new")  # P001 moves to another township: a transfer, still in H-old
    assert weak() == {"P001", "P002"}
    transfer = Transfer.objects.get(state__in=Transfer.OPEN_STATES)
    root = User.objects.create_superuser("root", password="x-12345678")
    transfers.transfer_report(user=root, transfer=transfer)
    transfers.transfer_exchange(user=root, transfer=transfer)
    transfers.transfer_accept(user=root, transfer=transfer, now=None)
    assert weak() == {"P001", "P003"}  # at once, without waiting for the nightly run
