"""Households / standard addresses (formats.md §2), placed on the grid set-based (R0).

A province file has millions of rows, so every check is a vectorised pandas
or numpy expression, the rows reach PostGIS in one COPY of CSV text, the
placement is one pinned join, and the rows are written once, already placed.
"""

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geodata.extent import SWAPPED_HINT, outside_china
from geodata.readers import (
    FileError,
    SourceCRS,
    alias_table,
    lonlat_to_wgs84,
    normalise_columns,
    read_table,
    read_vector,
)
from geodata.report import LISTED, ImportReport, Progress, run_atomic
from geodata.staging import copy_csv, create_stage, execute, fetch, secondary_indexes_dropped, srid
from gridmap import services
from gridmap.importers.grid_units import size_warnings
from gridmap.models import LEVEL_FIELDS, Household
from gridmap.services import HOUSEHOLD_TABLE, UNIT_TABLE

HOUSEHOLD_COLUMNS = {
    "code": "地址编码", "address": "地址", "residents": "人口数", "lon": "经度", "lat": "纬度",
}
OUTSIDE_LISTED = 1000  # points in no unit listed one by one; the rest are counted
RESIDENTS_MAX = 100_000  # more than any standard address (a building, a compound) houses
CODE_LENGTH = Household._meta.get_field("code").max_length
ADDRESS_LENGTH = Household._meta.get_field("address").max_length


def households_import(
    *,
    path: str | Path,
    source_crs: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    then: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Create or update households and place each in its units (R0), set-based.

    `then` runs in the import's transaction once the households are written and counted:
    what the apps above the grid keep in step with the households (config.importers hands
    in the screening coverage of running campaigns, whose denominators they are, R31)."""
    report, step = ImportReport.begin("households", dry_run=dry_run, progress=progress)
    read = report.read_file(lambda: _read(Path(path), SourceCRS.parse(source_crs)))
    if read is None:
        return report
    frame, lon, lat = read
    step(0.2, "read")
    with report.phase("validate"):
        table = _validate(frame, lon, lat, report)
    step(0.4, "checked rows")
    if not report.ok:
        return report

    def body() -> None:
        with report.phase("stage"):
            _stage(table)
        with report.phase("assign"):
            for statement in services.point_assignment_sql("stage_households", "n", "stage_assign"):
                execute(statement)
        step(0.7, "placed")
        with report.phase("write"):
            _upsert(report)
            _report_outside(report)
        step(0.9, "written")
        with report.phase("counts"):
            services.grid_units_refresh_counts()
            size_warnings(report)
            if then is not None:
                then(report)
        step(1.0, "counted")

    return run_atomic(report, dry_run=dry_run, body=body)


def _read(path: Path, source: SourceCRS) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rows, and their WGS84 lon/lat (NaN where there is no usable point)."""
    aliases = alias_table(HOUSEHOLD_COLUMNS)
    if path.suffix.lower() in {".csv", ".xlsx"}:
        frame = normalise_columns(read_table(path), aliases)
        for column in ("lon", "lat"):
            if column not in frame.columns:
                raise FileError(f"missing column: {column} ({HOUSEHOLD_COLUMNS[column]})")
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float)
        declared = None
        if source.kind == "declared":
            source = SourceCRS.WGS84  # formats.md §2: CSV is WGS84 unless told
        frame = frame.drop(columns=["lon", "lat"])
    else:
        frame, declared = read_vector(path)
        frame = normalise_columns(frame, aliases)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        is_point = shapely.get_type_id(geoms) == 0
        lon = np.where(is_point, shapely.get_x(geoms), np.nan)
        lat = np.where(is_point, shapely.get_y(geoms), np.nan)
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    for column in ("code", "address"):
        if column not in frame.columns:
            raise FileError(f"missing column: {column} ({HOUSEHOLD_COLUMNS[column]})")
    if "residents" not in frame.columns:
        frame["residents"] = ""
    lon, lat = lonlat_to_wgs84(lon, lat, declared, source)
    return frame, lon, lat


def _text(column: pd.Series) -> pd.Series:
    return column.where(column.notna(), "").astype(str).str.strip()


