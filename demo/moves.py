"""Moves, handoffs, transfers, outflows, alerts and event reports for the demo county
(geodata/demo.py), all produced through the real paths.

After the demo patients are loaded, `demo_moves_load` writes a second ledger,
patients_moved.csv (formats.md §3, the base ledger with about MOVED_SHARE of the
patients living elsewhere), and imports it with the real importer, whose
re-import detects the moves (R23, cases.transfers.moves_detect_staged and
moves_apply_staged). It then takes the transfers through the state machine with
the services of cases.transfers, records a few event reports (R27, R28) and runs
the sweep, so missed deadlines become alerts.

What the demo staff see (西淮坝镇, its seat village, grids A and B): handoffs
within and between grids A and B; transfers out of the township and into it, one
in each state; an outflow to Chengdu (another province: a drafted letter, R26)
and one to Hanzhong (Shaanxi: no letter). More moves of every kind happen in the
other townships. No `county` move: the demo has one county.

The timeline ends at the wall clock, not at the demo's `today`: the importer
stamps detection with the database's now(), and event reports, disputes,
escalations, resolutions and cancellations with timezone.now(). Each transfer's
detection is then set back a few hours or days (as if the moves had come in over
the past days) before the services take their steps with `now=` in between.

Idempotent: the moves are made once. A later load re-imports the base ledger
without the patients that have a transfer (it would move them back, or cancel
their transfers) and skips this step; --reset deletes it all with the patients.
Deterministic: a Generator seeded with (seed, 3) picks the patients, places and plans.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from django.db.models import Q
from django.utils import timezone

from cases.patients import services as cases_services
from cases.patients.importers import PATIENT_COLUMNS
from cases.patients.models import EventReport, LostSearch, Patient, Task, TeamOverride
from cases.transfers import letters, rules
from cases.transfers import services as transfers
from cases.transfers.models import Alert, Notification, Transfer
from cases.transfers.rules import MoveKind
from config.importers import patients_import
from demo.patients import PATIENT_PREFIX
from geodata.readers import read_table
from gridmap import calendar as deadlines
from gridmap.calendar import add_months
from gridmap.models import GridUnit, Household, StaffAssignment, User
from gridmap.selectors import calendar_overrides

MOVED_SHARE = 0.03
MOVED_LEDGER = "patients_moved.csv"
UNMOVED_LEDGER = "patients_unmoved.csv"
# Key groups a mover should rather not have: moving them would thin the groups the
# demo shows on grids A and B. Lost patients never move (R11 search files follow them).
_GROUP_COST = {"weak_guardian": 1, "other": 1, "floating": 5, "unmanaged": 5, "high_risk": 5,
               "prior_incident": 5}
# Outflow destinations (GCJ-02, outside 略阳县): province 51 and 62 need a letter (R26).
_OUTSIDE = {
    "chengdu": (104.070, 30.570, "四川省成都市武侯区人民南路四段"),
    "hanzhong": (107.030, 33.070, "陕西省汉中市汉台区天汉大道"),
    "xian": (108.940, 34.340, "陕西省西安市雁塔区长安路"),
    "longnan": (104.922, 33.391, "甘肃省陇南市武都区钟楼滩"),
}
# Origins: grid A or B, the staff village, the staff township (all of it, or without
# the staff village), or another township. Destinations: see _destination.
# (kind, origin, destination, plan); every state of a transfer has one.
_STAFF_SLOTS = (
    ("micro_grid", "a", "same_grid", "handed_over"),
    ("micro_grid", "b", "same_grid", "handed_over"),
    ("grid", "a", "grid_b", "handed_over"),  # both grid workers are notified (R23)
    ("grid", "b", "grid_a", "handed_over"),
    ("village", "village", "township_rest", "reported"),
    ("village", "township_rest", "village", "accepted"),
    ("township", "a", "elsewhere", "detected"),  # grid_worker_a reports within 24 h
    ("township", "b", "elsewhere", "detected_late"),  # report_overdue
    ("township", "village", "elsewhere", "reported_late"),  # exchange_overdue
    ("township", "township", "elsewhere", "exchanged_late"),  # accept_overdue, the destination's
    ("township", "township", "elsewhere", "cancelled"),
    ("township", "elsewhere", "village", "exchanged"),  # township_office: accept within 5 days
    ("township", "elsewhere", "village", "accepted"),
    ("township", "elsewhere", "village", "disputed"),
    ("township", "elsewhere", "village", "escalated"),
    ("township", "elsewhere", "village", "resolved"),
    ("outside", "a", "chengdu", "outflow"),  # another province: letter
    ("outside", "village", "hanzhong", "outflow"),  # Shaanxi: no letter
)
# The remaining moves (up to MOVED_SHARE) happen in the other townships, in these shares.
_FILL_SHARES = {"micro_grid": 0.3, "grid": 0.3, "village": 0.3, "outside": 0.1}
_FILL_PLANS = ("accepted", "exchanged", "reported")
# plan: (hours from detection to the moment, steps as (action, hours before the moment)).
# None: hours drawn per move (handoffs, outflows) or from the calendar (exchanged_late).
_PLANS = {
    "handed_over": (None, ()),
    "outflow": (None, ()),
    "detected": (2, ()),
    "detected_late": (30, ()),  # R24: not reported within 24 hours
    "reported": (20, (("report", 4),)),
    "reported_late": (72, (("report", 66),)),  # R24: not exchanged within 24 hours
    "exchanged": (48, (("report", 44), ("exchange", 24))),
    "exchanged_late": (None, ()),
    "accepted": (144, (("report", 140), ("exchange", 120), ("accept", 48))),
    "disputed": (96, (("report", 92), ("exchange", 72), ("dispute", 0))),
    "escalated": (192, (("report", 188), ("exchange", 168), ("dispute", 0), ("escalate", 0))),
    "resolved": (288, (("report", 284), ("exchange", 264), ("dispute", 0), ("escalate", 0),
                       ("resolve", 0))),
    "cancelled": (5, (("cancel", 0),)),
}
_DISPUTE = ("经入户核实，患者仅在新住址亲属家短期居住，户籍和主要生活地仍在原址；"
            "附原住地最近一次危险性评估及村委会证明。")
_RESOLUTION = "经县精防办协调核实，患者已在新住址长期居住，由接收地负责管理。"
_CANCEL = "经核实，患者仅短期外出务工，现已返回原住址。"
# (grid, event, hours since discovery, reported now, note): on time, late (R28: 6 hours),
# not reported and overdue (the sweep alerts), likely to leave (R27: 24 hours), still open.
_EVENTS = (
    ("a", "relapse", 2, True, "家属反映近一周睡眠差、自言自语增多，已请村医上门查看。"),
    ("b", "irregular_medication", 30, True, "入户发现药盒内剩药较多，监护人称近半月未按时服药。"),
    ("a", "lost_contact", 10, False, "电话联系患者及监护人均未接通，邻居称两天未见其出门。"),
    ("b", "likely_to_leave", 5, True, "监护人称患者下月拟随亲属赴成都务工。"),
    ("a", "no_guardian", 1, False, "监护人因病住院，暂无其他家属照看。"),
)


@dataclass(frozen=True)
class _Scope:
    """The demo staff's units (ids) and the users who act in the demo."""

    township: int
    village: int
    grid_a: int
    grid_b: int
    people: dict[str, User]


