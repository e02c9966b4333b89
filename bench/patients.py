"""Patient ledger and follow-up imports: the set-based importers against a per-row ORM loop.

Order of a run (the grid and the households are already loaded):
 1. the naive loop on a sample of ledger rows and on their follow-ups, then
    the register emptied again;
 2. the ledger (read, validate, stage, assign, write, classify);
 3. the same ledger again: the "nothing changed" path;
 4. the follow-ups, with the reclassification they trigger;
 5. the checks (bench.patient_checks);
 6. the ledger once more with 2 % of the residences moved to other households.
"""

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.contrib.gis.geos import Point
from django.db import connection

from bench.db import cases_tables, truncate, vacuum_analyze
from bench.ledger_data import AS_OF, FOLLOWUP_HEADERS, PATIENT_HEADERS, ledger_paths
from bench.patient_checks import (
    consent_argument,
    key_group_counts,
    last_transfer,
    ledger_checks,
    moved_outcome,
    placement_and_state,
)
from bench.timing import ledger_statements, timed
from cases.patients import rules
from cases.patients.models import FollowUp, Guardian, Patient, RiskAssessment
from config import importers
from gridmap import crypto
from gridmap.models import LEVEL_FIELDS, GridUnit, Household

NAIVE_PATIENTS = 500
NAIVE_FOLLOWUPS = 2_000
LOCAL = ZoneInfo("Asia/Shanghai")
PLACEMENT = [f"{name}_id" for name in LEVEL_FIELDS.values()]


def read_file(path: Path, headers: dict[str, str]) -> pd.DataFrame:
    """A generated file as text with the English column names (independently of the importers)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.rename(columns={chinese: english for english, chinese in headers.items()})


def run_import(function, path: Path, explain: str | None = None) -> dict:
    """One import end to end with its phases (ImportReport.timings) and SQL statements."""
    with ledger_statements(explain) as statements:
        seconds, report = timed(function, path=path, as_of=AS_OF)
    if not report.ok:
        raise SystemExit(f"{report.kind} import failed:\n" + "\n".join(map(str, report.errors[:20])))
    return {"seconds": seconds, "report": report, "phases": dict(report.timings),
            "statements": dict(statements.seconds), "plans": statements.plans}


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _yes(value: str) -> bool:
    return value == "是"


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=LOCAL)


def naive_patient(row, plan: rules.Schedule) -> None:
    """One ledger row the way a first draft would: look-ups, update_or_create, classify."""
    for number in (row.id_number, row.guardian_id_number):
        if number and rules.id_number_problems(number):
            raise SystemExit(f"{row.patient_no}: bad ID number {number}")
    household = Household.objects.filter(code=row.household_code).first() if row.household_code else None
    if row.residence_lon:
        point = Point(float(row.residence_lon), float(row.residence_lat), srid=4326)
    else:
        point = household.geom if household else None
    unit = GridUnit.objects.at_level(5).covering(point).first() if point else None
    guardian = None
    if row.guardian_name or row.guardian_id_number:
        guardian, _ = Guardian.objects.update_or_create(
            key=crypto.index(row.guardian_id_number) if row.guardian_id_number else f"p:{row.patient_no}",
            defaults={"id_number": row.guardian_id_number or None, "name": row.guardian_name,
                      "phone": row.guardian_phone, "unable": _yes(row.guardian_unable),
                      "birth_date": rules.id_birth_date(row.guardian_id_number)
                      or _day(row.guardian_birth_date)})
    registration = GridUnit.objects.filter(code=row.registration_code).first() \
        if row.registration_code else None
    patient, _ = Patient.objects.update_or_create(patient_no=row.patient_no, defaults={
        "name": row.name, "id_number": row.id_number, "sex": rules.id_sex(row.id_number),
        "birth_date": rules.id_birth_date(row.id_number),
        "diagnosis": rules.canonical_diagnosis(row.diagnosis), "registered_on": _day(row.registered_on),
        "residence_address": row.residence_address, "household": household, "geom": point,
        "resident_since": _day(row.resident_since),
        **{c: getattr(unit, c) if unit else None for c in PLACEMENT}, "outside": unit is None,
        "registration_address": row.registration_address, "registration_code": row.registration_code,
        "registration_unit": registration, "risk_level": int(row.risk_level),
        "risk_assessed_on": _day(row.risk_assessed_on), "condition": row.condition,
        "consent": row.consent, "status": row.management_status, "guardian": guardian,
        "guardian_relation": row.guardian_relation,
        "prior_incidents": [a for a in row.prior_incidents.split(";") if a],
        "admissions_past_year": int(row.admissions_past_year),
        "psychotic_symptoms": _yes(row.psychotic_symptoms), "violent_tendency": _yes(row.violent_tendency),
    })
    RiskAssessment.objects.update_or_create(
        patient=patient, assessed_on=_day(row.risk_assessed_on) or AS_OF, source="ledger",
        defaults={"level": int(row.risk_level)})
    naive_classify(patient, plan)


def naive_classify(patient: Patient, plan: rules.Schedule) -> None:
    """Key groups, due date, yearly count of one patient, with a query per fact."""
    active = Patient.objects.exclude(status__in=rules.INACTIVE_STATUSES)
    guardian = patient.guardian
    by_guardian = active.filter(guardian__id_number_index=guardian.id_number_index).count() \
        if guardian and guardian.id_number else 1
    by_household = active.filter(household_id=patient.household_id).count() if patient.household_id else 1
    attempts = tuple(
        rules.Attempt(on=f.followed_at.astimezone(LOCAL).date(), reached=f.reached,
                      face_to_face=f.method == "面访", condition=rules.Condition(f.condition) if f.condition
                      else None)
        for f in FollowUp.objects.filter(patient=patient).order_by("followed_at"))
    condition = rules.Condition(patient.condition) if patient.condition else None
    facts = rules.PatientFacts(
        status=patient.status, consent=patient.consent or None, risk_level=patient.risk_level,
        resident_since=patient.resident_since, has_guardian=guardian is not None,
        guardian_birth_date=guardian.birth_date if guardian else None,
        guardian_unable=guardian.unable if guardian else False,
        active_patients_sharing_guardian=by_guardian, active_patients_in_household=by_household,
        prior_incidents=tuple(patient.prior_incidents), psychotic_symptoms=patient.psychotic_symptoms,
        violent_tendency=patient.violent_tendency, admissions_past_year=patient.admissions_past_year,
        attempts=attempts)
    Patient.objects.filter(pk=patient.pk).update(
        key_groups=rules.key_groups(facts, AS_OF, plan), classified_on=AS_OF,
        next_due=rules.next_due(attempts=attempts, condition=condition, status=patient.status,
                                registered_on=patient.registered_on, schedule=plan,
                                **consent_argument(patient.consent or None)),
        followups_this_year=rules.yearly_count(attempts, AS_OF.year))


def naive_followup(row) -> Patient:
    patient = Patient.objects.get(patient_no=row.patient_no)
    at = _at(row.followed_at)
    FollowUp.objects.update_or_create(
        patient=patient, followed_at=at, method=row.method,
        defaults={"reached": _yes(row.reached), "condition": row.condition,
                  "risk_level": int(row.risk_level) if row.risk_level else None,
                  "medication": row.medication})
    changes = {"condition": row.condition} if row.condition else {}
    if row.risk_level:
        RiskAssessment.objects.update_or_create(patient=patient, assessed_on=at.date(), source="follow_up",
                                                defaults={"level": int(row.risk_level)})
        changes.update(risk_level=int(row.risk_level), risk_assessed_on=at.date())
    if changes:
        Patient.objects.filter(pk=patient.pk).update(**changes)
    return patient


def naive_loops(sample: pd.DataFrame, followups: pd.DataFrame) -> dict:
    """Per-row loops in autocommit on the sample's rows; the register is emptied afterwards."""
    plan = rules.Schedule(**_settings_rules())

    def ledger() -> None:
        for row in sample.itertuples(index=False):
            naive_patient(row, plan)

    seconds, _ = timed(ledger)
    placed = dict(Patient.objects.values_list("patient_no", "micro_grid_id"))
    rows = followups[followups["patient_no"].isin(sample["patient_no"])].head(NAIVE_FOLLOWUPS)

    def visits() -> None:
        touched = {naive_followup(row).pk: None for row in rows.itertuples(index=False)}
        for patient in Patient.objects.filter(pk__in=list(touched)).select_related("guardian"):
            naive_classify(patient, plan)

    followup_seconds, _ = timed(visits)
    truncate(cases_tables())
    # An empty register with fresh statistics, as after `migrate`. Otherwise autovacuum, woken
    # by the loop's rows, may analyze a table while the first import's rows are still
    # uncommitted: it records 0 live rows on N pages, and the rest of that import plans for
    # one-row tables (seen at province scale: nested loops over the whole register, hours).
    # The loop's row counts are flushed first, so that ANALYZE really resets them.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    for table in cases_tables():
        vacuum_analyze(table)
    return {"patients": len(sample), "seconds": seconds, "placed": placed,
            "followups": len(rows), "followup_seconds": followup_seconds}


