"""Writes to the patient register.

Classification reads every patient's facts in one query, applies the pure
rules of cases.patients.rules in Python (one call per patient, no queries in the
loop), and writes the results back in one UPDATE from a COPY.
"""

from collections.abc import Callable
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cases.patients import rules
from cases.patients.models import (
    EventReport,
    FollowUp,
    Guardian,
    Patient,
    RegisterChange,
    RiskAssessment,
    Task,
)
from geodata.staging import copy_rows, create_stage, execute
from gridmap import access
from gridmap.calendar import deadlines, hours_deadline, local_date, local_today, local_zone, quarter_of
from gridmap.models import Purpose

PATIENT, GUARDIAN, FOLLOWUP, TASK = (m._meta.db_table for m in (Patient, Guardian, FollowUp, Task))


def schedule() -> rules.Schedule:
    """The configurable numbers of R6–R16, from settings.GRIDCARE_RULES."""
    return rules.Schedule(**settings.GRIDCARE_RULES)


# Why raw SQL: one pass over patients with their guardians' and households'
# counts of active patients (R15, window functions) and, per patient, the
# follow-up attempts the rules need — this year's, the latest three (R10) and
# the latest reached one (R6) — aggregated into arrays, which the ORM cannot.
FACTS_SQL = f"""
    WITH active AS (
        SELECT p.id, p.household_id, nullif(g.id_number_index, '') AS id_number
        FROM {PATIENT} p LEFT JOIN {GUARDIAN} g ON g.id = p.guardian_id
        WHERE p.status <> ALL(%(inactive)s)
    ), shared AS (
        SELECT id,
               CASE WHEN id_number IS NULL THEN 1
                    ELSE count(*) OVER (PARTITION BY id_number) END AS by_guardian,
               CASE WHEN household_id IS NULL THEN 1
                    ELSE count(*) OVER (PARTITION BY household_id) END AS by_household
        FROM active
    ), attempts AS (
        SELECT f.patient_id, (f.followed_at AT TIME ZONE %(tz)s)::date AS on_day,
               f.reached, f.method = %(face_to_face)s AS face, f.condition,
               row_number() OVER w AS latest,
               row_number() OVER (PARTITION BY f.patient_id, f.reached
                                  ORDER BY f.followed_at DESC) AS latest_kind
        FROM {FOLLOWUP} f
        WHERE f.followed_at < %(until)s
        WINDOW w AS (PARTITION BY f.patient_id ORDER BY f.followed_at DESC)
    ), kept AS (
        SELECT patient_id,
               array_agg(on_day ORDER BY on_day) AS days, array_agg(reached ORDER BY on_day) AS reached,
               array_agg(face ORDER BY on_day) AS face, array_agg(condition ORDER BY on_day) AS conditions
        FROM attempts
        WHERE on_day >= %(year_start)s OR latest <= 3 OR (reached AND latest_kind = 1)
        GROUP BY patient_id
    )
    SELECT p.id, p.status, p.consent, p.risk_level, p.condition, p.registered_on, p.resident_since,
           p.guardian_id IS NOT NULL, g.birth_date, coalesce(g.unable, false),
           coalesce(s.by_guardian, 1), coalesce(s.by_household, 1),
           p.prior_incidents, p.psychotic_symptoms, p.violent_tendency, p.admissions_past_year,
           k.days, k.reached, k.face, k.conditions
    FROM {PATIENT} p
    LEFT JOIN {GUARDIAN} g ON g.id = p.guardian_id
    LEFT JOIN shared s ON s.id = p.id
    LEFT JOIN kept k ON k.patient_id = p.id
    WHERE %(ids)s::bigint[] IS NULL OR p.id = ANY(%(ids)s)
"""


def _condition(value: str | None) -> rules.Condition | None:
    return rules.Condition(value) if value else None


def _classify_row(row: tuple, as_of: date, plan: rules.Schedule) -> tuple:
    (pid, status, consent, risk, condition, registered_on, resident_since, has_guardian,
     guardian_born, guardian_unable, by_guardian, by_household, incidents, psychotic, violent,
     admissions, days, reached, face, conditions) = row
    attempts = tuple(
        rules.Attempt(on=d, reached=r, face_to_face=f, condition=_condition(c))
        for d, r, f, c in zip(days or (), reached or (), face or (), conditions or (), strict=True)
    )
    facts = rules.PatientFacts(
        status=status, consent=consent or None, risk_level=risk, resident_since=resident_since,
        has_guardian=has_guardian, guardian_birth_date=guardian_born, guardian_unable=guardian_unable,
        active_patients_sharing_guardian=by_guardian, active_patients_in_household=by_household,
        prior_incidents=tuple(incidents or ()), psychotic_symptoms=psychotic,
        violent_tendency=violent, admissions_past_year=admissions, attempts=attempts,
    )
    current = _condition(condition)
    due = rules.next_due(attempts=attempts, condition=current, status=status,
                         registered_on=registered_on, schedule=plan, consent=consent or None)
    face_due = (rules.needs_quarterly_face_to_face(status=status, risk_level=risk, condition=current)
                and not rules.face_to_face_done_in_quarter(attempts, as_of))
    retry = bool(attempts) and not attempts[-1].reached and rules.is_active(status)
    mobilise = rules.needs_admission_mobilisation(status=status, risk_level=risk)
    groups = rules.key_groups(facts, as_of, plan)
    return (pid, groups, due, rules.yearly_count(attempts, as_of.year),
            face_due, retry, mobilise)