@dataclass(frozen=True)
class _Candidate:
    id: int
    patient_no: str
    micro_grid: int
    grid: int
    village: int
    township: int
    cost: int


@dataclass(frozen=True)
class _Move:
    patient: _Candidate
    kind: str
    plan: str
    hours: int  # since detection
    household: str = ""  # the new residence: a household code, or a point outside
    address: str = ""
    lonlat: tuple[float, float] | None = None


def demo_patients_with_transfers() -> set[str]:
    """Patient numbers of the demo patients with a transfer (from the demo or the app)."""
    return set(Transfer.objects.filter(patient__patient_no__startswith=PATIENT_PREFIX)
               .values_list("patient__patient_no", flat=True))


def demo_ledger_to_import(ledger: Path) -> Path:
    """The base ledger, or once patients have transfers, a copy without them
    (UNMOVED_LEDGER): their residence follows their transfers now, and the base
    ledger would move them back or cancel their transfers."""
    moved = demo_patients_with_transfers()
    if not moved:
        return ledger
    frame = read_table(ledger)
    path = ledger.with_name(UNMOVED_LEDGER)
    frame[~frame[PATIENT_COLUMNS["patient_no"]].isin(moved)].to_csv(path, index=False, lineterminator="\n")
    return path


def demo_moves_load(*, ledger: Path, seed: int, today: date, source_crs: str, checked) -> dict:
    """Move about MOVED_SHARE of the demo patients (once; see the module docstring).

    `ledger` is the base ledger just imported; `checked` turns the moved ledger's
    ImportReport into a summary or raises (demo.county._checked). Returns
    demo_moves_summary(), with the moved ledger's path and import summary when made now.
    """
    if Transfer.objects.filter(patient__patient_no__startswith=PATIENT_PREFIX,
                               source=Transfer.Source.IMPORT).exists():
        return demo_moves_summary()
    scope = _scope()
    moment = timezone.now()
    rng = np.random.default_rng([seed, 3])
    moves = _plan(scope, rng, today, moment)
    path = _write_moved(ledger, moves, today)
    report = checked(patients_import(path=path, as_of=today, source_crs=source_crs))
    opened = {t.patient.patient_no: t for t in Transfer.objects.filter(
        patient__patient_no__in=[m.patient.patient_no for m in moves]).select_related("patient")}
    for move in moves:
        transfer = opened.get(move.patient.patient_no)
        if transfer is None or transfer.kind != move.kind:
            raise RuntimeError(f"{move.patient.patient_no}: planned a {move.kind} move, the import "
                               f"detected {transfer.kind if transfer else 'none'}")
        _backdate(transfer, moment - timedelta(hours=move.hours))
        _advance(transfer, move.plan, moment, scope)
    _events(scope, rng, moment, exclude={m.patient.id for m in moves})
    transfers.transfers_sweep()
    # Acceptance reclassifies as of the wall clock's day; the demo's day is `today`.
    cases_services.patients_classify(as_of=today, patient_ids=[m.patient.id for m in moves])
    return {**demo_moves_summary(), "ledger": str(path), "import": report}


