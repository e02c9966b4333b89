"""Writes to the patient register.

Classification reads every patient's facts in one query, applies the pure
rules of cases.rules in Python (one call per patient, no queries in the
loop), and writes the results back in one UPDATE from a COPY.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from cases import rules
from cases.models import Task
from geodata.staging import copy_rows, create_stage, execute

LOCAL = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today in Asia/Shanghai: every rule date is local (domain-rules, preamble)."""
    return datetime.now(LOCAL).date()


def schedule() -> rules.Schedule:
    """The configurable numbers of R6–R16, from settings.GRIDCARE_RULES."""
    return rules.Schedule(**settings.GRIDCARE_RULES)


# Why raw SQL: one pass over patients with their guardians' and households'
# counts of active patients (R15, window functions) and, per patient, the
# follow-up attempts the rules need — this year's, the latest three (R10) and
# the latest reached one (R6) — aggregated into arrays, which the ORM cannot.
FACTS_SQL = """
    WITH active AS (
        SELECT p.id, p.household_id, g.id_number
        FROM cases_patient p LEFT JOIN cases_guardian g ON g.id = p.guardian_id
        WHERE p.status NOT IN ('死亡', '出库')
    ), shared AS (
        SELECT id,
               CASE WHEN id_number IS NULL THEN 1
                    ELSE count(*) OVER (PARTITION BY id_number) END AS by_guardian,
               CASE WHEN household_id IS NULL THEN 1
                    ELSE count(*) OVER (PARTITION BY household_id) END AS by_household
        FROM active
    ), attempts AS (
        SELECT f.patient_id, (f.followed_at AT TIME ZONE 'Asia/Shanghai')::date AS on_day,
               f.reached, f.method = '面访' AS face, f.condition,
               row_number() OVER w AS latest,
               row_number() OVER (PARTITION BY f.patient_id, f.reached
                                  ORDER BY f.followed_at DESC) AS latest_kind
        FROM cases_followup f
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
    FROM cases_patient p
    LEFT JOIN cases_guardian g ON g.id = p.guardian_id
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
    until = datetime.combine(as_of, datetime.max.time(), LOCAL)
    with connection.cursor() as cursor:
        cursor.execute(FACTS_SQL, {"until": until, "year_start": date(as_of.year, 1, 1),
                                   "ids": patient_ids})
        return [_classify_row(row, as_of, plan) for row in cursor.fetchall()]


def patients_classify(*, as_of: date | None = None, patient_ids: list[int] | None = None) -> int:
    """Recompute every patient's key groups, due date, yearly count and tasks as of a date.

    Idempotent; rows whose results did not change are not rewritten. Returns
    the number of patients evaluated.
    """
    as_of = as_of or today()
    results = classify_results(as_of=as_of, patient_ids=patient_ids)
    with transaction.atomic():
        create_stage("classified", "id bigint PRIMARY KEY, key_groups varchar[], next_due date, "
                                   "yearly int, face_due bool, retry bool, mobilise bool")
        copy_rows("classified", ["id", "key_groups", "next_due", "yearly", "face_due", "retry",
                                 "mobilise"],
                  ((r[0], "{" + ",".join(r[1]) + "}", *r[2:]) for r in results))
        execute("""
            UPDATE cases_patient p SET key_groups = c.key_groups, next_due = c.next_due,
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
    quarter_end = rules.quarter_of(as_of)[1]
    wanted = {
        Task.Kind.RETRY: ("c.retry", "p.next_due"),  # R9: due within 14 days of the failed attempt
        Task.Kind.FACE_TO_FACE: ("c.face_due", f"'{quarter_end.isoformat()}'::date"),  # R8
        Task.Kind.MOBILISE_ADMISSION: ("c.mobilise", "NULL::date"),  # R8: at once
    }
    for kind, (flag, due) in wanted.items():
        # Identifiers and the date literal come from code, not input.
        execute(f"""
            UPDATE cases_task t SET closed_on = %s
            FROM classified c WHERE t.patient_id = c.id AND t.kind = %s AND t.closed_on IS NULL
              AND NOT {flag}
        """, [as_of, kind])
        execute(f"""
            INSERT INTO cases_task (patient_id, kind, due_on, opened_on, unit_id)
            SELECT c.id, %s, {due}, %s,
                   coalesce(p.micro_grid_id, p.grid_id, p.village_id, p.township_id, p.county_id,
                            p.registration_unit_id)
            FROM classified c JOIN cases_patient p ON p.id = c.id
            WHERE {flag}
            ON CONFLICT (patient_id, kind) WHERE closed_on IS NULL
            DO UPDATE SET due_on = EXCLUDED.due_on
            WHERE cases_task.due_on IS DISTINCT FROM EXCLUDED.due_on
        """, [kind, as_of])