def classify_results(*, as_of: date, patient_ids: list[int] | None = None) -> list[tuple]:
    """The rules' results as of a date, computed without writing: one tuple per patient,
    (id, key_groups, next_due, yearly count, face-to-face due, retry, mobilise)."""
    plan = schedule()
    until = datetime.combine(as_of, datetime.max.time(), local_zone())
    with connection.cursor() as cursor:
        cursor.execute(FACTS_SQL, {"until": until, "year_start": date(as_of.year, 1, 1),
                                   "ids": patient_ids, "inactive": list(rules.INACTIVE_STATUSES),
                                   "tz": settings.TIME_ZONE,
                                   "face_to_face": FollowUp.Method.FACE_TO_FACE})
        return [_classify_row(row, as_of, plan) for row in cursor.fetchall()]


def patients_classify(*, as_of: date | None = None, patient_ids: list[int] | None = None,
                      analyze: tuple[str, ...] = ()) -> int:
    """Recompute every patient's key groups, due date, yearly count and tasks as of a date.

    Idempotent; rows whose results did not change are not rewritten. Returns
    the number of patients evaluated. `analyze` names the tables an import has just
    written: their statistics are refreshed first, since an autovacuum that ran while
    the rows were uncommitted may have recorded them empty and the classification's
    joins would be planned on that (bench/).
    """
    for table in analyze:  # table names from the models, not input
        execute(f"ANALYZE {table}")
    as_of = as_of or local_today()
    results = classify_results(as_of=as_of, patient_ids=patient_ids)
    with transaction.atomic():
        create_stage("classified", "id bigint PRIMARY KEY, key_groups varchar[], next_due date, "
                                   "yearly int, face_due bool, retry bool, mobilise bool")
        copy_rows("classified", ["id", "key_groups", "next_due", "yearly", "face_due", "retry",
                                 "mobilise"],
                  ((r[0], "{" + ",".join(r[1]) + "}", *r[2:]) for r in results))
        execute(f"""
            UPDATE {PATIENT} p SET key_groups = c.key_groups, next_due = c.next_due,
                   followups_this_year = c.yearly, face_to_face_due = c.face_due, classified_on = %s
            FROM classified c
            WHERE p.id = c.id AND (p.key_groups, p.next_due, p.followups_this_year, p.face_to_face_due,
                                   p.classified_on)
                  IS DISTINCT FROM (c.key_groups, c.next_due, c.yearly, c.face_due, %s)
        """, [as_of, as_of])
        _sync_tasks(as_of)
    return len(results)


def _sync_tasks(as_of: date) -> None:
    """Open the tasks R8/R9 call for and close those no longer needed, set-based."""
    wanted = {
        Task.Kind.RETRY: ("c.retry", "p.next_due"),  # R9: due within 14 days of the failed attempt
        Task.Kind.FACE_TO_FACE: ("c.face_due", "%(quarter_end)s::date"),  # R8: by the quarter's end
        Task.Kind.MOBILISE_ADMISSION: ("c.mobilise", "NULL::date"),  # R8: at once
    }
    for kind, (flag, due) in wanted.items():
        params = {"as_of": as_of, "kind": kind, "quarter_end": quarter_of(as_of)[1]}
        # Identifiers and expressions come from the table above, values are bound.
        execute(f"""
            UPDATE {TASK} t SET closed_on = %(as_of)s
            FROM classified c WHERE t.patient_id = c.id AND t.kind = %(kind)s AND t.closed_on IS NULL
              AND NOT {flag}
        """, params)
        execute(f"""
            INSERT INTO {TASK} (patient_id, kind, due_on, opened_on, unit_id)
            SELECT c.id, %(kind)s, {due}, %(as_of)s,
                   coalesce(p.micro_grid_id, p.grid_id, p.village_id, p.township_id, p.county_id,
                            p.registration_unit_id)
            FROM classified c JOIN {PATIENT} p ON p.id = c.id
            WHERE {flag}
            ON CONFLICT (patient_id, kind) WHERE closed_on IS NULL
            DO UPDATE SET due_on = EXCLUDED.due_on
            WHERE {TASK}.due_on IS DISTINCT FROM EXCLUDED.due_on
        """, params)


def related_patient_ids(patient, *, households: tuple = ()) -> list[int]:
    """The patient and those sharing their guardian or household, or living in one of
    `households` (a household they leave): R15 counts them together."""
    related = Q(pk=patient.pk) | Q(household_id__in=[h for h in households if h])
    if patient.guardian_id:
        related |= Q(guardian_id=patient.guardian_id)
    if patient.household_id:
        related |= Q(household_id=patient.household_id)
    return list(Patient.objects.filter(related).values_list("pk", flat=True))