def _scope() -> _Scope:
    units = dict(StaffAssignment.objects.filter(
        user__username__in=("grid_worker_a", "grid_worker_b", "township_office")
    ).values_list("user__username", "unit_id"))
    people = {u.username: u for u in User.objects.filter(username__in=(
        "grid_worker_a", "grid_worker_b", "township_office", "county_office"))}
    village = GridUnit.objects.get(pk=units["grid_worker_a"]).parent_id
    return _Scope(township=units["township_office"], village=village, grid_a=units["grid_worker_a"],
                  grid_b=units["grid_worker_b"], people=people)


# --- planning -----------------------------------------------------------------------------


def _candidates(today: date) -> list[_Candidate]:
    """Managed demo patients living in a micro-grid who can move without spoiling the rest of
    the demo: no transfer yet, no household or guardian shared with another patient (R15),
    no team override or search file, not lost, not moved in within seven months (R16)."""
    demo = Patient.objects.filter(patient_no__startswith=PATIENT_PREFIX)
    households = Counter(demo.exclude(household=None).values_list("household_id", flat=True))
    guardians = Counter(demo.exclude(guardian=None).values_list("guardian_id", flat=True))
    busy = set(TeamOverride.objects.values_list("patient_id", flat=True))
    busy |= set(LostSearch.objects.values_list("patient_id", flat=True))
    busy |= set(Transfer.objects.values_list("patient_id", flat=True))
    recent = add_months(today, -7)
    rows = demo.filter(status="在管", outside=False, micro_grid__isnull=False).exclude(
        key_groups__contains=["lost"]).exclude(resident_since__gt=recent).order_by("patient_no")
    return [
        _Candidate(pk, no, micro_grid, grid, village, township, sum(_GROUP_COST.get(g, 0) for g in groups))
        for pk, no, micro_grid, grid, village, township, groups, household, guardian in rows.values_list(
            "id", "patient_no", "micro_grid_id", "grid_id", "village_id", "township_id", "key_groups",
            "household_id", "guardian_id")
        if pk not in busy and households[household] < 2 and guardians[guardian] < 2
    ]


