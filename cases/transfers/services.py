"""Moves, handoffs and transfers (R23–R26): detection, the transfer steps and their
deadlines, and the sweep that raises alerts (R24, R27, R28).

Detection for a whole ledger is set-based (`LedgerMoves`, which the patient import is
handed by config.importers); a single residence change from the API or a form goes
through `patient_move`, which applies the same rule (cases.transfers.rules.move_kind).
State changes that can race are conditional UPDATEs on the expected state, and the
database allows one open transfer per patient, so two simultaneous moves of one patient
produce one transfer. Deadlines come from one settings-backed object
(gridmap.calendar.deadlines) through the pure rule `transfer_deadlines`.
"""

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases.patients.models import EventReport, Patient, Task
from cases.patients.rules import INACTIVE_STATUSES
from cases.patients.services import patients_classify, related_patient_ids
from cases.transfers import rules
from cases.transfers.models import TOWNSHIP_GROUP, Alert, Notification, Transfer, TransferAttachment
from geodata.report import ImportReport
from gridmap import access
from gridmap.calendar import deadlines, local_date
from gridmap.models import LEVEL_FIELDS, GridUnit, Household, Role, StaffAssignment
from gridmap.selectors import calendar_overrides
from gridmap.services import point_placement, unit_chain

PLACEMENT = [f"{name}_id" for name in LEVEL_FIELDS.values()]
OPEN = list(Transfer.OPEN_STATES)
HANDOFFS = sorted(rules.HANDOFF_KINDS)
# Why written out rather than bound: ON CONFLICT finds the partial unique index
# one_open_transfer_per_patient only by a predicate that matches the index's own text.
OPEN_INDEX_PREDICATE = "state IN (" + ", ".join(f"'{state}'" for state in OPEN) + ")"
# Table names for the hand-written SQL, from the models (they keep their historical names).
PATIENT, TRANSFER, TASK, ALERT, EVENT, NOTICE = (m._meta.db_table for m in (
    Patient, Transfer, Task, Alert, EventReport, Notification))
UNIT, HOUSEHOLD, STAFF = (m._meta.db_table for m in (GridUnit, Household, StaffAssignment))


class TransitionError(Exception):
    """A transfer cannot take that step (wrong state, or not this user's to take)."""


def set_placement(patient: Patient, units: tuple) -> None:
    for column, value in zip(PLACEMENT, units, strict=True):
        setattr(patient, column, value)


def placement(patient: Patient) -> tuple:
    """The units responsible for a patient: the residence's, or for a residence
    outside every stored unit the registration unit's chain (R22)."""
    own = patient.placement()
    if any(own) or patient.registration_unit_id is None:
        return own
    return unit_chain(patient.registration_unit)


# --- Detection ---------------------------------------------------------------------------------

def patient_move(*, user, patient: Patient, point, address: str = "", source: str = "api") -> Transfer | None:
    """A new residence point for one patient (API, form). Handoffs re-home the patient at
    once; transfers and outflows leave them with the origin until acceptance (R25)."""
    new = point_placement(point)
    kind = rules.move_kind(placement(patient), new)
    if not any(new) and patient.outside:
        kind = None  # outside before and after: no move, whatever the registration place
    if kind is None:
        patient.geom = point
        if address:
            patient.residence_address = address
        return None
    with transaction.atomic():
        current = patient.transfers.filter(state__in=OPEN).first()
        if current is not None:
            if current.to_unit_id == rules.deepest(new) and current.kind == kind:
                return current  # the same move reported again
            _close(current, Transfer.State.CANCELLED, resolution="superseded by a newer move")
        transfer = _open(patient=patient, kind=kind, to_unit_id=rules.deepest(new), to_point=point,
                         to_address=address or patient.residence_address, source=source)
        if transfer is not None and kind in rules.HANDOFF_KINDS:
            set_placement(patient, new)
            patient.geom, patient.outside, patient.household = point, False, None
            if address:
                patient.residence_address = address
    return transfer


