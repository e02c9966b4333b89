"""Follow-up records (随访记录, formats.md §4), then the register reclassified (R5–R10)."""

from datetime import date
from pathlib import Path

from django.conf import settings

from cases.patients import rules
from cases.patients.models import FollowUp, Patient, RiskAssessment
from cases.patients.services import patients_classify
from geodata.cells import RowCells, extra_json, parse_bool, parse_choice, parse_datetime, parse_int
from geodata.readers import read_ledger
from geodata.report import ImportReport, Progress, run_atomic
from geodata.staging import copy_rows, create_stage, execute, fetch
from gridmap.calendar import local_today, local_zone

PATIENT, FOLLOWUP, RISK = (m._meta.db_table for m in (Patient, FollowUp, RiskAssessment))

FOLLOWUP_COLUMNS = {
    "patient_no": "档案编号", "followed_at": "随访时间", "method": "随访方式", "reached": "是否随访到",
    "condition": "病情", "risk_level": "危险性评估等级", "medication": "服药情况",
}
REQUIRED = ("patient_no", "followed_at", "method", "reached")
METHODS = {**{m.value: m.value for m in FollowUp.Method},
           "face": FollowUp.Method.FACE_TO_FACE.value, "phone": FollowUp.Method.PHONE.value}
CONDITIONS = {c.value: c.value for c in rules.Condition}  # R5
MEDICATION = {m.value: m.value for m in FollowUp.Medication}


def followups_import(
    *, path: str | Path, as_of: date | None = None, dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Add or update follow-ups by (patient, time, method); then reclassify as of as_of."""
    report, step = ImportReport.begin("followups", dry_run=dry_run, progress=progress)
    as_of = as_of or local_today()
    frame = report.read_file(lambda: read_ledger(path, FOLLOWUP_COLUMNS, REQUIRED))
    if frame is None:
        return report
    with report.phase("validate"):
        rows = [_check(n, record, report) for n, record in enumerate(frame.to_dict("records"), 1)]
    step(0.3, "checked rows")
    if not report.ok:
        return report

    def body() -> None:
        with report.phase("write"):
            create_stage("stage_followups", "n bigint, patient_no text, followed_at timestamptz, "
                                            "method text, reached bool, condition text, risk_level int, "
                                            "medication text, extra jsonb")
            copy_rows("stage_followups", ["n", "patient_no", "followed_at", "method", "reached",
                                          "condition", "risk_level", "medication", "extra"], rows)
            for n, patient_no in fetch(
                "SELECT n, patient_no FROM stage_followups s WHERE NOT EXISTS "
                f"(SELECT 1 FROM {PATIENT} p WHERE p.patient_no = s.patient_no) ORDER BY n"
            ):
                report.error(f"row {n}, column patient_no", "unknown_patient",
                             f"unknown patient_no {patient_no!r}")
            duplicates = fetch("SELECT min(n), max(n) FROM stage_followups "
                               "GROUP BY patient_no, followed_at, method HAVING count(*) > 1")
            for first, n in duplicates:
                report.error(f"row {n}, column followed_at", "duplicate",
                             f"the same follow-up as row {first}")
            if not report.ok:
                return
            report.wrote(*_write())
            _refresh_patients()
        step(0.7, "written")
        with report.phase("classify"):
            report.stats["classified"] = patients_classify(as_of=as_of, analyze=(FOLLOWUP, RISK))
        step(1.0, "classified")

    return run_atomic(report, dry_run=dry_run, body=body)


def _check(n: int, record: dict, report: ImportReport) -> tuple:
    row = RowCells(n, record, report)
    cell = row.cell
    row.require(REQUIRED)
    followed_at = cell("followed_at", parse_datetime)
    reached = cell("reached", parse_bool)
    condition = cell("condition", parse_choice, CONDITIONS, "condition") or ""
    if reached is False and condition:
        row.fail("condition", "condition must be blank when the patient was not reached")
    return (
        n, row.text("patient_no", Patient._meta.get_field("patient_no").max_length),
        followed_at.replace(tzinfo=local_zone()) if followed_at else None,  # local wall time
        cell("method", parse_choice, METHODS, "method"), reached, condition,
        cell("risk_level", parse_int, low=0, high=5),  # R2
        cell("medication", parse_choice, MEDICATION, "medication") or "",
        extra_json(record, FOLLOWUP_COLUMNS),
    )


def _write() -> tuple[int, int]:
    """Why raw SQL: one INSERT … ON CONFLICT for the file, counting both outcomes."""
    created, updated = fetch(f"""
        WITH w AS (
            INSERT INTO {FOLLOWUP} AS f (patient_id, followed_at, method, reached, condition,
                                            risk_level, medication, extra, created_at)
            SELECT p.id, s.followed_at, s.method, s.reached, s.condition, s.risk_level, s.medication,
                   s.extra, now()
            FROM stage_followups s JOIN {PATIENT} p ON p.patient_no = s.patient_no
            ON CONFLICT (patient_id, followed_at, method) DO UPDATE SET
                reached = EXCLUDED.reached, condition = EXCLUDED.condition,
                risk_level = EXCLUDED.risk_level, medication = EXCLUDED.medication, extra = EXCLUDED.extra
            WHERE (f.reached, f.condition, f.risk_level, f.medication, f.extra) IS DISTINCT FROM
                  (EXCLUDED.reached, EXCLUDED.condition, EXCLUDED.risk_level, EXCLUDED.medication,
                   EXCLUDED.extra)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w
    """)[0]
    # R2 history: a re-assessment made at a follow-up, on its local date.
    execute(f"""
        INSERT INTO {RISK} (patient_id, assessed_on, level, source)
        SELECT DISTINCT ON (p.id, (s.followed_at AT TIME ZONE %(tz)s)::date) p.id,
               (s.followed_at AT TIME ZONE %(tz)s)::date, s.risk_level, %(source)s
        FROM stage_followups s JOIN {PATIENT} p ON p.patient_no = s.patient_no
        WHERE s.risk_level IS NOT NULL
        ORDER BY p.id, (s.followed_at AT TIME ZONE %(tz)s)::date, s.followed_at DESC
        ON CONFLICT (patient_id, assessed_on, source) DO UPDATE SET level = EXCLUDED.level
    """, {"tz": settings.TIME_ZONE, "source": RiskAssessment.Source.FOLLOW_UP})
    return created, updated


def _refresh_patients() -> None:
    """A patient's current risk is their latest assessment, their condition the latest
    reached follow-up's (R5), when those are newer than what the ledger said."""
    execute(f"""
        UPDATE {PATIENT} p SET risk_level = r.level, risk_assessed_on = r.assessed_on
        FROM (SELECT DISTINCT ON (patient_id) patient_id, level, assessed_on FROM {RISK}
              ORDER BY patient_id, assessed_on DESC, id DESC) r
        WHERE r.patient_id = p.id AND (p.risk_assessed_on IS NULL OR r.assessed_on > p.risk_assessed_on)
    """)
    execute(f"""
        UPDATE {PATIENT} p SET condition = f.condition
        FROM (SELECT DISTINCT ON (patient_id) patient_id, condition FROM {FOLLOWUP}
              WHERE reached AND condition <> '' ORDER BY patient_id, followed_at DESC) f
        WHERE f.patient_id = p.id AND p.condition IS DISTINCT FROM f.condition
    """)