def _origin(scope: _Scope, where: str):
    return {
        "a": lambda c: c.grid == scope.grid_a,
        "b": lambda c: c.grid == scope.grid_b,
        "village": lambda c: c.village == scope.village,
        "township": lambda c: c.township == scope.township,
        "township_rest": lambda c: c.township == scope.township and c.village != scope.village,
        "elsewhere": lambda c: c.township != scope.township,
    }[where]


class _Homes:
    """Every household of the county, as arrays, to draw new residences from."""

    def __init__(self):
        rows = list(Household.objects.order_by("code").values_list(
            "code", "address", "micro_grid_id", "grid_id", "village_id", "township_id"))
        columns = list(zip(*rows, strict=True))
        self.code, self.address = np.array(columns[0]), np.array(columns[1])
        self.micro_grid, self.grid, self.village, self.township = (
            np.array(c, dtype=float) for c in columns[2:])

    def mask(self, scope: _Scope, c: _Candidate, where: str) -> np.ndarray:
        """Households where a patient at c may move to for `where` (the move kinds of R23)."""
        return {
            "same_grid": lambda: (self.grid == c.grid) & (self.micro_grid != c.micro_grid),
            "grid_a": lambda: self.grid == scope.grid_a,
            "grid_b": lambda: self.grid == scope.grid_b,
            "same_village": lambda: (self.village == c.village) & (self.grid != c.grid),
            "village": lambda: self.village == scope.village,
            "township_rest": lambda: (self.township == scope.township) & (self.village != scope.village)
            & (self.village != c.village),
            "same_township": lambda: (self.township == c.township) & (self.village != c.village),
            "elsewhere": lambda: (self.township != scope.township) & (self.township != c.township),
        }[where]()


def _plan(scope: _Scope, rng, today: date, moment: datetime) -> list[_Move]:
    """The staff slots, then moves in the other townships up to MOVED_SHARE of the patients."""
    candidates, homes = _candidates(today), _Homes()
    total = round(MOVED_SHARE * Patient.objects.filter(patient_no__startswith=PATIENT_PREFIX).count())
    fill = max(0, total - len(_STAFF_SLOTS))
    counts = {kind: int(fill * share) for kind, share in _FILL_SHARES.items()}
    for kind in list(_FILL_SHARES)[: fill - sum(counts.values())]:
        counts[kind] += 1
    slots = list(_STAFF_SLOTS)
    for kind, n in counts.items():
        for i in range(n):
            to = {"micro_grid": "same_grid", "grid": "same_village", "village": "same_township"}.get(kind)
            plan = "handed_over" if kind in rules.HANDOFF_KINDS else _FILL_PLANS[i % len(_FILL_PLANS)]
            if kind == "outside":
                to, plan = str(rng.choice(list(_OUTSIDE))), "outflow"
            slots.append((kind, "elsewhere", to, plan))
    moves, taken = [], set()
    for kind, origin, to, plan in slots:
        move = _pick(scope, candidates, homes, taken, rng, (kind, origin, to, plan), moment)
        if move is not None:
            taken.add(move.patient.id)
            moves.append(move)
    return moves


def _pick(scope: _Scope, candidates: list[_Candidate], homes: _Homes, taken: set, rng, slot,
          moment: datetime) -> _Move | None:
    """The cheapest candidate at the slot's origin with somewhere to go (None if nobody)."""
    kind, origin, to, plan = slot
    pool = [c for c in candidates if c.id not in taken and _origin(scope, origin)(c)]
    order = rng.permutation(len(pool))
    hours = _hours(plan, rng, moment)
    for i in sorted(order, key=lambda i: pool[i].cost):
        c = pool[i]
        if kind == "outside":
            lon, lat, street = _OUTSIDE[to]
            point = (lon + rng.uniform(-0.005, 0.005), lat + rng.uniform(-0.005, 0.005))
            return _Move(c, kind, plan, hours, address=f"{street}{rng.integers(1, 300)}号", lonlat=point)
        where = np.flatnonzero(homes.mask(scope, c, to))
        if len(where):
            j = where[rng.integers(len(where))]
            return _Move(c, kind, plan, hours, household=str(homes.code[j]),
                         address=str(homes.address[j]))
    return None


