"""Screening visits (排查记录, formats.md §5), then what counts (R31), on-site checks (R32),
suspected cases (R33) and the stored coverage of the campaigns touched."""

import re
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

from geodata.importers.cells import RowCells, parse_choice, parse_datetime, parse_float, text
from geodata.importers.common import Progress, extra_json, no_progress, read_ledger, run_atomic
from geodata.readers import FileError
from geodata.report import ImportReport
from geodata.staging import copy_rows, create_stage, fetch
from gridmap.models import LEVEL_FIELDS, User
from gridmap.services import HOUSEHOLD_TABLE, UNIT_TABLE

VISIT_COLUMNS = {
    "campaign_code": "排查活动编码", "household_code": "地址编码", "visited_at": "排查时间",
    "worker": "排查人", "lon": "经度", "lat": "纬度", "result": "结果",
}
REQUIRED = ("campaign_code", "household_code", "visited_at", "result")
NOBODY_HOME = "无人在家"
RESULTS = {  # cases.models.Visit.Result, stored as the Chinese answer
    "无异常": "无异常", "发现疑似患者": "发现疑似患者", NOBODY_HOME: NOBODY_HOME,
    "normal": "无异常", "suspected": "发现疑似患者", "nobody_home": NOBODY_HOME,
}
HAS_TIME = re.compile(r".*\d[ T]\d{1,2}:\d{2}(:\d{2})?")
LOCAL = ZoneInfo("Asia/Shanghai")
STAGE_COLUMNS = ("n bigint, campaign_code text, household_code text, visited_at timestamptz, "
                 "worker text, lon float8, lat float8, result text, extra jsonb")
STAGE_NAMES = [c.split()[0] for c in STAGE_COLUMNS.split(", ")]
WARNINGS_SHOWN = 200  # per kind; the stats count them all
WARNED = ("outside_window", "outside_scope", "not_on_site")  # counted, and warned about by row
# The household lies under the campaign's scope: its ancestor column of the scope's level.
IN_SCOPE = " OR ".join(
    f"(sc.level = {level} AND h.{name}_id = sc.id)" for level, name in LEVEL_FIELDS.items())
USER_TABLE = User._meta.db_table
LOCAL_DAY = "(v.visited_at AT TIME ZONE 'Asia/Shanghai')::date"


def screening_import(
    *, path: str | Path, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Add or update visits by (campaign, household, time); then derive, for the campaigns
    touched, which visits count and were on site, open suspected cases and store coverage."""
    step = progress or no_progress
    report = ImportReport(kind="screening", dry_run=dry_run)
    try:
        with report.phase("read"):
            frame = read_ledger(path, VISIT_COLUMNS, REQUIRED)
    except FileError as exc:
        report.error("", "file", str(exc))
        return report
    report.read = len(frame)
    extent = settings.GRIDCARE_IMPORT["china_extent"]
    with report.phase("validate"):
        rows = [_check(n, record, extent, report) for n, record in enumerate(frame.to_dict("records"), 1)]
    step(0.3, "checked rows")

    def body() -> None:
        with report.phase("stage"):
            create_stage("stage_visits", STAGE_COLUMNS)
            copy_rows("stage_visits", STAGE_NAMES, rows)
            _check_codes(report)
        if report.errors:
            return
        with report.phase("write"):
            report.created, report.updated = _write()
            report.unchanged = report.read - report.created - report.updated
        step(0.5, "written")
        with report.phase("derive"):
            _derive(report)
        step(0.8, "derived")
        with report.phase("report"):
            _report_visits(report)
        step(1.0, "coverage stored")

    return run_atomic(report, dry_run=dry_run, body=body)


def _check(n: int, record: dict, extent, report: ImportReport) -> tuple:
    """One row's cells (row N, column C: message); codes are checked against the stage."""
    row = RowCells(n, record, report)
    fail, cell = row.fail, row.cell
    row.require(REQUIRED)
    visited_at = cell("visited_at", parse_datetime)
    if visited_at and not HAS_TIME.fullmatch(text(record["visited_at"])):
        fail("visited_at", f"{text(record['visited_at'])!r} has no time (YYYY-MM-DD HH:MM)")
        visited_at = None
    lon, lat = cell("lon", parse_float), cell("lat", parse_float)
    if (lon is None) != (lat is None):
        fail("lat" if lat is None else "lon", "give both lon and lat, or neither")
        lon = lat = None
    elif lon is not None:
        lon0, lat0, lon1, lat1 = extent
        if not (lon0 <= lon <= lon1 and lat0 <= lat <= lat1):
            fail("lon", f"({lon}, {lat}) lies outside China's extent: are longitude and latitude swapped?")
            lon = lat = None
    return (
        n, text(record["campaign_code"]), text(record["household_code"]),
        visited_at.replace(tzinfo=LOCAL) if visited_at else None,  # Asia/Shanghai wall time
        text(record["worker"]), lon, lat, cell("result", parse_choice, RESULTS, "result"),
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
              AND NOT EXISTS (SELECT 1 FROM cases_campaign c WHERE c.code = s.campaign_code)
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


def _write() -> tuple[int, int]:
    """Why raw SQL: one INSERT … ON CONFLICT for the file, counting both outcomes; what
    counts and what was on site are derived afterwards, for whole campaigns."""
    return fetch(f"""
        WITH w AS (
            INSERT INTO cases_visit AS v (campaign_id, household_id, visited_at, worker_id, geom, result,
                                          screened, extra)
            SELECT c.id, h.id, s.visited_at, u.id, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326),
                   s.result, false, s.extra
            FROM stage_visits s
            JOIN cases_campaign c ON c.code = s.campaign_code
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
    """)[0]


def _derive(report: ImportReport) -> None:
    """R31–R33 and the stored coverage, for every campaign the file touches."""
    from cases import coverage

    ids = [pk for (pk,) in fetch("SELECT DISTINCT c.id FROM stage_visits s "
                                 "JOIN cases_campaign c ON c.code = s.campaign_code ORDER BY c.id")]
    coverage.visits_derive(ids)  # R31, R32
    report.stats["suspected_cases_opened"] = coverage.suspected_cases_open(ids)  # R33
    coverage.coverage_rebuild(ids)  # R31


def _report_visits(report: ImportReport) -> None:
    """What the file's visits amount to (R31, R32); the rows that do not count, or were
    not on site, are warned about by row. Only those rows are read back: every valid row
    is a stored visit, so the others are the ones counted."""
    rows = fetch(f"""
        SELECT s.n, v.screened, v.result = %s,
               {LOCAL_DAY} NOT BETWEEN c.starts_on AND c.ends_on, NOT ({IN_SCOPE}), v.on_site IS FALSE,
               c.code, c.starts_on, c.ends_on, {LOCAL_DAY}, h.code, sc.code, v.distance_m
        FROM stage_visits s
        JOIN cases_campaign c ON c.code = s.campaign_code
        JOIN {UNIT_TABLE} sc ON sc.id = c.scope_id
        JOIN {HOUSEHOLD_TABLE} h ON h.code = s.household_code
        JOIN cases_visit v ON v.campaign_id = c.id AND v.household_id = h.id AND v.visited_at = s.visited_at
        WHERE NOT v.screened OR v.on_site IS FALSE
        ORDER BY s.n
    """, [NOBODY_HOME])
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
