"""The patient ledger (患者台账, formats.md §3): patients and guardians, placed on
the grid set-based (R0), then classified (R5–R19).

Rows are checked one by one in Python (the ID-number and date rules are not
vectorisable, and 200k rows take a few seconds); everything after that is a
COPY into a stage and a handful of set-based statements.
"""

from datetime import date
from pathlib import Path
from typing import Protocol

import numpy as np

from cases.patients import rules
from cases.patients.models import FollowUp, Guardian, Patient, RiskAssessment
from cases.patients.services import patients_classify
from geodata.cells import (
    RowCells,
    parse_bool,
    parse_choice,
    parse_date,
    parse_float,
    parse_int,
    text,
    to_json,
)
from geodata.extent import SWAPPED_HINT, outside_china
from geodata.readers import SourceCRS, lonlat_to_wgs84, read_ledger
from geodata.report import ImportReport, Progress, run_atomic
from geodata.staging import copy_rows, create_stage, execute, fetch, srid
from gridmap import crypto, services
from gridmap.calendar import local_today
from gridmap.models import LEVEL_FIELDS
from gridmap.services import HOUSEHOLD_TABLE, UNIT_TABLE

PATIENT, GUARDIAN, FOLLOWUP, RISK = (m._meta.db_table for m in (Patient, Guardian, FollowUp, RiskAssessment))

PATIENT_COLUMNS = {
    "patient_no": "档案编号", "name": "姓名", "id_number": "身份证号", "sex": "性别",
    "birth_date": "出生日期", "diagnosis": "诊断", "registered_on": "建档日期",
    "residence_address": "现住址", "household_code": "标准地址编码",
    "residence_lon": "现住址经度", "residence_lat": "现住址纬度",
    "resident_since": "现住址居住起始日期", "registration_address": "户籍地址",
    "registration_code": "户籍地编码", "risk_level": "危险性评估等级",
    "risk_assessed_on": "危险性评估日期", "condition": "病情", "consent": "知情同意",
    "management_status": "管理状态", "guardian_name": "监护人姓名",
    "guardian_id_number": "监护人身份证号", "guardian_phone": "监护人电话",
    "guardian_relation": "与患者关系", "guardian_birth_date": "监护人出生日期",
    "guardian_unable": "监护人因躯体疾病无法履职", "prior_incidents": "既往肇事肇祸",
    "admissions_past_year": "近一年住院次数", "psychotic_symptoms": "幻觉妄想",
    "violent_tendency": "伤人毁物行为或倾向",
}
REQUIRED = ("patient_no", "name", "diagnosis", "residence_address")
ADMISSIONS_MAX = 366  # admissions in a year: at most one a day
SEX = {"男": "M", "m": "M", "male": "M", "女": "F", "f": "F", "female": "F"}
CONDITIONS = {c.value: c.value for c in rules.Condition}  # R5
CONSENTS = {c.value: c.value for c in rules.Consent}  # R12
STATUSES = {s.value: s.value for s in rules.Status}  # R4
STAGE_COLUMNS = (
    "n bigint, patient_no text, name text, id_number text, sex text, birth_date date, "
    "diagnosis text, registered_on date, residence_address text, household_code text, "
    "lon float8, lat float8, resident_since date, registration_address text, "
    "registration_code text, risk_level int, risk_assessed_on date, condition text, "
    "consent text, status text, guardian_key text, guardian_name text, guardian_id_number text, "
    "guardian_phone text, guardian_relation text, guardian_birth_date date, guardian_unable bool, "
    "prior_incidents text, admissions_past_year int, psychotic_symptoms bool, "
    "violent_tendency bool, extra jsonb, id_number_index text, guardian_id_number_index text, "
    "guardian_phone_index text"
)
STAGE_NAMES = [c.split()[0] for c in STAGE_COLUMNS.split(", ")]
# The text columns and the most their field holds (from the models: one source).
TEXT_LIMITS = {
    column: model._meta.get_field(field).max_length for column, (model, field) in {
        "patient_no": (Patient, "patient_no"), "name": (Patient, "name"),
        "residence_address": (Patient, "residence_address"), "household_code": (Patient, "patient_no"),
        "registration_address": (Patient, "registration_address"),
        "registration_code": (Patient, "registration_code"), "guardian_name": (Guardian, "name"),
        "guardian_phone": (Guardian, "phone"), "guardian_relation": (Patient, "guardian_relation"),
    }.items()}