def _settings_rules() -> dict:
    from django.conf import settings

    return settings.GRIDCARE_RULES


def sample_patients(patients: pd.DataFrame, manifest: dict, seed: int = 7) -> pd.DataFrame:
    """Random ledger rows plus a few outside ones."""
    outside = patients[patients["patient_no"].isin(manifest["outside"][:4])]
    rest = patients[~patients["patient_no"].isin(manifest["outside"])]
    picked = rest.iloc[np.random.default_rng(seed).choice(len(rest), NAIVE_PATIENTS - len(outside),
                                                           replace=False)]
    return pd.concat([picked, outside], ignore_index=True)


def bench_ledger(scale: str, manifest: dict, explain: str | None = None) -> dict:
    files = ledger_paths(scale)
    patients = read_file(files["patients"], PATIENT_HEADERS)
    followups = read_file(files["followups"], FOLLOWUP_HEADERS)
    truncate(cases_tables())
    naive = naive_loops(sample_patients(patients, manifest), followups)
    runs = {"ledger": run_import(importers.patients_import, files["patients"], explain)}
    runs["again"] = run_import(importers.patients_import, files["patients"], explain)
    runs["followups"] = run_import(importers.followups_import, files["followups"], explain)
    check_seconds, checks = timed(ledger_checks, patients, followups, manifest, runs, naive["placed"])
    groups = key_group_counts()
    before, since = placement_and_state(), last_transfer()
    runs["moved"] = run_import(importers.patients_import, files["moved"], explain)
    ledger = read_file(files["moved"], PATIENT_HEADERS)
    moved, move_checks = moved_outcome(ledger[ledger["patient_no"].isin(manifest["moved"])], before, since,
                                       runs["moved"]["report"])
    return {
        "patients": len(patients), "followups": len(followups), "kinds": manifest["kinds"],
        "runs": runs, "naive": naive, "checks": {**checks, **move_checks}, "check_seconds": check_seconds,
        "groups": groups, "moved": moved,
    }
