"""Importers of screening files: campaigns (排查活动, formats.md §6) and their visits
(排查记录, §5), then what counts (R31), on-site checks (R32), suspected cases (R33) and
the stored coverage of the campaigns touched. Each is one function that the command, the
upload page and the RQ job all call, atomic, reporting every bad row as `row N, column C`."""

import re
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from cases.screening import services
from cases.screening.models import Campaign, Visit
from geodata.cells import (
    RowCells,
    extra_json,
    parse_choice,
    parse_date,
    parse_datetime,
    parse_float,
    parse_share,
    text,
)
from geodata.extent import SWAPPED_HINT, outside_china
from geodata.readers import read_ledger
from geodata.report import ImportReport, Progress, run_atomic
from geodata.staging import copy_rows, create_stage, fetch, srid
from gridmap.calendar import local_zone
from gridmap.models import User
from gridmap.services import HOUSEHOLD_TABLE, UNIT_TABLE

CAMPAIGN, VISIT = Campaign._meta.db_table, Visit._meta.db_table
USER_TABLE = User._meta.db_table

# --- Campaigns (formats.md §6) ---------------------------------------------------------------

CAMPAIGN_COLUMNS = {
    "code": "活动编码", "name": "名称", "kind": "类型", "scope_code": "范围编码",
    "starts_on": "开始日期", "ends_on": "结束日期", "target": "目标覆盖率",
}
CAMPAIGN_REQUIRED = ("code", "name", "kind", "scope_code", "starts_on", "ends_on")
KIND_LABELS = {  # formats.md §6: the Chinese names users write
    "乡镇半年专项排查": Campaign.Kind.TOWNSHIP_HALF_YEARLY, "村季度排查": Campaign.Kind.VILLAGE_QUARTERLY,
    "全域排查": Campaign.Kind.ANNUAL_FULL, "专项排查": Campaign.Kind.SPECIAL,
}
KINDS = {**{k: v.value for k, v in KIND_LABELS.items()}, **{kind.value: kind.value for kind in Campaign.Kind}}
DEFAULT_TARGET = Decimal("0.9")
FULL_TARGET = Decimal("1")  # annual_full: every household (逐村逐户逐人, R30)
CAMPAIGN_STAGE = ("n bigint, code text, name text, kind text, scope_code text, starts_on date, "
                  "ends_on date, target numeric, extra jsonb")


