"""Screening campaigns (排查活动, formats.md §6), then their coverage denominators (R30, R31)."""

from decimal import Decimal
from pathlib import Path

from geodata.importers.cells import RowCells, parse_choice, parse_date, parse_share, text
from geodata.importers.common import Progress, extra_json, no_progress, read_ledger, run_atomic
from geodata.readers import FileError
from geodata.report import ImportReport
from geodata.staging import copy_rows, create_stage, fetch
from gridmap.services import UNIT_TABLE

CAMPAIGN_COLUMNS = {
    "code": "活动编码", "name": "名称", "kind": "类型", "scope_code": "范围编码",
    "starts_on": "开始日期", "ends_on": "结束日期", "target": "目标覆盖率",
}
REQUIRED = ("code", "name", "kind", "scope_code", "starts_on", "ends_on")
KIND_LABELS = {
    "乡镇半年专项排查": "township_half_yearly", "村季度排查": "village_quarterly",
    "全域排查": "annual_full", "专项排查": "special",
}
KINDS = {**KIND_LABELS, **{key: key for key in KIND_LABELS.values()}}
DEFAULT_TARGET = Decimal("0.9")
FULL_TARGET = Decimal("1")  # annual_full: every household (逐村逐户逐人, R30)
STAGE_COLUMNS = ("n bigint, code text, name text, kind text, scope_code text, starts_on date, "
                 "ends_on date, target numeric, extra jsonb")
STAGE_NAMES = [c.split()[0] for c in STAGE_COLUMNS.split(", ")]


def campaigns_import(
    *, path: str | Path, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Create or update campaigns by code; then derive their visits and store their
    coverage, so a new campaign starts with its denominators and a changed window or
    scope re-decides which visits count (R31)."""
    step = progress or no_progress
    report = ImportReport(kind="campaigns", dry_run=dry_run)
    try:
        with report.phase("read"):
            frame = read_ledger(path, CAMPAIGN_COLUMNS, REQUIRED)
    except FileError as exc:
        report.error("", "file", str(exc))
        return report
    report.read = len(frame)
    with report.phase("validate"):
        rows = _validate(frame, report)
    step(0.3, "checked rows")

    def body() -> None:
        with report.phase("stage"):
            create_stage("stage_campaigns", STAGE_COLUMNS)
            copy_rows("stage_campaigns", STAGE_NAMES, rows)
            for n, code in fetch(f"""
                SELECT s.n, s.scope_code FROM stage_campaigns s
                WHERE s.scope_code <> ''
                  AND NOT EXISTS (SELECT 1 FROM {UNIT_TABLE} u WHERE u.code = s.scope_code)
                ORDER BY s.n
            """):
                report.error(f"row {n}, column scope_code", "unknown_unit", f"unknown unit {code!r}")
        if report.errors:
            return
        with report.phase("write"):
            report.created, report.updated = _write()
            report.unchanged = report.read - report.created - report.updated
        step(0.6, "written")
        with report.phase("coverage"):
            _derive()
        step(1.0, "coverage stored")

    return run_atomic(report, dry_run=dry_run, body=body)


def _validate(frame, report: ImportReport) -> list[tuple]:
    """Check every row (row N, column C: message); returns the rows to stage."""
    seen: dict[str, int] = {}
    rows = []
    for n, record in enumerate(frame.to_dict("records"), 1):
        row = _check(n, record, report)
        first = seen.setdefault(row[1], n) if row[1] else n
        if first != n:
            report.error(f"row {n}, column code", "duplicate",
                         f"duplicate code {row[1]!r} (first in row {first})")
        rows.append(row)
    return rows


def _check(n: int, record: dict, report: ImportReport) -> tuple:
    row = RowCells(n, record, report)
    fail, cell = row.fail, row.cell
    row.require(REQUIRED)
    kind = cell("kind", parse_choice, KINDS, "kind")
    starts_on, ends_on = cell("starts_on", parse_date), cell("ends_on", parse_date)
    if starts_on and ends_on and ends_on < starts_on:
        fail("ends_on", f"{ends_on} is before starts_on {starts_on}")
    target = cell("target", parse_share)
    if target is None:
        target = FULL_TARGET if kind == "annual_full" else DEFAULT_TARGET
    return (n, text(record["code"]), text(record["name"]), kind, text(record["scope_code"]),
            starts_on, ends_on, target, extra_json(record, CAMPAIGN_COLUMNS))


def _write() -> tuple[int, int]:
    """Why raw SQL: one INSERT … ON CONFLICT for the file, counting both outcomes."""
    return fetch(f"""
        WITH w AS (
            INSERT INTO cases_campaign AS c (code, name, kind, scope_id, starts_on, ends_on, target, extra)
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


def _derive() -> None:
    """Every campaign of the file, unchanged ones too: re-importing a campaign file is
    how its denominators catch up with households imported since (R31)."""
    from cases import coverage

    ids = [pk for (pk,) in fetch("SELECT c.id FROM stage_campaigns s "
                                 "JOIN cases_campaign c ON c.code = s.code ORDER BY c.id")]
    coverage.visits_derive(ids)
    coverage.coverage_rebuild(ids)