# What a new residence point becomes (R23), decided above the register: cases.transfers
# hands in its move detection (patient_move) wherever a residence can change.
Move = Callable[..., object]


@transaction.atomic
def patient_update(*, user, patient, data: dict, source: str = "api", move: Move | None = None) -> None:
    """Apply validated changes from the API or the patient form, record a new risk
    assessment (R2), reclassify (R5–R19) and log the change (R35).

    A new residence (`point`, with `residence_address`) is a move (R23): it is handed to
    `move(user=, patient=, point=, address=, source=)`, which keeps a transferred patient's
    old residence until the destination accepts (R25); without `move` it is refused."""
    point = data.pop("point", None)
    # A new address with a new point belongs to the move.
    address = data.pop("residence_address", "") if point is not None else ""
    if point is not None and move is None:
        raise ValueError("a new residence is a move (R23): pass the move detection as move=")
    risk_changed = "risk_level" in data and data["risk_level"] != patient.risk_level
    for name, value in data.items():
        setattr(patient, name, value)
    if point is not None:
        move(user=user, patient=patient, point=point, address=address, source=source)
    if risk_changed and patient.risk_level is not None:
        patient.risk_assessed_on = data.get("risk_assessed_on") or local_today()
        RiskAssessment.objects.update_or_create(
            patient=patient, assessed_on=patient.risk_assessed_on, source=RiskAssessment.Source.FORM,
            defaults={"level": patient.risk_level})
    patient.save()
    patients_classify(patient_ids=related_patient_ids(patient))
    access.log(user=user, action="update", purpose=Purpose.CARE, patient_ids=[patient.pk],
               query={"fields": sorted([*data, *(["residence"] if point is not None else [])])})


@transaction.atomic
def followup_record(*, user, patient, followed_at, method: str, reached: bool, condition: str = "",
                    risk_level: int | None = None, medication: str = ""):
    """Record one follow-up attempt and apply R5–R10 at once: the condition class (R5,
    from the risk level when not given), the new risk (R2), the next due date (R6/R9),
    lost (R10) and the tasks (R8/R9)."""
    if reached and not condition:
        condition = rules.condition_class(risk_level=risk_level).value
    followup, _ = FollowUp.objects.update_or_create(
        patient=patient, followed_at=followed_at, method=method,
        defaults={"reached": reached, "condition": condition if reached else "", "risk_level": risk_level,
                  "medication": medication, "recorded_by": user},
    )
    local_day = local_date(followed_at)
    if risk_level is not None:
        RiskAssessment.objects.update_or_create(
            patient=patient, assessed_on=local_day, source=RiskAssessment.Source.FOLLOW_UP,
            defaults={"level": risk_level})
        if patient.risk_assessed_on is None or local_day >= patient.risk_assessed_on:
            patient.risk_level, patient.risk_assessed_on = risk_level, local_day
    latest = patient.followups.filter(reached=True).exclude(condition="").order_by("-followed_at").first()
    if latest is not None:
        patient.condition = latest.condition
    patient.save()
    patients_classify(patient_ids=related_patient_ids(patient))
    access.log(user=user, action="update", purpose=Purpose.CARE, patient_ids=[patient.pk],
               query={"follow_up": followup.pk})
    return followup


def event_due(kind: str, discovered_at: datetime) -> datetime:
    """When an event must be at the township group: R27 likely to leave within 24 hours,
    every other event (R28) within 6 hours of discovery (configurable, gridmap.calendar)."""
    limits = deadlines()
    hours = limits.likely_to_leave_hours if kind == EventReport.Kind.LIKELY_TO_LEAVE else limits.event_hours
    return hours_deadline(discovered_at, hours)


@transaction.atomic
def event_report_record(*, user, patient, kind: str, discovered_at, note: str = "",
                        reported: bool = True):
    """R27/R28: record a discovered event; reported to the township group now (the
    usual case) or later (cases.transfers.services.event_report_submit)."""
    event = EventReport.objects.create(
        patient=patient, kind=kind, discovered_at=discovered_at, due_by=event_due(kind, discovered_at),
        note=note, reported_at=timezone.now() if reported else None, reported_by=user if reported else None,
    )
    access.log(user=user, action="update", purpose=Purpose.CARE, patient_ids=[patient.pk],
               query={"event": event.pk})
    return event


# One statement: the rows it deletes are those its snapshot sees, and their sums go back in
# their place, so a change committed meanwhile keeps its own row and no county's sum moves.
COMPACT_SQL = f"""
    WITH folded AS (DELETE FROM {RegisterChange._meta.db_table} RETURNING county_id, weight)
    INSERT INTO {RegisterChange._meta.db_table} (county_id, weight)
    SELECT county_id, sum(weight) FROM folded GROUP BY county_id
"""


def register_changes_compact() -> int:
    """Fold each county's change rows into one of the same total weight (nightly, after the
    classification): the register's versions stay new to every cache, and a version is read
    from one row per county. Returns the rows left."""
    with connection.cursor() as cursor:
        cursor.execute(COMPACT_SQL)
        return cursor.rowcount