def _open(*, patient: Patient, kind: str, to_unit_id, to_point, to_address: str, source: str
          ) -> Transfer | None:
    """Record a detected move; None if another open transfer won a race for this patient."""
    now = timezone.now()
    state = (Transfer.State.HANDED_OVER if kind in rules.HANDOFF_KINDS
             else Transfer.State.OUTFLOW if kind == rules.MoveKind.OUTSIDE else Transfer.State.DETECTED)
    transfer = Transfer(
        patient=patient, kind=kind, state=state, source=source,
        from_unit_id=rules.deepest(placement(patient)), to_unit_id=to_unit_id,
        from_point=patient.geom, to_point=to_point, to_address=to_address, detected_at=now,
    )
    if state == Transfer.State.DETECTED:
        transfer.report_by = rules.transfer_deadlines(detected_at=now, deadlines=deadlines()).report_by
    if state == Transfer.State.HANDED_OVER:
        transfer.accepted_at = transfer.closed_at = now
    try:
        with transaction.atomic():
            transfer.save()
    except IntegrityError:
        return None
    if state == Transfer.State.HANDED_OVER:
        notify_handoffs([transfer.pk])
    else:  # transfers and outflows: the origin follows up by telephone (R25)
        open_phone_follow_ups([transfer.pk])
    return transfer


# Why raw SQL (here and below): the same statements serve one move from the API and
# hundreds from a ledger import, set-based, idempotent through unique indexes.
def notify_handoffs(transfer_ids: list[int]) -> int:
    """R23: both grid workers — of the old and of the new grid — are told of a handoff."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {NOTICE} (user_id, patient_id, transfer_id, key, text, created_at)
            SELECT DISTINCT sa.user_id, t.patient_id, t.id, 'handoff:' || t.id,
                   p.patient_no || ' ' || p.name || ': ' || fu.name || ' → ' || tu.name, now()
            FROM {TRANSFER} t
            JOIN {PATIENT} p ON p.id = t.patient_id
            JOIN {UNIT} fu ON fu.id = t.from_unit_id
            JOIN {UNIT} tu ON tu.id = t.to_unit_id
            JOIN {UNIT} su ON su.grid_id IN (fu.grid_id, tu.grid_id)
            JOIN {STAFF} sa ON sa.unit_id = su.id AND sa.role = %(grid_worker)s
            WHERE t.id = ANY(%(ids)s)
            ON CONFLICT (user_id, patient_id, key) DO NOTHING
        """, {"ids": list(transfer_ids), "grid_worker": Role.GRID_WORKER})
        return cursor.rowcount


def open_phone_follow_ups(transfer_ids: list[int]) -> None:
    """R25: until the destination accepts, the origin follows up by telephone."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {TASK} (patient_id, kind, due_on, opened_on, unit_id)
            SELECT t.patient_id, %(phone)s, p.next_due, (t.detected_at AT TIME ZONE %(tz)s)::date,
                   t.from_unit_id
            FROM {TRANSFER} t JOIN {PATIENT} p ON p.id = t.patient_id
            WHERE t.id = ANY(%(ids)s)
            ON CONFLICT (patient_id, kind) WHERE closed_on IS NULL DO NOTHING
        """, {"ids": list(transfer_ids), "phone": Task.Kind.PHONE_FOLLOW_UP, "tz": settings.TIME_ZONE})