class ResidenceChanges(Protocol):
    """What a re-imported ledger's changed residences become (R23), decided above the
    register (cases.transfers.services.LedgerMoves, handed in by config.importers)."""

    def detect(self, stage: str, assign: str) -> None:
        """Before the rows are written: compare the staged, placed residences with the stored."""

    def apply(self, report: ImportReport) -> None:
        """After the rows are written, in the same transaction."""


def patients_import(
    *,
    path: str | Path,
    as_of: date | None = None,
    source_crs: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    moves: ResidenceChanges | None = None,
) -> ImportReport:
    """Create or update patients by patient_no, place them (R0) and classify them as of as_of.

    A changed residence of a patient already registered is a move (R23): `moves` detects
    and applies it. Without `moves` the new residence simply replaces the old one."""
    report, step = ImportReport.begin("patients", dry_run=dry_run, progress=progress)
    # (the ID and telephone numbers are sealed before staging: nothing plain reaches the
    # database, not even a temporary table; gridmap.crypto)
    as_of = as_of or local_today()
    read = report.read_file(lambda: (read_ledger(path, PATIENT_COLUMNS, REQUIRED),
                                     SourceCRS.parse(source_crs)))
    if read is None:
        return report
    frame, source = read
    step(0.1, "read")
    with report.phase("validate"):
        rows = _validate(frame, source, report)
    step(0.3, "checked rows")
    if not report.ok:
        return report
    with report.phase("seal"):
        rows = _seal(rows)

    def body() -> None:
        with report.phase("stage"):
            _stage(rows)
            _check_households(report)
        if not report.ok:
            return
        with report.phase("assign"):
            for statement in services.point_assignment_sql("stage_patients", "n", "stage_patient_assign"):
                execute(statement)
            if moves is not None:
                moves.detect("stage_patients", "stage_patient_assign")  # R23
        step(0.5, "placed")
        with report.phase("write"):
            _write_guardians()
            report.wrote(*_write_patients())
            if moves is not None:
                moves.apply(report)
            _write_risk_history(as_of)
            _report_outside(report)
        step(0.7, "written")
        with report.phase("classify"):
            report.stats["classified"] = patients_classify(as_of=as_of, analyze=(PATIENT, GUARDIAN))
        step(1.0, "classified")

    return run_atomic(report, dry_run=dry_run, body=body)


def _validate(frame, source: SourceCRS, report: ImportReport) -> list[tuple]:
    """Check every row (row N, column C: message); returns the rows to stage."""
    lon = np.array([_number_or_nan(v) for v in frame["residence_lon"]], dtype=float)
    lat = np.array([_number_or_nan(v) for v in frame["residence_lat"]], dtype=float)
    # formats.md §3: WGS84 unless --source-crs says otherwise.
    lon, lat = lonlat_to_wgs84(lon, lat, None, SourceCRS.WGS84 if source.kind == "declared" else source)
    others = [c for c in frame.columns if c not in PATIENT_COLUMNS]
    seen: dict[str, int] = {}
    out = []
    for i, record in enumerate(frame.to_dict("records")):
        n = i + 1
        row = _Row(n, record, report)
        values = row.check((lon[i], lat[i]))
        first = seen.setdefault(values["patient_no"], n) if values["patient_no"] else n
        if first != n:
            row.fail("patient_no", f"duplicate patient_no {values['patient_no']} (first in row {first})")
        values["extra"] = to_json({c: record[c] for c in others if text(record[c])})
        out.append(tuple(values[name] for name in STAGE_NAMES))
    return out


