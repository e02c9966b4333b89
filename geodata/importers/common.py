"""What the importers share: the atomic run, cell parsing, size warnings."""

import json
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction

from geodata.readers import FileError, alias_table, blank, normalise_columns, read_table
from geodata.report import ImportAborted, ImportReport
from geodata.staging import fetch
from gridmap.services import UNIT_TABLE

Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    return None


def as_int(value) -> int | None:
    """An integer cell, whatever the file made of it ("3", 3, 3.0); None if not one."""
    if blank(value):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def to_json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def china_extent_sql(column: str) -> str:
    """A predicate true when a geometry's box leaves China (numbers from settings)."""
    lon0, lat0, lon1, lat1 = (float(v) for v in settings.GRIDCARE_IMPORT["china_extent"])
    return (
        f"(ST_XMin({column}) < {lon0} OR ST_XMax({column}) > {lon1} "
        f"OR ST_YMin({column}) < {lat0} OR ST_YMax({column}) > {lat1})"
    )


def run_atomic(report: ImportReport, *, dry_run: bool, body: Callable[[], None]) -> ImportReport:
    """Run body in one transaction; roll back on errors or on a dry run."""
    try:
        with transaction.atomic():
            body()
            if report.errors or dry_run:
                raise ImportAborted
    except ImportAborted:
        pass
    return report


def size_warnings(report: ImportReport) -> None:
    """Grids and micro-grids whose household counts are outside the usual range."""
    ranges = {4: settings.GRIDCARE_IMPORT["grid_households"],
              5: settings.GRIDCARE_IMPORT["micro_grid_households"]}
    for level, (low, high) in ranges.items():
        for code, households in fetch(
            f"SELECT code, households FROM {UNIT_TABLE} WHERE level = %s "
            "AND (households < %s OR households > %s) ORDER BY code",
            [level, low, high],
        ):
            report.warn(
                f"unit {code}", "unusual_size",
                f"{households} households, outside the usual {low}–{high} for level {level}",
            )


def read_ledger(path: str | Path, columns: dict[str, str], required: tuple[str, ...]):
    """A CSV/XLSX table with canonical column names; every known column present (blank
    when the file lacks it), unknown ones kept. FileError for a missing required column."""
    frame = normalise_columns(read_table(Path(path)), alias_table(columns))
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise FileError("missing column(s): " + ", ".join(f"{c} ({columns[c]})" for c in missing))
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
    return frame


def extra_json(record: dict, known) -> str:
    """formats.md: the columns an importer does not know, kept as JSON text (`extra`)."""
    from geodata.importers.cells import text

    return to_json({str(k): text(v) for k, v in record.items() if k not in known and text(v)})