def access_log_record(*, user, action: str, patient_ids=(), query: dict | None = None,
                      reason: str = "") -> None:
    """R35: write who read, searched or exported which patients, when and why."""
    from cases.models import AccessLog

    AccessLog.objects.create(
        user=user if user.is_authenticated else None, username=user.get_username(), action=action,
        patient_ids=list(patient_ids), query=query or {}, reason=reason[:300],
    )


def _related_ids(patient) -> list[int]:
    """The patient and those sharing their guardian or household (R15 counts them together)."""
    from django.db.models import Q

    from cases.models import Patient

    related = Q(pk=patient.pk)
    if patient.guardian_id:
        related |= Q(guardian_id=patient.guardian_id)
    if patient.household_id:
        related |= Q(household_id=patient.household_id)
    return list(Patient.objects.filter(related).values_list("pk", flat=True))


@transaction.atomic
def patient_update(*, user, patient, data: dict, source: str = "api") -> None:
    """Apply validated changes from the API or the patient form, record a new risk
    assessment (R2), reclassify (R5–R19) and log the change (R35)."""
    from cases import transfers
    from cases.models import RiskAssessment

    point = data.pop("point", None)
    # A new address with a new point belongs to the move: a transfer keeps the
    # patient's old residence until the destination accepts (R25).
    address = data.pop("residence_address", "") if point is not None else ""
    risk_changed = "risk_level" in data and data["risk_level"] != patient.risk_level
    for name, value in data.items():
        setattr(patient, name, value)
    if point is not None:
        transfers.patient_move(user=user, patient=patient, point=point, address=address, source=source)
    if risk_changed and patient.risk_level is not None:
        patient.risk_assessed_on = data.get("risk_assessed_on") or today()
        RiskAssessment.objects.update_or_create(
            patient=patient, assessed_on=patient.risk_assessed_on, source=RiskAssessment.Source.FORM,
            defaults={"level": patient.risk_level})
    patient.save()
    patients_classify(patient_ids=_related_ids(patient))
    access_log_record(user=user, action="update", patient_ids=[patient.pk],
                      query={"fields": sorted([*data, *(["residence"] if point is not None else [])])})


@transaction.atomic
def followup_record(*, user, patient, followed_at, method: str, reached: bool, condition: str = "",
                    risk_level: int | None = None, medication: str = ""):
    """Record one follow-up attempt and apply R5–R10 at once: the condition class (R5,
    from the risk level when not given), the new risk (R2), the next due date (R6/R9),
    lost (R10) and the tasks (R8/R9)."""
    from cases.models import FollowUp, RiskAssessment

    if reached and not condition:
        condition = rules.condition_class(risk_level=risk_level).value
    followup, _ = FollowUp.objects.update_or_create(
        patient=patient, followed_at=followed_at, method=method,
        defaults={"reached": reached, "condition": condition if reached else "", "risk_level": risk_level,
                  "medication": medication, "recorded_by": user},
    )
    local_day = followed_at.astimezone(LOCAL).date()
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
    patients_classify(patient_ids=_related_ids(patient))
    access_log_record(user=user, action="update", patient_ids=[patient.pk], query={"follow_up": followup.pk})
    return followup


EVENT_REPORT_HOURS = {"likely_to_leave": 24}  # R27; every other event R28: 6 hours


@transaction.atomic
def event_report_record(*, user, patient, kind: str, discovered_at, note: str = "",
                        reported: bool = True):
    """R27/R28: record a discovered event; reported to the township group now (the
    usual case) or later. Due 6 hours after discovery (24 for likely to leave)."""
    from django.utils import timezone

    from cases import deadlines
    from cases.models import EventReport

    due_by = deadlines.hours_deadline(discovered_at, EVENT_REPORT_HOURS.get(kind, 6))
    event = EventReport.objects.create(
        patient=patient, kind=kind, discovered_at=discovered_at, due_by=due_by, note=note,
        reported_at=timezone.now() if reported else None, reported_by=user if reported else None,
    )
    access_log_record(user=user, action="update", patient_ids=[patient.pk], query={"event": event.pk})
    return event


def event_report_submit(*, user, event) -> None:
    """Report an event recorded earlier; conditional, so it is reported once."""
    from django.utils import timezone

    from cases.models import Alert, EventReport

    now = timezone.now()
    EventReport.objects.filter(pk=event.pk, reported_at__isnull=True).update(reported_at=now,
                                                                             reported_by=user)
    Alert.objects.filter(event_report=event, cleared_at__isnull=True).update(cleared_at=now)
    event.refresh_from_db()