def campaigns_import(
    *, path: str | Path, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Create or update campaigns by code; then derive their visits and store their
    coverage, so a new campaign starts with its denominators and a changed window or
    scope re-decides which visits count (R31)."""
    report, step = ImportReport.begin("campaigns", dry_run=dry_run, progress=progress)
    frame = report.read_file(lambda: read_ledger(path, CAMPAIGN_COLUMNS, CAMPAIGN_REQUIRED))
    if frame is None:
        return report
    with report.phase("validate"):
        rows = _validate_campaigns(frame, report)
    step(0.3, "checked rows")

    def body() -> None:
        with report.phase("stage"):
            create_stage("stage_campaigns", CAMPAIGN_STAGE)
            copy_rows("stage_campaigns", _names(CAMPAIGN_STAGE), rows)
            for n, code in fetch(f"""
                SELECT s.n, s.scope_code FROM stage_campaigns s
                WHERE s.scope_code <> ''
                  AND NOT EXISTS (SELECT 1 FROM {UNIT_TABLE} u WHERE u.code = s.scope_code)
                ORDER BY s.n
            """):
                report.error(f"row {n}, column scope_code", "unknown_unit", f"unknown unit {code!r}")
        if not report.ok:
            return
        with report.phase("write"):
            report.wrote(*_write_campaigns())
        step(0.6, "written")
        with report.phase("coverage"):
            _derive_campaigns()
        step(1.0, "coverage stored")

    return run_atomic(report, dry_run=dry_run, body=body)


def _validate_campaigns(frame, report: ImportReport) -> list[tuple]:
    """Check every row (row N, column C: message); returns the rows to stage."""
    seen: dict[str, int] = {}
    rows = []
    for n, record in enumerate(frame.to_dict("records"), 1):
        row = _check_campaign(n, record, report)
        first = seen.setdefault(row[1], n) if row[1] else n
        if first != n:
            report.error(f"row {n}, column code", "duplicate",
                         f"duplicate code {row[1]!r} (first in row {first})")
        rows.append(row)
    return rows


def _check_campaign(n: int, record: dict, report: ImportReport) -> tuple:
    row = RowCells(n, record, report)
    fail, cell = row.fail, row.cell
    row.require(CAMPAIGN_REQUIRED)
    kind = cell("kind", parse_choice, KINDS, "kind")
    starts_on = cell("starts_on", parse_date, planned=True)
    ends_on = cell("ends_on", parse_date, planned=True)
    if starts_on and ends_on and ends_on < starts_on:
        fail("ends_on", f"{ends_on} is before starts_on {starts_on}")
    target = cell("target", parse_share)
    if target is None:
        target = FULL_TARGET if kind == Campaign.Kind.ANNUAL_FULL else DEFAULT_TARGET
    return (n, row.text("code", Campaign._meta.get_field("code").max_length),
            row.text("name", Campaign._meta.get_field("name").max_length), kind, row.text("scope_code", 64),
            starts_on, ends_on, target, extra_json(record, CAMPAIGN_COLUMNS))


def _write_campaigns() -> tuple[int, int]:
    """Why raw SQL: one INSERT … ON CONFLICT for the file, counting both outcomes."""
    return fetch(f"""
        WITH w AS (
            INSERT INTO {CAMPAIGN} AS c (code, name, kind, scope_id, starts_on, ends_on, target, extra)
            SELECT s.code, s.name, s.kind, u.id, s.starts_on, s.ends_on, s.target, s.extra
            FROM stage_campaigns s JOIN {UNIT_TABLE} u ON u.code = s.scope_code
            ON CONFLICT (code) DO UPDATE SET
                name = EXCLUDED.name, kind = EXCLUDED.kind, scope_id = EXCLUDED.scope_id,
                starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on, target = EXCLUDED.target,
                extra = EXCLUDED.extra
            WHERE (c.name, c.kind, c.scope_id, c.starts_on, c.ends_on, c.target, c.extra) IS DISTINCT FROM
                  (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.scope_id, EXCLUDED.starts_on,
                   EXCLUDED.ends_on, EXCLUDED.target, EXCLUDED.extra)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w
    """)[0]


def _derive_campaigns() -> None:
    """Every campaign of the file, unchanged ones too: re-importing a campaign file is
    how its denominators catch up with households imported since (R31)."""
    ids = [pk for (pk,) in fetch(f"SELECT c.id FROM stage_campaigns s "
                                 f"JOIN {CAMPAIGN} c ON c.code = s.code ORDER BY c.id")]
    services.visits_derive(ids)
    services.coverage_rebuild(ids)


def _names(columns_sql: str) -> list[str]:
    """The column names of a stage's column list ("n bigint, code text, …")."""
    return [column.split()[0] for column in columns_sql.split(", ")]


# --- Visits (formats.md §5) ------------------------------------------------------------------

VISIT_COLUMNS = {
    "campaign_code": "排查活动编码", "household_code": "地址编码", "visited_at": "排查时间",
    "worker": "排查人", "lon": "经度", "lat": "纬度", "result": "结果",
}
VISIT_REQUIRED = ("campaign_code", "household_code", "visited_at", "result")
RESULTS = {  # Visit.Result, stored as the Chinese answer; English keys accepted too
    **{r.value: r.value for r in Visit.Result},
    "normal": Visit.Result.NORMAL.value, "suspected": Visit.Result.SUSPECTED.value,
    "nobody_home": Visit.Result.NOBODY_HOME.value,
}
HAS_TIME = re.compile(r".*\d[ T]\d{1,2}:\d{2}(:\d{2})?")
VISIT_STAGE = ("n bigint, campaign_code text, household_code text, visited_at timestamptz, "
               "worker text, lon float8, lat float8, result text, extra jsonb")
WARNINGS_SHOWN = 200  # per kind; the stats count them all
WARNED = ("outside_window", "outside_scope", "not_on_site")  # counted, and warned about by row
LOCAL_DAY = "(v.visited_at AT TIME ZONE %(tz)s)::date"


def screening_import(
    *, path: str | Path, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Add or update visits by (campaign, household, time); then derive, for the campaigns
    touched, which visits count and were on site, open suspected cases and store coverage."""
    report, step = ImportReport.begin("screening", dry_run=dry_run, progress=progress)
    frame = report.read_file(lambda: read_ledger(path, VISIT_COLUMNS, VISIT_REQUIRED))
    if frame is None:
        return report
    with report.phase("validate"):
        rows = [_check_visit(n, record, report) for n, record in enumerate(frame.to_dict("records"), 1)]
    step(0.3, "checked rows")

    def body() -> None:
        with report.phase("stage"):
            create_stage("stage_visits", VISIT_STAGE)
            copy_rows("stage_visits", _names(VISIT_STAGE), rows)
            _check_codes(report)
        if not report.ok:
            return
        with report.phase("write"):
            report.wrote(*_write_visits())
        step(0.5, "written")
        with report.phase("derive"):
            _derive_visits(report)
        step(0.8, "derived")
        with report.phase("report"):
            _report_visits(report)
        step(1.0, "coverage stored")

    return run_atomic(report, dry_run=dry_run, body=body)


def _check_visit(n: int, record: dict, report: ImportReport) -> tuple:
    """One row's cells (row N, column C: message); codes are checked against the stage."""
    row = RowCells(n, record, report)
    fail, cell = row.fail, row.cell
    row.require(VISIT_REQUIRED)
    visited_at = cell("visited_at", parse_datetime)
    if visited_at and not HAS_TIME.fullmatch(text(record["visited_at"])):
        fail("visited_at", f"{text(record['visited_at'])!r} has no time (YYYY-MM-DD HH:MM)")
        visited_at = None
    lon, lat = cell("lon", parse_float), cell("lat", parse_float)
    if (lon is None) != (lat is None):
        fail("lat" if lat is None else "lon", "give both lon and lat, or neither")
        lon = lat = None
    elif lon is not None and outside_china(lon, lat):
        fail("lon", f"({lon}, {lat}) lies outside China's extent: {SWAPPED_HINT}")
        lon = lat = None
    return (
        n, row.text("campaign_code", 64), row.text("household_code", 64),
        visited_at.replace(tzinfo=local_zone()) if visited_at else None,  # local wall time
        row.text("worker", User._meta.get_field("username").max_length), lon, lat,
        cell("result", parse_choice, RESULTS, "result"),
        extra_json(record, VISIT_COLUMNS),
    )


def _check_codes(report: ImportReport) -> None:
    """Unknown campaign, household and worker codes, and rows repeating an earlier visit,
    in one pass over the stage, in row order."""
    for n, column, message in fetch(f"""
        SELECT n, column_name, message FROM (
            SELECT s.n, 1 AS o, 'campaign_code' AS column_name,
                   format('unknown campaign %%L', s.campaign_code) AS message
            FROM stage_visits s WHERE s.campaign_code <> ''
              AND NOT EXISTS (SELECT 1 FROM {CAMPAIGN} c WHERE c.code = s.campaign_code)
            UNION ALL
            SELECT s.n, 2, 'household_code', format('unknown household code %%L', s.household_code)
            FROM stage_visits s WHERE s.household_code <> ''
              AND NOT EXISTS (SELECT 1 FROM {HOUSEHOLD_TABLE} h WHERE h.code = s.household_code)
            UNION ALL
            SELECT s.n, 3, 'worker', format('unknown username %%L', s.worker)
            FROM stage_visits s WHERE s.worker <> ''
              AND NOT EXISTS (SELECT 1 FROM {USER_TABLE} u WHERE u.username = s.worker)
            UNION ALL
            SELECT d.n, 4, 'visited_at', format('the same visit as row %%s', d.first) FROM (
                SELECT s.n, min(s.n) OVER (PARTITION BY s.campaign_code, s.household_code, s.visited_at)
                       AS first
                FROM stage_visits s WHERE s.visited_at IS NOT NULL) d
            WHERE d.n <> d.first
        ) problems ORDER BY n, o
    """):
        report.error(f"row {n}, column {column}", "unknown" if column != "visited_at" else "duplicate",
                     message)


def _write_visits() -> tuple[int, int]:
    """Why raw SQL: one INSERT … ON CONFLICT for the file, counting both outcomes; what
    counts and what was on site are derived afterwards, for whole campaigns."""
    return fetch(f"""
        WITH w AS (
            INSERT INTO {VISIT} AS v (campaign_id, household_id, visited_at, worker_id, geom, result,
                                      screened, extra)
            SELECT c.id, h.id, s.visited_at, u.id, ST_SetSRID(ST_MakePoint(s.lon, s.lat), %s),
                   s.result, false, s.extra
            FROM stage_visits s
            JOIN {CAMPAIGN} c ON c.code = s.campaign_code
            JOIN {HOUSEHOLD_TABLE} h ON h.code = s.household_code
            LEFT JOIN {USER_TABLE} u ON u.username = s.worker
            ON CONFLICT (campaign_id, household_id, visited_at) DO UPDATE SET
                worker_id = EXCLUDED.worker_id, geom = EXCLUDED.geom, result = EXCLUDED.result,
                extra = EXCLUDED.extra
            WHERE (v.worker_id, v.result, ST_AsEWKB(v.geom), v.extra) IS DISTINCT FROM
                  (EXCLUDED.worker_id, EXCLUDED.result, ST_AsEWKB(EXCLUDED.geom), EXCLUDED.extra)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w
    """, [srid()])[0]


def _derive_visits(report: ImportReport) -> None:
    """R31–R33 and the stored coverage, for every campaign the file touches."""
    ids = [pk for (pk,) in fetch(f"SELECT DISTINCT c.id FROM stage_visits s "
                                 f"JOIN {CAMPAIGN} c ON c.code = s.campaign_code ORDER BY c.id")]
    services.visits_derive(ids)  # R31, R32
    report.stats["suspected_cases_opened"] = services.suspected_cases_open(ids)  # R33
    services.coverage_rebuild(ids)  # R31


def _report_visits(report: ImportReport) -> None:
    """What the file's visits amount to (R31, R32); the rows that do not count, or were
    not on site, are warned about by row. Only those rows are read back: every valid row
    is a stored visit, so the others are the ones counted."""
    rows = fetch(f"""
        SELECT s.n, v.screened, v.result = %(nobody_home)s,
               {LOCAL_DAY} NOT BETWEEN c.starts_on AND c.ends_on, NOT ({services.IN_SCOPE_SQL}),
               v.on_site IS FALSE, c.code, c.starts_on, c.ends_on, {LOCAL_DAY}, h.code, sc.code, v.distance_m
        FROM stage_visits s
        JOIN {CAMPAIGN} c ON c.code = s.campaign_code
        JOIN {UNIT_TABLE} sc ON sc.id = c.scope_id
        JOIN {HOUSEHOLD_TABLE} h ON h.code = s.household_code
        JOIN {VISIT} v ON v.campaign_id = c.id AND v.household_id = h.id AND v.visited_at = s.visited_at
        WHERE NOT v.screened OR v.on_site IS FALSE
        ORDER BY s.n
    """, {"nobody_home": Visit.Result.NOBODY_HOME, "tz": settings.TIME_ZONE})
    counts = dict.fromkeys(("counted_for_coverage", "nobody_home", *WARNED), 0)
    counts["counted_for_coverage"] = report.read
    for n, screened, nobody, *found, code, starts, ends, day, household, scope, metres in rows:
        counts["counted_for_coverage"] -= not screened
        counts["nobody_home"] += nobody
        messages = (
            f"visited on {day}, outside campaign {code}'s window {starts}–{ends}: kept, does not count (R31)",
            f"household {household} is outside campaign {code}'s scope {scope}: kept, does not count (R31)",
            f"the GPS fix is {metres or 0:.0f} m from household {household}: not on site (R32)",
        )
        for key, hit, message in zip(WARNED, found, messages, strict=True):
            if hit:
                counts[key] += 1
                if counts[key] <= WARNINGS_SHOWN:
                    report.warn(f"row {n}", key, message)
    report.stats.update(counts)