def notify_registration_villages(patient_ids: list[int] | None = None) -> int:
    """R27: a patient living in another village than their registration village is made
    known to the registration village's committee, once per residence village."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {NOTICE} (user_id, patient_id, key, text, created_at)
            SELECT DISTINCT sa.user_id, p.id, 'floating:' || coalesce(p.village_id::text, 'outside'),
                   p.patient_no || ' ' || p.name || ': '
                   || coalesce(v.name, %(outside)s) || ' ← ' || rv.name, now()
            FROM {PATIENT} p
            JOIN {UNIT} r ON r.id = p.registration_unit_id
            JOIN {UNIT} rv ON rv.id = r.village_id
            LEFT JOIN {UNIT} v ON v.id = p.village_id
            JOIN {STAFF} sa ON sa.unit_id = rv.id AND sa.role = %(committee)s
            WHERE p.village_id IS DISTINCT FROM r.village_id
              AND p.status <> ALL(%(inactive)s)
              AND (%(ids)s::bigint[] IS NULL OR p.id = ANY(%(ids)s))
            ON CONFLICT (user_id, patient_id, key) DO NOTHING
        """, {"ids": patient_ids, "outside": "辖区外", "committee": Role.VILLAGE_COMMITTEE,
              "inactive": list(INACTIVE_STATUSES)})
        return cursor.rowcount


# --- Detection for a whole ledger (set-based) ------------------------------------------------

def _levels(prefix: str, table: str, fallback: str | None = None) -> list[str]:
    """SQL for the five placement columns; with a fallback, a placement with no unit at
    any level is replaced by the fallback's (the registration unit's chain, R22)."""
    own = [f"{table}.{c}" for c in PLACEMENT]
    if fallback is None:
        return [f"{c} AS {prefix}{i}" for i, c in enumerate(own, 1)]
    empty = f"coalesce({', '.join(own)}) IS NULL"
    return [f"CASE WHEN {empty} THEN {fallback}.{c} ELSE {table}.{c} END AS {prefix}{i}"
            for i, c in enumerate(PLACEMENT, 1)]


# R23 in SQL, the same decision as rules.move_kind (tests compare the two), with one
# addition: a residence already outside every unit that is still outside is no move,
# whatever the registration place (own* are the patient's own units).
KIND_SQL = """
    CASE
        WHEN coalesce(n1, n2, n3, n4, n5) IS NULL THEN
            CASE WHEN coalesce(own1, own2, own3, own4, own5) IS NULL THEN NULL ELSE %(outside)s END
        WHEN coalesce(o5, o4, o3, o2, o1) = coalesce(n5, n4, n3, n2, n1) THEN NULL
        WHEN o4 = n4 THEN %(micro_grid)s
        WHEN o3 = n3 THEN %(grid)s
        WHEN o2 = n2 THEN %(village)s
        WHEN o1 = n1 THEN %(township)s
        ELSE %(county)s
    END
"""
KINDS = {kind.value: kind.value for kind in rules.MoveKind}


def moves_detect_staged(stage: str, assign: str) -> None:
    """Compare each staged patient's new residence with the stored one (R23).

    Fills the temporary table stage_moves with every existing patient who moved or
    who has an open transfer: the kind, the old residence (kept for transfers and
    outflows: the patient stays with the origin until acceptance, R25) and whether
    the move is the one already open (a re-import of the same ledger opens nothing).
    """
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS stage_moves")
        # Table names are the importer's own temporary tables and the models', not input.
        cursor.execute(f"""
            CREATE TEMP TABLE stage_moves ON COMMIT DROP AS
            WITH compared AS (
                SELECT p.id AS patient_id, s.n, p.geom AS old_geom, p.residence_address AS old_address,
                       p.household_id AS old_household, nh.id AS new_household,
                       p.resident_since AS old_since, p.outside AS old_outside,
                       {', '.join(f'p.{c} AS own{i}' for i, c in enumerate(PLACEMENT, 1))},
                       {', '.join(_levels('o', 'p', 'r'))}, {', '.join(_levels('n', 'u'))},
                       s.geom AS new_geom, s.residence_address AS new_address,
                       t.id AS open_id, t.kind AS open_kind, t.to_unit_id AS open_to
                FROM {stage} s
                JOIN {PATIENT} p ON p.patient_no = s.patient_no
                LEFT JOIN {assign} a ON a.n = s.n
                LEFT JOIN {UNIT} u ON u.id = a.unit_id
                LEFT JOIN {UNIT} r ON r.id = p.registration_unit_id
                LEFT JOIN {HOUSEHOLD} nh ON nh.code = s.household_code
                LEFT JOIN {TRANSFER} t ON t.patient_id = p.id AND t.state = ANY(%(open)s)
            )
            SELECT *, {KIND_SQL} AS kind, coalesce(o5, o4, o3, o2, o1) AS from_unit,
                   coalesce(n5, n4, n3, n2, n1) AS to_unit
            FROM compared
        """, {"open": OPEN, **KINDS})
        cursor.execute("""
            DELETE FROM stage_moves WHERE kind IS NULL AND open_id IS NULL;
            ALTER TABLE stage_moves ADD COLUMN same_open bool;
            UPDATE stage_moves SET same_open = open_id IS NOT NULL AND open_kind = kind
                                               AND open_to IS NOT DISTINCT FROM to_unit;
        """)