def _hours(plan: str, rng, moment: datetime) -> int:
    """Hours from a move's detection to the moment."""
    hours = _PLANS[plan][0]
    if hours is not None:
        return hours
    if plan == "exchanged_late":
        return _late_exchange(moment) + 20
    return int(rng.integers(6, 240))


def _late_exchange(moment: datetime) -> int:
    """Hours since an exchange whose five working days (R24) ran out over a day ago,
    whatever holidays the calendar holds."""
    overrides, limits = calendar_overrides(), deadlines.deadlines()
    days = 7
    while deadlines.working_day_deadline(moment - timedelta(days=days), limits.accept_working_days,
                                        overrides)[0] \
            > moment - timedelta(days=1):
        days += 1
    return 24 * days


def _write_moved(ledger: Path, moves: list[_Move], today: date) -> Path:
    """The base ledger with the movers' new residence: a household code, or a point (GCJ-02)
    for a residence outside the county; living there since the move."""
    frame = read_table(ledger)
    col = PATIENT_COLUMNS
    rows = {no: i for i, no in enumerate(frame[col["patient_no"]])}
    fields = [col[c] for c in ("residence_address", "household_code", "residence_lon", "residence_lat",
                               "resident_since")]
    for move in moves:
        lon, lat = (f"{v:.7f}" for v in move.lonlat) if move.lonlat else ("", "")
        since = today - timedelta(days=move.hours // 24)
        frame.loc[rows[move.patient.patient_no], fields] = [move.address, move.household, lon, lat,
                                                             since.isoformat()]
    path = ledger.with_name(MOVED_LEDGER)
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


# --- after the import ---------------------------------------------------------------------


def _backdate(transfer: Transfer, detected_at: datetime) -> None:
    """Set a detection back to when the demo says it happened; its R24 report deadline,
    a handoff's completion, the telephone task and the notifications go with it.

    The importer stamps the database's now() (no `now=`), and a step taken in the past
    must follow its detection."""
    changes = {"detected_at": detected_at}
    if transfer.state == Transfer.State.DETECTED:
        # R24: the report deadline counts from the detection.
        changes["report_by"] = deadlines.hours_deadline(detected_at, deadlines.deadlines().report_hours)
    if transfer.state == Transfer.State.HANDED_OVER:
        changes["accepted_at"] = changes["closed_at"] = detected_at
    Transfer.objects.filter(pk=transfer.pk).update(**changes)
    Task.objects.filter(patient_id=transfer.patient_id, kind=Task.Kind.PHONE_FOLLOW_UP,
                        closed_on__isnull=True).update(opened_on=deadlines.local_date(detected_at))
    Notification.objects.filter(transfer=transfer).update(created_at=detected_at)
    transfer.refresh_from_db()


def _team(scope: _Scope, transfer: Transfer) -> User:
    """Someone of the origin's team: the grid worker on grids A and B, else the township office."""
    unit = transfer.from_unit
    names = {scope.grid_a: "grid_worker_a", scope.grid_b: "grid_worker_b"}
    return scope.people[names.get(unit.grid_id) or _office_name(scope, unit)]


def _office(scope: _Scope, unit) -> User:
    return scope.people[_office_name(scope, unit)]


def _office_name(scope: _Scope, unit) -> str:
    """The township group of a unit: township_office in 西淮坝镇; elsewhere the demo has no
    township office, and county_office (a TOWNSHIP_GROUP role over the county) stands in."""
    return "township_office" if unit.township_id == scope.township else "county_office"


def _advance(transfer: Transfer, plan: str, moment: datetime, scope: _Scope) -> None:
    """Take the plan's steps with the services, each with its `now=` where the service takes one."""
    steps = _PLANS[plan][1]
    if plan == "exchanged_late":
        exchange = _late_exchange(moment)
        steps = (("report", exchange + 16), ("exchange", exchange))
    for action, hours in steps:
        now = moment - timedelta(hours=hours)
        if action == "report":
            transfers.transfer_report(user=_team(scope, transfer), transfer=transfer, now=now)
        elif action == "exchange":
            transfers.transfer_exchange(user=_office(scope, transfer.from_unit), transfer=transfer, now=now)
        elif action == "accept":
            transfers.transfer_accept(user=_office(scope, transfer.to_unit), transfer=transfer, now=now)
        elif action == "dispute":
            transfers.transfer_dispute(user=_office(scope, transfer.to_unit), transfer=transfer,
                                       explanation=_DISPUTE)
        elif action == "escalate":
            transfers.transfer_escalate(user=_office(scope, transfer.to_unit), transfer=transfer)
        elif action == "resolve":
            transfers.transfer_resolve(user=scope.people["county_office"], transfer=transfer, accept=True,
                                       resolution=_RESOLUTION)
        elif action == "cancel":
            transfers.transfer_cancel(user=_office(scope, transfer.from_unit), transfer=transfer,
                                      reason=_CANCEL)


def _events(scope: _Scope, rng, moment: datetime, exclude: set[int]) -> None:
    """R27/R28 event reports on grids A and B, recorded by their grid workers."""
    used = set(exclude)
    for grid, kind, hours, reported, note in _EVENTS:
        unit = scope.grid_a if grid == "a" else scope.grid_b
        pool = list(Patient.objects.filter(grid_id=unit, status="在管").exclude(id__in=used)
                    .order_by("patient_no"))
        if not pool:
            continue
        patient = pool[rng.integers(len(pool))]
        used.add(patient.id)
        cases_services.event_report_record(
            user=scope.people[f"grid_worker_{grid}"], patient=patient, kind=kind,
            discovered_at=moment - timedelta(hours=hours), note=note, reported=reported)


# --- reading and clearing -----------------------------------------------------------------


def _demo_transfers():
    return Transfer.objects.filter(patient__patient_no__startswith=PATIENT_PREFIX)


def demo_moves_summary() -> dict:
    """Counts of the demo's moves (by kind), transfers (by state), open alerts (by kind),
    event reports, handoff notifications and outflows that need a letter (R26)."""
    demo = _demo_transfers()
    kinds = Counter(demo.filter(source=Transfer.Source.IMPORT).values_list("kind", flat=True))
    states = Counter(demo.values_list("state", flat=True))
    alerts = Counter(Alert.objects.filter(
        Q(transfer__in=demo) | Q(event_report__patient__patient_no__startswith=PATIENT_PREFIX),
        cleared_at__isnull=True).values_list("kind", flat=True))
    events = list(EventReport.objects.filter(patient__patient_no__startswith=PATIENT_PREFIX))
    outflows = demo.filter(kind=MoveKind.OUTSIDE).select_related("from_unit__county")
    return {
        "moves": {k: kinds[k] for k in MoveKind.values if kinds[k]},
        "transfers": {s: states[s] for s in Transfer.State.values if states[s]},
        "alerts": {k: alerts[k] for k in Alert.Kind.values if alerts[k]},
        "events": {"count": len(events), "on_time": sum(e.reported_at is not None and not e.late
                                                        for e in events),
                   "late": sum(e.late for e in events), "unreported": sum(e.reported_at is None
                                                                          for e in events),
                   "likely_to_leave": sum(e.kind == "likely_to_leave" for e in events)},
        "notifications": Notification.objects.filter(
            patient__patient_no__startswith=PATIENT_PREFIX, key__startswith="handoff:").count(),
        "letters": sum(letters.needs_letter(t) is not None for t in outflows),
    }


def demo_moves_clear() -> None:
    """Delete the demo patients' transfers, event reports, alerts and notifications
    (deleting the patients would cascade to them; this says so, and runs first)."""
    Alert.objects.filter(Q(transfer__in=_demo_transfers())
                         | Q(event_report__patient__patient_no__startswith=PATIENT_PREFIX)).delete()
    Notification.objects.filter(patient__patient_no__startswith=PATIENT_PREFIX).delete()
    EventReport.objects.filter(patient__patient_no__startswith=PATIENT_PREFIX).delete()
    _demo_transfers().delete()
