"""Where an import spends its time, measured on the real code path.

The household importer reports its own phases (`ImportReport.timings`); the
grid-unit importer does not, and neither splits a phase into statements. So
`phases()` temporarily replaces some module attributes (the helpers the
importers call through their module globals) with timing wrappers and puts
them back afterwards. Nested calls are charged to the outermost wrapped call
only. Names an importer no longer has are skipped, so a refactoring of the
importers costs detail, not the benchmark.

The ledger and follow-up imports are split statement by statement through
`connection.execute_wrapper` (StatementTimer, labels in LEDGER_SQL), which also
sees the SQL that cases.patients.services and cases.transfers.services run on their own cursors.
"""

import importlib
import re
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager

from gridmap.services import HOUSEHOLD_TABLE


class PhaseTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._active = False

    def wrap(self, function: Callable, label: str | Callable[..., str]) -> Callable:
        def timed(*args, **kwargs):
            if self._active:
                return function(*args, **kwargs)
            name = label(*args, **kwargs) if callable(label) else label
            self._active = True
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self._active = False

        return timed


@contextmanager
def phases(targets: list[tuple[str, str, str | Callable[..., str]]]):
    """Time every call of module.attribute under its label while the block runs."""
    timer = PhaseTimer()
    saved = []
    for module_name, name, label in targets:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, timer.wrap(getattr(module, name), label))
    try:
        yield timer
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def household_sql_label(sql: str, *args, **kwargs) -> str:
    rules = [
        (r"CREATE INDEX|^ANALYZE", "stage: GiST index + ANALYZE"),
        (rf"INSERT INTO {HOUSEHOLD_TABLE}", "write: INSERT … ON CONFLICT upsert"),
        (r"NOT EXISTS \(SELECT 1 FROM stage_assign a", "write: list points in no unit"),
        (r"u\.level = 5", "assign: micro-grid pass"),
        (r"u\.level = (\d)", "assign: level {0} pass"),
        (r"CREATE TEMP TABLE \w+_rest", "assign: collect points left"),
        (r"u\.level < 5", "assign: fallback for points left"),
        (r"stage_assign", "assign: temp tables"),
    ]
    for pattern, label in rules:
        found = re.search(pattern, sql.strip())
        if found:
            return label.format(*found.groups())
    return "other SQL"


HOUSEHOLDS = "gridmap.importers.households"
HOUSEHOLD_PHASES = [
    (HOUSEHOLDS, "copy_csv", "stage: COPY"),
    (HOUSEHOLDS, "copy_rows", "stage: COPY"),
    (HOUSEHOLDS, "execute", household_sql_label),
    (HOUSEHOLDS, "fetch", household_sql_label),
]

UNITS = "gridmap.importers.grid_units"
UNIT_PHASES = [
    (UNITS, "read_vector", "read file (pyogrio)"),
    (UNITS, "_grid_rows", "validate features, EWKB hex"),
    (UNITS, "_grid_stage", "stage: COPY, ST_MakeValid, indexes"),
    (UNITS, "_grid_check_geometry", "check extent and validity"),
    (UNITS, "_grid_check_parents", "check parents"),
    (UNITS, "_grid_check_spatial", "check nesting, overlaps, gaps"),
    (UNITS, "_grid_write", "write units (ON CONFLICT upsert)"),
    ("gridmap.services", "grid_units_refresh_ancestry", "refresh ancestor columns"),
]


LEDGER_SQL = [
    (r"^CREATE TEMP TABLE stage_patients ON COMMIT DROP AS", "stage: points from households (CREATE … AS)"),
    (r"^UPDATE stage_patients", "stage: points from households (UPDATE … FROM household)"),
    (r"USING gist|^ANALYZE stage_patients", "stage: GiST index + ANALYZE"),
    (r"FROM stage_patients s\s+WHERE s\.household_code <> ''", "stage: check household codes"),
    (r"u\.level = 5", "assign: micro-grid pass"),
    (r"CREATE TEMP TABLE \w+_rest", "assign: collect points left"),
    (r"u\.level < 5", "assign: fallback for points left"),
    (r"CREATE TEMP TABLE stage_moves", "assign: detect moves (R23)"),
    (r"DELETE FROM stage_moves", "assign: detect moves (R23)"),
    (r"^UPDATE cases_patient p SET geom = m\.old_geom", "write: moves: keep transfers at the origin"),
    (r"^UPDATE cases_transfer", "write: moves: cancel superseded transfers"),
    (r"^UPDATE cases_task k", "write: moves: close phone follow-ups"),
    (r"^INSERT INTO cases_transfer", "write: moves: open transfers"),
    (r"^INSERT INTO cases_notification", "write: moves: notify handoffs"),
    (r"'phone_follow_up'", "write: moves: open phone follow-ups"),
    (r"INSERT INTO cases_guardian", "write: guardians upsert"),
    (r"INSERT INTO cases_patient", "write: patients upsert"),
    (r"INSERT INTO cases_riskassessment[\s\S]*'ledger'", "write: risk history (ledger)"),
    (r"INSERT INTO cases_riskassessment", "write: risk history (follow-ups)"),
    (r"DELETE FROM cases_guardian", "write: drop guardians no patient names"),
    (r"NOT EXISTS \(SELECT 1 FROM stage_patient_assign", "write: list residences in no unit"),
    (r"FROM stage_followups s WHERE NOT EXISTS", "write: check patient numbers"),
    (r"HAVING count\(\*\) > 1", "write: check duplicates"),
    (r"INSERT INTO cases_followup", "write: follow-ups upsert"),
    (r"UPDATE cases_patient p SET risk_level", "write: refresh risk from history"),
    (r"UPDATE cases_patient p SET condition", "write: refresh condition"),
    (r"WITH active AS", "classify: facts query"),
    (r"UPDATE cases_patient p SET key_groups", "classify: UPDATE patients"),
    (r"UPDATE cases_task", "classify: close tasks"),
    (r"INSERT INTO cases_task", "classify: open tasks"),
]