def moves_apply_staged(*, source: str = Transfer.Source.IMPORT) -> dict[str, int]:
    """After the ledger's rows are written: keep transfers and outflows with the origin,
    cancel superseded transfers, open the new ones (R23–R25). Returns new moves by kind."""
    params = {"handoffs": HANDOFFS, "open": OPEN, "source": source, "outside": rules.MoveKind.OUTSIDE,
              "handed_over": Transfer.State.HANDED_OVER, "outflow": Transfer.State.OUTFLOW,
              "detected": Transfer.State.DETECTED, "cancelled": Transfer.State.CANCELLED,
              "phone": Task.Kind.PHONE_FOLLOW_UP, "tz": settings.TIME_ZONE,
              "report_hours": deadlines().report_hours}
    with connection.cursor() as cursor:
        restore = ", ".join(f"{c} = m.own{i}" for i, c in enumerate(PLACEMENT, 1))
        cursor.execute(f"""
            UPDATE {PATIENT} p SET geom = m.old_geom, residence_address = m.old_address,
                   resident_since = m.old_since, outside = m.old_outside, household_id = m.old_household,
                   {restore}
            FROM stage_moves m
            WHERE p.id = m.patient_id AND m.kind IS NOT NULL AND m.kind <> ALL(%(handoffs)s)
        """, params)
        cursor.execute(f"""
            UPDATE {TRANSFER} t SET state = %(cancelled)s, closed_at = now(), updated_at = now(),
                   resolution = CASE WHEN m.kind IS NULL THEN 'the patient is back at the origin'
                                     ELSE 'superseded by a newer move' END
            FROM stage_moves m
            WHERE t.id = m.open_id AND NOT m.same_open AND t.state = ANY(%(open)s)
        """, params)
        cursor.execute(f"""
            UPDATE {TASK} k SET closed_on = (now() AT TIME ZONE %(tz)s)::date
            FROM stage_moves m WHERE k.patient_id = m.patient_id AND NOT m.same_open
              AND m.open_id IS NOT NULL AND k.kind = %(phone)s AND k.closed_on IS NULL
        """, params)
        cursor.execute(f"""
            INSERT INTO {TRANSFER} (patient_id, kind, state, source, from_unit_id, to_unit_id,
                from_point, to_point, to_address, to_household_id, detected_at, report_by, accepted_at,
                closed_at, calendar_fallback_years, dispute_explanation, escalated_to, resolution, updated_at)
            SELECT m.patient_id, m.kind,
                   CASE WHEN m.kind = ANY(%(handoffs)s) THEN %(handed_over)s
                        WHEN m.kind = %(outside)s THEN %(outflow)s ELSE %(detected)s END,
                   %(source)s, m.from_unit, m.to_unit, m.old_geom, m.new_geom, m.new_address, m.new_household,
                   now(),
                   CASE WHEN m.kind <> ALL(%(handoffs)s) AND m.kind <> %(outside)s  -- R24: report in time
                        THEN now() + make_interval(hours => %(report_hours)s) END,
                   CASE WHEN m.kind = ANY(%(handoffs)s) THEN now() END,
                   CASE WHEN m.kind = ANY(%(handoffs)s) THEN now() END,
                   '{{}}', '', '', '', now()
            FROM stage_moves m WHERE m.kind IS NOT NULL AND NOT m.same_open
            ON CONFLICT (patient_id) WHERE {OPEN_INDEX_PREDICATE} DO NOTHING
            RETURNING id, kind
        """, params)
        opened = cursor.fetchall()
    notify_handoffs([i for i, kind in opened if kind in rules.HANDOFF_KINDS])
    open_phone_follow_ups([i for i, kind in opened if kind not in rules.HANDOFF_KINDS])
    counts: dict[str, int] = {}
    for _, kind in opened:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