def _validate(frame: pd.DataFrame, lon: np.ndarray, lat: np.ndarray,
              report: ImportReport) -> pd.DataFrame:
    """Every bad row reported (row N, column C); returns the table to stage."""
    codes, addresses, residents_raw = (_text(frame[c]) for c in ("code", "address", "residents"))
    residents = pd.to_numeric(residents_raw, errors="coerce")
    bad_residents = (residents_raw != "") & ~((residents % 1 == 0) & residents.between(0, RESIDENTS_MAX))
    residents = residents.where(~bad_residents)  # 1e20 or 1e400 would not cast to an integer
    no_point = np.isnan(lon) | np.isnan(lat)
    checks = [
        (codes == "", "code", "required", lambda i: "code is required"),
        (codes.duplicated() & (codes != ""), "code", "duplicate_code",
         lambda i: f"duplicate code {codes.iat[i]}"),
        (addresses == "", "address", "required", lambda i: "address is required"),
        (codes.str.len() > CODE_LENGTH, "code", "too_long",
         lambda i: f"{len(codes.iat[i])} characters, more than the {CODE_LENGTH} allowed"),
        (addresses.str.len() > ADDRESS_LENGTH, "address", "too_long",
         lambda i: f"{len(addresses.iat[i])} characters, more than the {ADDRESS_LENGTH} allowed"),
        (bad_residents, "residents", "bad_number", lambda i: (
            f"residents must be a whole number from 0 to {RESIDENTS_MAX}, not {residents_raw.iat[i]!r}")),
        (no_point, "geometry", "bad_point", lambda i: "a point (lon/lat) is required"),
        (~no_point & outside_china(lon, lat), "geometry", "outside_china",
         lambda i: f"({lon[i]:.5f}, {lat[i]:.5f}) lies outside China's extent: {SWAPPED_HINT}"),
    ]
    found = [(i, order) for order, (mask, *_) in enumerate(checks) for i in np.flatnonzero(np.asarray(mask))]
    found.sort()
    for i, order in found[:LISTED]:  # messages only for the rows the report lists
        _, column, key, message = checks[order]
        report.error(f"row {i + 1}, column {column}", key, message(i))
    report.more_errors(max(0, len(found) - LISTED))
    others = [c for c in frame.columns if c not in HOUSEHOLD_COLUMNS]
    extra = (frame[others].to_json(orient="records", lines=True, force_ascii=False).splitlines()
             if others else None)
    return pd.DataFrame({
        "n": np.arange(1, len(frame) + 1), "code": codes, "address": addresses,
        "residents": residents.astype("Int64"), "extra": extra if extra else "{}",
        "lon": lon, "lat": lat,
    })


def _stage(table: pd.DataFrame) -> None:
    create_stage(
        "stage_households",
        "n bigint, code text, address text, residents int, extra jsonb, "
        f"lon float8, lat float8, geom geometry(Point, {srid()}) "
        f"GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), {srid()})) STORED",
    )
    buffer = StringIO()
    # Default float formatting round-trips every double: a point on an edge stays on it.
    table.to_csv(buffer, index=False, header=False)
    copy_csv("stage_households", list(table.columns), buffer.getvalue())
    execute("CREATE INDEX ON stage_households USING gist (geom)")
    execute("ANALYZE stage_households")


PLACEMENT_COLUMNS = [f"{name}_id" for name in LEVEL_FIELDS.values()]
PLACED_ROWS = f"""
    SELECT s.code, s.address, s.residents, s.geom, s.extra,
           {', '.join(f'u.{c}' for c in PLACEMENT_COLUMNS)}, now()
    FROM stage_households s
    LEFT JOIN stage_assign a ON a.n = s.n
    LEFT JOIN {UNIT_TABLE} u ON u.id = a.unit_id
"""
INSERT_INTO = f"""
    INSERT INTO {HOUSEHOLD_TABLE} AS h (code, address, residents, geom, extra,
                                      {', '.join(PLACEMENT_COLUMNS)}, updated_at)
"""


def _upsert(report: ImportReport) -> None:
    """Write the staged rows, placed, in one statement; count what changed."""
    if fetch(f"SELECT NOT EXISTS (SELECT 1 FROM {HOUSEHOLD_TABLE})")[0][0]:
        with secondary_indexes_dropped(HOUSEHOLD_TABLE):
            report.wrote(execute(INSERT_INTO + PLACED_ROWS), 0)
    else:
        report.wrote(*_merge())


def _merge() -> tuple[int, int]:
    """Insert new, update changed, leave the rest (re-imports).

    Why raw SQL: one INSERT … SELECT … ON CONFLICT over the staged rows joined to
    their placement, counting created and updated rows in the same statement.
    """
    current = ", ".join(f"h.{c}" for c in PLACEMENT_COLUMNS)
    excluded = ", ".join(f"EXCLUDED.{c}" for c in PLACEMENT_COLUMNS)
    return fetch(
        f"""
        WITH w AS (
            {INSERT_INTO} {PLACED_ROWS}
            ON CONFLICT (code) DO UPDATE SET
                address = EXCLUDED.address, residents = EXCLUDED.residents,
                geom = EXCLUDED.geom, extra = EXCLUDED.extra,
                {', '.join(f'{c} = EXCLUDED.{c}' for c in PLACEMENT_COLUMNS)}, updated_at = now()
            WHERE (h.address, h.residents, h.extra, ST_AsEWKB(h.geom), {current})
                  IS DISTINCT FROM (EXCLUDED.address, EXCLUDED.residents, EXCLUDED.extra,
                                    ST_AsEWKB(EXCLUDED.geom), {excluded})
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w
        """
    )[0]


def _report_outside(report: ImportReport) -> None:
    outside = fetch(
        "SELECT s.n, s.lon, s.lat FROM stage_households s "
        "WHERE NOT EXISTS (SELECT 1 FROM stage_assign a WHERE a.n = s.n) ORDER BY s.n"
    )
    report.stats["outside"] = len(outside)
    for n, lon, lat in outside[:OUTSIDE_LISTED]:
        report.warn(f"row {n}", "outside", f"({lon:.5f}, {lat:.5f}) lies in no stored unit")
    if len(outside) > OUTSIDE_LISTED:
        report.warn("", "outside", f"… and {len(outside) - OUTSIDE_LISTED} more points in no unit")