SEALED = {  # stage column -> (its index column, the stored column it is encrypted for)
    "id_number": ("id_number_index", "cases_patient.id_number"),
    "guardian_id_number": ("guardian_id_number_index", "cases_guardian.id_number"),
    "guardian_phone": ("guardian_phone_index", "cases_guardian.phone"),
}


def _seal(rows: list[tuple]) -> list[tuple]:
    """Encrypt the ID and telephone numbers column by column and add their indexes; a
    guardian known by ID number is keyed by its index (R15: the same guardian)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(STAGE_NAMES)
    at = {name: i for i, name in enumerate(STAGE_NAMES)}
    columns = [list(c) for c in columns]
    for column, (index_column, label) in SEALED.items():
        plain = columns[at[column]]
        columns[at[index_column]] = crypto.index_many(plain)
        columns[at[column]] = crypto.encrypt_many(plain, label)
    keys, ids = columns[at["guardian_key"]], columns[at["guardian_id_number_index"]]
    columns[at["guardian_key"]] = [index or key for key, index in zip(keys, ids, strict=True)]
    return list(zip(*columns, strict=True))


def _number_or_nan(value) -> float:
    try:
        return float(text(value)) if text(value) else np.nan
    except ValueError:
        return np.nan


class _Row(RowCells):
    """One ledger row being checked against formats.md §3 and R1–R3."""

    def check(self, point) -> dict:
        r = self.record
        v = {"n": self.n, **{c: self.text(c, limit) for c, limit in TEXT_LIMITS.items()}}
        self.require(REQUIRED)
        v["diagnosis"] = rules.canonical_diagnosis(text(r["diagnosis"]))
        if text(r["diagnosis"]) and v["diagnosis"] is None:
            self.fail("diagnosis", f"{text(r['diagnosis'])!r} is not one of the six managed "
                                   "diagnoses (R1)")
        v["sex"] = self.cell("sex", parse_choice, SEX, "sex")
        v["birth_date"] = self.cell("birth_date", parse_date)
        v["id_number"] = self._id_number("id_number", v)
        for column in ("registered_on", "resident_since", "risk_assessed_on", "guardian_birth_date"):
            v[column] = self.cell(column, parse_date)
        v["risk_level"] = self.cell("risk_level", parse_int, low=0, high=5)  # R2
        v["condition"] = self.cell("condition", parse_choice, CONDITIONS, "condition") or ""
        v["consent"] = self.cell("consent", parse_choice, CONSENTS, "consent") or ""
        v["status"] = self.cell("management_status", parse_choice, STATUSES, "status") or "在管"
        v["admissions_past_year"] = self.cell("admissions_past_year", parse_int,
                                              low=0, high=ADMISSIONS_MAX) or 0
        for column in ("guardian_unable", "psychotic_symptoms", "violent_tendency"):
            v[column] = bool(self.cell(column, parse_bool))
        v["prior_incidents"] = self._incidents()
        v["guardian_id_number"] = self._guardian_id(v)
        shares_no_id = v["guardian_name"] and not v["guardian_id_number"]
        v["guardian_key"] = f"p:{v['patient_no']}" if shares_no_id else ""
        v["id_number_index"] = v["guardian_id_number_index"] = v["guardian_phone_index"] = ""  # _seal
        v["lon"], v["lat"] = self._point(point, bool(v["household_code"]))
        return v

    def _id_number(self, column: str, v: dict) -> str:
        """R3: check digit, birth date and sex agree with the ID number."""
        number = text(self.record[column]).upper()
        if not number:
            return ""
        problems = rules.id_number_problems(number)
        for problem in problems:
            self.fail(column, problem)
        if problems:
            return number
        born, sex = rules.id_birth_date(number), rules.id_sex(number)
        if v["birth_date"] is None:
            v["birth_date"] = born
        elif v["birth_date"] != born:
            self.fail("birth_date", f"{v['birth_date']} does not match the ID number's {born} (R3)")
        if v["sex"] is None:
            v["sex"] = sex
        elif v["sex"] != sex:
            label = {"M": "男", "F": "女"}
            self.fail("sex", f"{label[v['sex']]} does not match the ID number's {label[sex]} (R3)")
        return number

    def _guardian_id(self, v: dict) -> str:
        number = text(self.record["guardian_id_number"]).upper()
        if not number:
            return ""
        for problem in rules.id_number_problems(number):
            self.fail("guardian_id_number", problem)
        born = rules.id_birth_date(number)
        if v["guardian_birth_date"] is None:
            v["guardian_birth_date"] = born
        elif born and v["guardian_birth_date"] != born:
            self.fail("guardian_birth_date",
                      f"{v['guardian_birth_date']} does not match the ID number's {born} (R3)")
        return number

    def _incidents(self) -> str:
        """R17: `;`-separated acts, each one of the ten kinds."""
        raw = text(self.record["prior_incidents"])
        acts = [a.strip() for a in raw.replace("；", ";").replace("、", ";").split(";") if a.strip()]
        for act in acts:
            if act not in rules.INCIDENT_KINDS:
                self.fail("prior_incidents", f"unknown incident kind {act!r} (R17)")
        return ";".join(dict.fromkeys(acts))

    def _point(self, point, has_household: bool) -> tuple[float | None, float | None]:
        lon_raw = self.cell("residence_lon", parse_float)
        lat_raw = self.cell("residence_lat", parse_float)
        lon, lat = point
        if lon_raw is None and lat_raw is None:
            if not has_household and not any(
                    text(self.record[c]) for c in ("residence_lon", "residence_lat")):
                self.fail("residence_lon", "residence_lon and residence_lat are required unless "
                                           "household_code is given")
            return None, None
        if lon_raw is None or lat_raw is None:
            self.fail("residence_lat" if lat_raw is None else "residence_lon",
                      "give both residence_lon and residence_lat")
            return None, None
        if outside_china(lon, lat):
            self.fail("residence_lon", f"({lon_raw}, {lat_raw}) lies outside China's extent: {SWAPPED_HINT}")
            return None, None
        return float(lon), float(lat)


def _stage(rows: list[tuple]) -> None:
    """COPY the rows, then build the stage with each residence point in one statement.

    Why a second table rather than an UPDATE filling points from households: an
    index built in the same transaction after an UPDATE (broken HOT chains) is not
    usable by that transaction, and the placement then scans every point for every
    micro-grid (measured: 12 s instead of 0.3 s for a county ledger).
    """
    create_stage("stage_patients_raw", STAGE_COLUMNS)
    copy_rows("stage_patients_raw", STAGE_NAMES, rows)
    # formats.md §3: a household code gives the point when no coordinates are given.
    AXIS = {"lon": "X", "lat": "Y"}
    columns = ", ".join(
        f"coalesce(r.{c}, ST_{AXIS[c]}(h.geom)) AS {c}" if c in AXIS else f"r.{c}"
        for c in STAGE_NAMES)
    execute("DROP TABLE IF EXISTS stage_patients")
    execute(f"""
        CREATE TEMP TABLE stage_patients ON COMMIT DROP AS
        SELECT *, ST_SetSRID(ST_MakePoint(lon, lat), {srid()})::geometry(Point, {srid()}) AS geom FROM (
            SELECT {columns} FROM stage_patients_raw r
            LEFT JOIN {HOUSEHOLD_TABLE} h ON h.code = r.household_code AND r.lon IS NULL
        ) placed
    """)
    execute("CREATE UNIQUE INDEX ON stage_patients (n)")
    execute("CREATE INDEX ON stage_patients USING gist (geom)")
    execute("ANALYZE stage_patients")


def _check_households(report: ImportReport) -> None:
    for n, code in fetch(f"""
        SELECT s.n, s.household_code FROM stage_patients s
        WHERE s.household_code <> ''
          AND NOT EXISTS (SELECT 1 FROM {HOUSEHOLD_TABLE} h WHERE h.code = s.household_code)
        ORDER BY s.n
    """):
        report.error(f"row {n}, column household_code", "unknown_household",
                     f"unknown household code {code!r}")


def _write_guardians() -> None:
    """Upsert guardians by key (ID number, or the patient for a guardian without one).

    Why raw SQL: one INSERT … ON CONFLICT over the stage; the last row naming a
    guardian wins, as in the ledger.
    """
    # The encrypted numbers differ at every encryption (a fresh nonce): whether one
    # changed is told by its index, and an unchanged one keeps its stored form.
    execute(f"""
        INSERT INTO {GUARDIAN} AS g (key, id_number, id_number_index, name, phone, phone_index,
                                     birth_date, unable)
        SELECT DISTINCT ON (guardian_key) guardian_key, nullif(guardian_id_number, ''),
               guardian_id_number_index, guardian_name, guardian_phone, guardian_phone_index,
               guardian_birth_date, guardian_unable
        FROM stage_patients WHERE guardian_key <> ''
        ORDER BY guardian_key, n DESC
        ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name,
            phone = CASE WHEN g.phone_index = EXCLUDED.phone_index THEN g.phone ELSE EXCLUDED.phone END,
            phone_index = EXCLUDED.phone_index, birth_date = EXCLUDED.birth_date, unable = EXCLUDED.unable
        WHERE (g.name, g.phone_index, g.birth_date, g.unable)
              IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.phone_index, EXCLUDED.birth_date, EXCLUDED.unable)
    """)


PLACEMENT = [f"{name}_id" for name in LEVEL_FIELDS.values()]
WRITTEN = [
    "patient_no", "name", "id_number", "id_number_index", "sex", "birth_date", "diagnosis", "registered_on",
    "residence_address", "household_id", "geom", "resident_since", *PLACEMENT, "outside",
    "registration_address", "registration_code", "registration_unit_id", "risk_level",
    "risk_assessed_on", "condition", "consent", "status", "guardian_id", "guardian_relation",
    "prior_incidents", "admissions_past_year", "psychotic_symptoms", "violent_tendency", "extra",
]


# A re-imported ledger does not undo what happened since its export: its risk level
# wins only when assessed no earlier than the stored one (R2 history), and its
# undated condition only while no reached follow-up has set one (R5).
LEDGER_RISK_IS_NEWER = """(cur.id IS NULL OR cur.risk_assessed_on IS NULL
    OR (s.risk_assessed_on IS NOT NULL AND s.risk_assessed_on >= cur.risk_assessed_on))"""
FOLLOWED_UP = f"""(cur.id IS NOT NULL AND EXISTS (SELECT 1 FROM {FOLLOWUP} f
    WHERE f.patient_id = cur.id AND f.reached AND f.condition <> ''))"""


def _write_patients() -> tuple[int, int]:
    """Insert new patients, update changed ones; returns (created, updated).

    Why raw SQL: the staged rows joined to their placement, household, guardian
    and registration unit in one INSERT … ON CONFLICT, counting both outcomes.
    """
    updates = [c for c in WRITTEN if c != "patient_no"]
    # An unchanged ID number (same index) keeps its stored ciphertext; it is compared by index.
    sets = [("id_number = CASE WHEN p.id_number_index = EXCLUDED.id_number_index THEN p.id_number "
             "ELSE EXCLUDED.id_number END") if c == "id_number" else f"{c} = EXCLUDED.{c}" for c in updates]
    compared = [c for c in updates if c not in ("geom", "id_number")]
    return fetch(f"""
        WITH w AS (
            INSERT INTO {PATIENT} AS p ({', '.join(WRITTEN)}, key_groups, followups_this_year,
                                            face_to_face_due, death_source, created_at, updated_at)
            SELECT s.patient_no, s.name, s.id_number, s.id_number_index, coalesce(s.sex, ''), s.birth_date,
                   s.diagnosis,
                   s.registered_on, s.residence_address, h.id, s.geom, s.resident_since,
                   {', '.join(f'u.{c}' for c in PLACEMENT)}, (a.unit_id IS NULL),
                   s.registration_address, s.registration_code, r.id,
                   CASE WHEN {LEDGER_RISK_IS_NEWER} THEN s.risk_level ELSE cur.risk_level END,
                   CASE WHEN {LEDGER_RISK_IS_NEWER} THEN s.risk_assessed_on ELSE cur.risk_assessed_on END,
                   CASE WHEN {FOLLOWED_UP} THEN cur.condition ELSE s.condition END,
                   s.consent, s.status, g.id, s.guardian_relation,
                   coalesce(string_to_array(nullif(s.prior_incidents, ''), ';'), '{{}}')::varchar[],
                   s.admissions_past_year, s.psychotic_symptoms, s.violent_tendency, s.extra,
                   '{{}}', 0, false, '', now(), now()
            FROM stage_patients s
            LEFT JOIN stage_patient_assign a ON a.n = s.n
            LEFT JOIN {UNIT_TABLE} u ON u.id = a.unit_id
            LEFT JOIN {HOUSEHOLD_TABLE} h ON h.code = s.household_code
            LEFT JOIN {UNIT_TABLE} r ON r.code = s.registration_code
            LEFT JOIN {GUARDIAN} g ON g.key = s.guardian_key
            LEFT JOIN {PATIENT} cur ON cur.patient_no = s.patient_no
            ON CONFLICT (patient_no) DO UPDATE SET {', '.join(sets)}, updated_at = now()
            WHERE ({', '.join(f'p.{c}' for c in compared)}, ST_AsEWKB(p.geom))
                  IS DISTINCT FROM
                  ({', '.join(f'EXCLUDED.{c}' for c in compared)}, ST_AsEWKB(EXCLUDED.geom))
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w
    """)[0]


def _write_risk_history(as_of: date) -> None:
    """R2 history: a dated assessment is kept per date; an undated one only when the level changed."""
    # Why a join to the latest assessments rather than a correlated subquery: the
    # subquery reads the table this statement fills and was planned as a scan per row
    # (45 s of a province import, bench/); unchanged rows are not rewritten.
    execute(f"""
        INSERT INTO {RISK} AS ra (patient_id, assessed_on, level, source)
        SELECT p.id, coalesce(s.risk_assessed_on, %s), s.risk_level, %s
        FROM stage_patients s JOIN {PATIENT} p ON p.patient_no = s.patient_no
        LEFT JOIN (SELECT DISTINCT ON (patient_id) patient_id, level FROM {RISK}
                   ORDER BY patient_id, assessed_on DESC, id DESC) latest ON latest.patient_id = p.id
        WHERE s.risk_level IS NOT NULL
          AND (s.risk_assessed_on IS NOT NULL OR s.risk_level IS DISTINCT FROM latest.level)
        ON CONFLICT (patient_id, assessed_on, source) DO UPDATE SET level = EXCLUDED.level
        WHERE ra.level IS DISTINCT FROM EXCLUDED.level
    """, [as_of, RiskAssessment.Source.LEDGER])
    # Guardians no patient names any more (a ledger that now gives an ID number).
    execute(f"DELETE FROM {GUARDIAN} g WHERE NOT EXISTS "
            f"(SELECT 1 FROM {PATIENT} p WHERE p.guardian_id = g.id)")


def _report_outside(report: ImportReport) -> None:
    """R22: residences in no stored unit are kept and flagged; the registration place is responsible."""
    outside = fetch("SELECT s.n, s.patient_no FROM stage_patients s WHERE NOT EXISTS "
                    "(SELECT 1 FROM stage_patient_assign a WHERE a.n = s.n) ORDER BY s.n")
    report.stats["outside"] = len(outside)
    for n, patient_no in outside[:200]:
        report.warn(f"row {n}", "outside", f"the residence of {patient_no} lies in no stored unit: "
                                           "the registration place is responsible (R22)")