class LedgerMoves:
    """What a re-imported ledger's changed residences become (R23): the patient import
    (cases.patients.importers) calls `detect` once the new residences are placed and
    `apply` once the rows are written, in its own transaction."""

    def detect(self, stage: str, assign: str) -> None:
        moves_detect_staged(stage, assign)

    def apply(self, report: ImportReport) -> None:
        report.stats["moves"] = moves_apply_staged()
        report.stats["registration_notices"] = notify_registration_villages()  # R27


# --- The transfer steps (R24–R26) --------------------------------------------------------------

def _advance(transfer: Transfer, *, expected: tuple, **changes) -> None:
    """Move to the next state only if the transfer is still in an expected one: two
    people acting at once cannot both succeed (conditional update)."""
    changes["updated_at"] = timezone.now()
    if not Transfer.objects.filter(pk=transfer.pk, state__in=expected).update(**changes):
        raise TransitionError("the transfer has changed state; reload it")
    transfer.refresh_from_db()


def _clear_alerts(transfer: Transfer, kind: str) -> None:
    Alert.objects.filter(transfer=transfer, kind=kind, cleared_at__isnull=True).update(
        cleared_at=timezone.now())


TEXT_LIMIT = 2000  # an explanation, a reason or a resolution: words, not a document


def _bounded(text: str, what: str) -> str:
    if len(text) > TEXT_LIMIT:
        raise TransitionError(f"the {what} is longer than {TEXT_LIMIT} characters")
    return text


def _require(user, unit_id, roles, what: str) -> None:
    if not access.acts_for(user, unit_id, roles):
        raise TransitionError(f"only {what} can do this")


@transaction.atomic
def transfer_report(*, user, transfer: Transfer, now: datetime | None = None) -> None:
    """R24: the origin team has verified the move and reports it to the township group."""
    _require(user, transfer.from_unit_id, access.ANY_ROLE, "the origin's team")
    now = now or timezone.now()
    due = rules.transfer_deadlines(detected_at=transfer.detected_at, reported_at=now, deadlines=deadlines())
    _advance(transfer, expected=(Transfer.State.DETECTED,), state=Transfer.State.REPORTED,
             reported_at=now, exchange_by=due.exchange_by)
    _clear_alerts(transfer, Alert.Kind.REPORT_OVERDUE)


@transaction.atomic
def transfer_exchange(*, user, transfer: Transfer, now: datetime | None = None) -> None:
    """R24: the origin township group has exchanged information with the destination;
    the destination now has 5 working days (the day of exchange not counted)."""
    _require(user, transfer.from_unit_id, TOWNSHIP_GROUP, "the origin's township group")
    now = now or timezone.now()
    due = rules.transfer_deadlines(detected_at=transfer.detected_at, reported_at=transfer.reported_at,
                                   exchanged_at=now, deadlines=deadlines(), overrides=calendar_overrides())
    _advance(transfer, expected=(Transfer.State.REPORTED,), state=Transfer.State.EXCHANGED,
             exchanged_at=now, accept_by=due.accept_by, calendar_fallback_years=sorted(due.fallback_years))
    _clear_alerts(transfer, Alert.Kind.EXCHANGE_OVERDUE)