def ledger_sql_label(sql: str) -> str:
    for pattern, label in LEDGER_SQL:
        if re.search(pattern, sql.strip()):
            return label
    return "other SQL (temp tables, DDL)"


PATIENTS, FOLLOWUPS = "cases.patients.importers.ledger", "cases.patients.importers.followups"
LEDGER_COPIES = [
    (PATIENTS, "copy_rows", "stage: COPY"),
    (FOLLOWUPS, "copy_rows", "write: COPY into stage"),
    ("cases.patients.services", "copy_rows", "classify: COPY results"),
]


class StatementTimer:
    """Seconds per labelled SQL statement, via connection.execute_wrapper (every cursor.execute).

    With `explain` (a regex), each matching statement is first run under
    EXPLAIN (ANALYZE, BUFFERS) inside a savepoint that is rolled back, and the
    plan kept in `plans`; that doubles its cost, so only in a diagnostic run.
    """

    def __init__(self, label: Callable[[str], str], explain: str | None = None) -> None:
        self.label, self.explain = label, explain
        self.seconds: dict[str, float] = defaultdict(float)
        self.plans: list[tuple[str, str]] = []

    def __call__(self, execute, sql, params, many, context):
        if self.explain and not many and re.search(self.explain, sql):
            self.plans.append((sql, self._plan(context["cursor"].cursor, sql, params)))
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[self.label(sql)] += time.perf_counter() - start

    @staticmethod
    def _plan(raw, sql: str, params) -> str:
        raw.execute("SAVEPOINT bench_explain")
        try:
            raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            return "\n".join(row[0] for row in raw.fetchall())
        finally:
            raw.execute("ROLLBACK TO SAVEPOINT bench_explain")


@contextmanager
def ledger_statements(explain: str | None = None):
    """Time the SQL statements and COPYs of the ledger and follow-up imports by label."""
    from django.db import connection

    statements = StatementTimer(ledger_sql_label, explain)
    with phases(LEDGER_COPIES) as copies, connection.execute_wrapper(statements):
        yield statements
    for name, seconds in copies.seconds.items():
        statements.seconds[name] += seconds


def timed(function: Callable, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


SCREENING_SQL = [
    (r"FROM stage_visits s WHERE s\.campaign_code", "stage: check codes and duplicates"),
    (r"INSERT INTO cases_visit", "write: visits upsert (INSERT … ON CONFLICT)"),
    (r"SELECT DISTINCT c\.id FROM stage_visits", "derive: campaigns touched"),
    (r"^UPDATE cases_visit v SET", "derive: visits_derive UPDATE (R31, R32)"),
    (r"cases_suspectedcase", "derive: suspected cases (R33)"),
    (r"^DELETE FROM cases_coveragecount", "coverage: DELETE old counts"),
    (r"INSERT INTO cases_coveragecount[\s\S]*GROUPING SETS", "coverage: households by unit (GROUPING SETS)"),
    (r"INSERT INTO cases_coveragecount", "coverage: units without households"),
    (r"WHERE NOT v\.screened OR v\.on_site IS FALSE", "report: rows that do not count"),
]


def screening_sql_label(sql: str) -> str:
    for pattern, label in SCREENING_SQL:
        if re.search(pattern, sql.strip()):
            return label
    return "other SQL (stage table, campaigns, ORM)"


@contextmanager
def screening_statements(explain: str | None = None):
    """Time the SQL statements and COPYs of the screening and campaign imports by label."""
    from django.db import connection

    statements = StatementTimer(screening_sql_label, explain)
    copies = [("cases.screening.importers", "copy_rows", "stage: COPY")]
    with phases(copies) as copied, connection.execute_wrapper(statements):
        yield statements
    for name, seconds in copied.seconds.items():
        statements.seconds[name] += seconds