@transaction.atomic
def transfer_accept(*, user, transfer: Transfer, now: datetime | None = None) -> None:
    """R25: only the destination accepts; in the same transaction the patient moves to
    the destination and every open task goes with them."""
    _require(user, transfer.to_unit_id, TOWNSHIP_GROUP, "the destination's township group")
    now = now or timezone.now()
    _advance(transfer, expected=(Transfer.State.EXCHANGED,), state=Transfer.State.ACCEPTED,
             accepted_at=now, closed_at=now)
    _rehome(transfer)
    _clear_alerts(transfer, Alert.Kind.ACCEPT_OVERDUE)


def _rehome(transfer: Transfer) -> None:
    patient = Patient.objects.select_for_update().get(pk=transfer.patient_id)
    left = patient.household_id
    unit = transfer.to_unit
    set_placement(patient, unit_chain(unit))
    patient.geom, patient.outside = transfer.to_point, unit is None
    patient.household_id = transfer.to_household_id
    patient.residence_address = transfer.to_address or patient.residence_address
    patient.resident_since = local_date(transfer.detected_at)
    patient.save()
    today = local_date(timezone.now())
    patient.tasks.filter(closed_on__isnull=True, kind=Task.Kind.PHONE_FOLLOW_UP).update(closed_on=today)
    patient.tasks.filter(closed_on__isnull=True).update(unit=unit)
    # R15: the households left and joined count their active patients anew.
    patients_classify(patient_ids=related_patient_ids(patient, households=(left,)))
    notify_registration_villages([patient.pk])


@transaction.atomic
def transfer_dispute(*, user, transfer: Transfer, explanation: str, files=()) -> None:
    """R26: the destination disputes; the origin's risk assessment and the written
    explanation and evidence go with the transfer."""
    _require(user, transfer.to_unit_id, TOWNSHIP_GROUP, "the destination's township group")
    if not explanation.strip():
        raise TransitionError("a dispute needs a written explanation")
    _bounded(explanation, "explanation")
    patient = transfer.patient
    _advance(transfer, expected=(Transfer.State.REPORTED, Transfer.State.EXCHANGED),
             state=Transfer.State.DISPUTED, disputed_at=timezone.now(), dispute_explanation=explanation,
             dispute_risk_level=patient.risk_level, dispute_risk_assessed_on=patient.risk_assessed_on)
    for upload in files:
        TransferAttachment.objects.create(transfer=transfer, file=upload, uploaded_by=user)


@transaction.atomic
def transfer_escalate(*, user, transfer: Transfer) -> None:
    """R26: to the county office when both sides are in one county, else above the counties."""
    if not (access.acts_for(user, transfer.from_unit_id, TOWNSHIP_GROUP)
            or access.acts_for(user, transfer.to_unit_id, TOWNSHIP_GROUP)):
        raise TransitionError("only a township group of either side can escalate")
    origin, destination = _county(transfer.from_unit_id), _county(transfer.to_unit_id)
    same_county = origin is not None and origin == destination
    _advance(transfer, expected=(Transfer.State.DISPUTED,), state=Transfer.State.ESCALATED,
             escalated_at=timezone.now(), escalated_to="county" if same_county else "above_county")


def _county(unit_id) -> int | None:
    return GridUnit.objects.filter(pk=unit_id).values_list("county_id", flat=True).first()


@transaction.atomic
def transfer_resolve(*, user, transfer: Transfer, accept: bool, resolution: str) -> None:
    """R26: the county office (or the office above the counties) decides a dispute:
    the destination takes the patient, or the patient stays with the origin."""
    if transfer.escalated_to == "county":
        _require(user, _county(transfer.from_unit_id), (Role.COUNTY_OFFICE,), "the county office")
    elif not access.scope_of(user).everything:  # the office above the counties serves them all
        raise TransitionError("only the office above the counties can resolve this")
    now = timezone.now()
    _advance(transfer, expected=(Transfer.State.ESCALATED,), state=Transfer.State.RESOLVED, closed_at=now,
             resolution=_bounded(resolution, "resolution"), accepted_at=now if accept else None)
    if accept:
        _rehome(transfer)


@transaction.atomic
def transfer_cancel(*, user, transfer: Transfer, reason: str) -> None:
    """The origin's township group withdraws a move (wrongly detected, patient back)."""
    _require(user, transfer.from_unit_id, TOWNSHIP_GROUP, "the origin's township group")
    _close(transfer, Transfer.State.CANCELLED, resolution=_bounded(reason, "reason"))


def _close(transfer: Transfer, state: str, *, resolution: str) -> None:
    _advance(transfer, expected=OPEN, state=state, closed_at=timezone.now(), resolution=resolution)
    Alert.objects.filter(transfer=transfer, cleared_at__isnull=True).update(cleared_at=timezone.now())
    Task.objects.filter(patient_id=transfer.patient_id, kind=Task.Kind.PHONE_FOLLOW_UP,
                        closed_on__isnull=True).update(closed_on=local_date(timezone.now()))


# --- The sweep (R24, R27, R28) -----------------------------------------------------------------

# Why raw SQL: one INSERT … SELECT … ON CONFLICT DO NOTHING per kind of missed
# deadline: set-based, and idempotent through the partial unique indexes, so a
# sweep run twice (or by two workers at once) creates nothing twice, and a worker
# killed mid-sweep leaves each statement either done or not done.
SWEEP_SQL = {
    Alert.Kind.REPORT_OVERDUE: (Transfer.State.DETECTED, "report_by", "from_unit_id"),
    Alert.Kind.EXCHANGE_OVERDUE: (Transfer.State.REPORTED, "exchange_by", "from_unit_id"),
    Alert.Kind.ACCEPT_OVERDUE: (Transfer.State.EXCHANGED, "accept_by", "to_unit_id"),
}


def transfers_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Raise an alert for every deadline missed (R24, R27, R28); returns new alerts per kind."""
    now = now or timezone.now()
    created = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for kind, (state, deadline, unit) in SWEEP_SQL.items():
            # Column names come from the table above, not from input.
            cursor.execute(f"""
                INSERT INTO {ALERT} (kind, transfer_id, unit_id, due_at, created_at)
                SELECT %s, t.id, t.{unit}, t.{deadline}, %s FROM {TRANSFER} t
                WHERE t.state = %s AND t.{deadline} < %s
                ON CONFLICT (kind, transfer_id) WHERE transfer_id IS NOT NULL DO NOTHING
            """, [kind, now, state, now])
            created[kind] = cursor.rowcount
        cursor.execute(f"""
            INSERT INTO {ALERT} (kind, event_report_id, unit_id, due_at, created_at)
            SELECT %s, e.id, coalesce(p.township_id, p.county_id), e.due_by, %s
            FROM {EVENT} e JOIN {PATIENT} p ON p.id = e.patient_id
            WHERE e.reported_at IS NULL AND e.due_by < %s
            ON CONFLICT (kind, event_report_id) WHERE event_report_id IS NOT NULL DO NOTHING
        """, [Alert.Kind.EVENT_OVERDUE, now, now])
        created[Alert.Kind.EVENT_OVERDUE] = cursor.rowcount
    return created


def event_report_submit(*, user, event: EventReport) -> None:
    """Report an event recorded earlier (R27, R28) and clear its overdue alert;
    conditional, so it is reported once."""
    now = timezone.now()
    EventReport.objects.filter(pk=event.pk, reported_at__isnull=True).update(reported_at=now,
                                                                             reported_by=user)
    Alert.objects.filter(event_report=event, cleared_at__isnull=True).update(cleared_at=now)
    event.refresh_from_db()
