"""Grid units (formats.md §1) from any vector file OGR reads."""

from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from django.conf import settings

from geodata.cells import as_int, to_json
from geodata.extent import SWAPPED_HINT, outside_china_sql
from geodata.readers import (
    FileError,
    SourceCRS,
    alias_table,
    blank,
    extra_columns,
    normalise_columns,
    read_vector,
    to_wgs84,
)
from geodata.report import ImportReport, Progress, run_atomic
from geodata.shapes import shape_problem
from geodata.staging import copy_rows, create_stage, ewkb_hex, execute, fetch, srid
from gridmap import services
from gridmap.models import GridUnit, GridUnitShape
from gridmap.services import HOUSEHOLD_TABLE, UNIT_TABLE

GRID_COLUMNS = {"code": "编码", "name": "名称", "level": "层级", "parent_code": "上级编码"}
TEXT_LIMITS = {c: GridUnit._meta.get_field(c).max_length for c in ("code", "name")}


def grid_units_import(
    *,
    path: str | Path,
    source_crs: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    import_run_id: int | None = None,
) -> ImportReport:
    """Create or update grid units from any vector file OGR reads."""
    report, step = ImportReport.begin("grid_units", dry_run=dry_run, progress=progress)
    read = report.read_file(lambda: _read(Path(path), SourceCRS.parse(source_crs)), unit="feature")
    if read is None:
        return report
    frame, geoms, unbuildable = read
    step(0.1, "read")
    rows = _grid_rows(frame, geoms, unbuildable, report)

    def body() -> None:
        _grid_stage(rows)
        step(0.3, "staged")
        _grid_check_geometry(report)
        _grid_check_parents(report)
        step(0.5, "checked parents")
        _grid_check_spatial(report)
        step(0.8, "checked geometry")
        if not report.ok:
            return
        _grid_write(report, import_run_id)
        services.grid_units_refresh_ancestry()
        report.stats["tile_shapes_made"] = services.unit_tiles_refresh()
        if execute(f"SELECT 1 FROM {HOUSEHOLD_TABLE} LIMIT 1"):
            report.stats["households_moved"] = services.households_reassign_all()
            size_warnings(report)
        step(1.0, "written")

    return run_atomic(report, dry_run=dry_run, body=body)


def _read(path: Path, source: SourceCRS) -> tuple[pd.DataFrame, np.ndarray, dict[int, str]]:
    """The features with canonical column names, their geometries in the stored CRS (in
    two dimensions, as stored), and why GDAL's ones that GEOS could not build were not."""
    frame, declared = read_vector(path)
    unbuildable = frame.attrs.get("unbuildable", {})
    frame = normalise_columns(frame, alias_table(GRID_COLUMNS))
    missing = [c for c in ("code", "name", "level") if c not in frame.columns]
    if missing:
        raise FileError(f"missing column(s): {', '.join(missing)}")
    if "parent_code" not in frame.columns:
        frame["parent_code"] = ""
    return frame, shapely.force_2d(to_wgs84(frame.geometry.values, declared, source)), unbuildable


def _grid_rows(frame: pd.DataFrame, geoms: np.ndarray, unbuildable: dict[int, str],
               report: ImportReport) -> list[tuple]:
    """Attribute checks, and the geometry checks PostGIS must not be left to, one pass;
    returns staging rows (with an ok flag)."""
    extras = extra_columns(frame, set(GRID_COLUMNS))
    seen: dict[str, int] = {}
    rows = []
    records = frame[list(GRID_COLUMNS)].to_dict("records")
    for n, (record, geom, extra) in enumerate(zip(records, geoms, extras, strict=True), start=1):
        where = f"feature {n}"
        errors_before = report.error_count
        code = "" if blank(record["code"]) else str(record["code"]).strip()
        name = "" if blank(record["name"]) else str(record["name"]).strip()
        parent = "" if blank(record["parent_code"]) else str(record["parent_code"]).strip()
        level = as_int(record["level"])
        if not code:
            report.error(f"{where}, column code", "required", "code is required")
        elif code in seen:
            report.error(
                f"{where}, column code", "duplicate_code",
                f"duplicate code {code} (also feature {seen[code]})",
            )
        else:
            seen[code] = n
        if not name:
            report.error(f"{where}, column name", "required", "name is required")
        for column, value in (("code", code), ("name", name)):
            if len(value) > TEXT_LIMITS[column]:
                report.error(f"{where}, column {column}", "too_long",
                             f"{len(value)} characters, more than the {TEXT_LIMITS[column]} allowed")
        if level is None or not 1 <= level <= 5:
            report.error(
                f"{where}, column level", "bad_level",
                f"level must be a whole number from 1 to 5, not {record['level']!r}",
            )
            level = None
        elif level == 1 and parent:
            report.error(f"{where}, column parent_code", "bad_parent", "a level-1 unit has no parent")
        elif level > 1 and not parent:
            report.error(
                f"{where}, column parent_code", "required",
                f"parent_code is required for a level-{level} unit",
            )
        problem = None
        if n - 1 in unbuildable:
            problem = "unbuildable_geometry", f"unreadable geometry: {unbuildable[n - 1]}"
        elif geom is None or shapely.is_empty(geom):
            problem = "empty_geometry", "empty geometry"
        else:
            problem = shape_problem(geom)
        if problem:
            report.error(where, *problem)
            geom = None
        ok = report.error_count == errors_before
        rows.append((n, code, name, level or 0, parent, to_json(extra), ok))
        rows[-1] = rows[-1] + (geom,)
    hexes = ewkb_hex(np.array([r[-1] for r in rows], dtype=object)) if rows else []
    return [r[:-1] + (h,) for r, h in zip(rows, hexes, strict=True)]


def _grid_stage(rows: list[tuple]) -> None:
    create_stage(
        "stage_units",
        "n int, code text, name text, level int, parent_code text, extra jsonb, ok bool, "
        f"raw geometry, geom geometry(MultiPolygon, {srid()}), unioned bool",
    )
    copy_rows(
        "stage_units", ["n", "code", "name", "level", "parent_code", "extra", "ok", "raw"], rows
    )
    # ST_MakeValid, then keep the polygonal part: a bow-tie becomes two
    # triangles; a line or a point becomes empty and is rejected below. Only inside
    # China's extent: what lies outside is refused anyway, and 1e308 is no coordinate
    # to compute with (too tangled geometries never reach here: geodata.shapes).
    # The polygons kept may overlap or share edges, which a MultiPolygon may not: then
    # their union is the area (the spatial checks below intersect it), and `unioned`
    # says which were, for the check that the union came out valid.
    outside, outside_params = outside_china_sql("raw")
    execute(
        f"""
        WITH made AS MATERIALIZED (  -- each repair computed once
            SELECT n, ST_Multi(ST_CollectionExtract(ST_MakeValid(raw), 3)) AS geom FROM stage_units
            WHERE raw IS NOT NULL AND NOT ST_IsEmpty(raw) AND NOT {outside}
        ), checked AS MATERIALIZED (SELECT n, geom, ST_IsValid(geom) AS valid FROM made)
        UPDATE stage_units s
        SET geom = CASE WHEN c.valid THEN c.geom
                        ELSE ST_Multi(ST_CollectionExtract(ST_UnaryUnion(c.geom), 3)) END,
            unioned = NOT c.valid
        FROM checked c WHERE s.n = c.n
        """, outside_params
    )
    execute("CREATE INDEX ON stage_units (code)")
    execute("CREATE INDEX ON stage_units USING gist (geom)")
    execute("ANALYZE stage_units")


def _grid_check_geometry(report: ImportReport) -> None:
    outside, outside_params = outside_china_sql("raw")
    for n, lon0, lat0, lon1, lat1 in fetch(
        "SELECT n, ST_XMin(raw), ST_YMin(raw), ST_XMax(raw), ST_YMax(raw) FROM stage_units "
        f"WHERE raw IS NOT NULL AND NOT ST_IsEmpty(raw) AND {outside} ORDER BY n", outside_params
    ):
        report.error(
            f"feature {n}", "outside_china",
            f"coordinates ({lon0:.4f}, {lat0:.4f})–({lon1:.4f}, {lat1:.4f}) lie outside "
            f"China's extent: {SWAPPED_HINT} Or is the CRS wrong?",
        )
    for n, kind, reason in fetch(
        "SELECT n, GeometryType(raw), ST_IsValidReason(raw) FROM stage_units "
        "WHERE raw IS NOT NULL AND NOT ST_IsEmpty(raw) AND ST_IsEmpty(geom) ORDER BY n"
    ):
        report.error(
            f"feature {n}", "invalid_geometry",
            f"invalid geometry ({kind}: {reason}) that ST_MakeValid cannot turn into a polygon",
        )
    unrepaired = [n for (n,) in fetch(
        "SELECT n FROM stage_units WHERE unioned AND NOT ST_IsEmpty(geom) AND NOT ST_IsValid(geom) "
        "ORDER BY n")]
    for n in unrepaired:
        report.error(f"feature {n}", "invalid_geometry",
                     "invalid geometry that could not be repaired automatically; fix it in the GIS")
    execute("UPDATE stage_units SET ok = false "
            f"WHERE geom IS NULL OR ST_IsEmpty(geom) OR n = ANY(%s) OR {outside}",
            [unrepaired, *outside_params])


def _grid_check_parents(report: ImportReport) -> None:
    # Why raw SQL: the parent may be in the file or already stored; one join answers both.
    for n, level, parent_code, parent_level in fetch(
        f"""
        SELECT DISTINCT ON (s.n) s.n, s.level, s.parent_code, coalesce(ps.level, pu.level)
        FROM stage_units s
        LEFT JOIN stage_units ps ON ps.code = s.parent_code
        LEFT JOIN {UNIT_TABLE} pu ON pu.code = s.parent_code
        WHERE s.level > 1 AND s.parent_code <> ''
          AND (coalesce(ps.level, pu.level) IS NULL OR coalesce(ps.level, pu.level) <> s.level - 1)
        ORDER BY s.n
        """
    ):
        if parent_level is None:
            report.error(
                f"feature {n}, column parent_code", "unknown_parent",
                f"unknown parent {parent_code}: neither in the file nor stored",
            )
        else:
            report.error(
                f"feature {n}, column level", "level_mismatch",
                f"level {level} but parent {parent_code} is level {parent_level}; "
                "a unit's level must be its parent's level + 1",
            )
    for n, code, old, new in fetch(
        f"""
        SELECT DISTINCT s.n, s.code, u.level, s.level FROM stage_units s
        JOIN {UNIT_TABLE} u ON u.code = s.code AND u.level <> s.level
        JOIN {UNIT_TABLE} c ON c.parent_id = u.id
        WHERE NOT EXISTS (SELECT 1 FROM stage_units sc WHERE sc.code = c.code)
        ORDER BY s.n
        """
    ):
        report.error(
            f"feature {n}, column level", "level_mismatch",
            f"changing {code} from level {old} to {new} would break its stored children",
        )


def _grid_check_spatial(report: ImportReport) -> None:
    limits = settings.GRIDCARE_IMPORT
    # The units the checks compare: the good staged ones, plus stored units
    # not re-imported that are parents or siblings of staged ones.
    create_stage(
        "stage_eff",
        f"n int, code text, level int, parent_code text, geom geometry(MultiPolygon, {srid()}), "
        "staged bool",
    )
    execute(
        f"""
        INSERT INTO stage_eff
        SELECT n, code, level, parent_code, geom, true FROM stage_units WHERE ok
        UNION ALL
        SELECT NULL, u.code, u.level, coalesce(p.code, ''), u.geom, false
        FROM {UNIT_TABLE} u LEFT JOIN {UNIT_TABLE} p ON p.id = u.parent_id
        WHERE NOT EXISTS (SELECT 1 FROM stage_units s WHERE s.code = u.code)
          AND (coalesce(p.code, '') IN (SELECT parent_code FROM stage_units)
               OR u.code IN (SELECT parent_code FROM stage_units))
        """
    )
    execute("CREATE INDEX ON stage_eff (code)")
    execute("CREATE INDEX ON stage_eff (parent_code)")
    execute("ANALYZE stage_eff")
    for n, code, parent_code, outside in fetch(
        """
        SELECT c.n, c.code, c.parent_code,
               1 - ST_Area(ST_Intersection(c.geom, p.geom)) / nullif(ST_Area(c.geom), 0)
        FROM stage_eff c JOIN stage_eff p ON p.code = c.parent_code
        WHERE c.staged AND NOT ST_CoveredBy(c.geom, p.geom)
        ORDER BY c.n
        """
    ):
        if outside is not None and outside > limits["child_outside_parent_max"]:
            report.error(
                f"feature {n}", "outside_parent",
                f"{outside:.1%} of {code} lies outside its parent {parent_code} "
                f"(at most {limits['child_outside_parent_max']:.0%} allowed)",
            )
    for n_a, n_b, code_a, code_b, share in fetch(
        """
        SELECT a.n, b.n, a.code, b.code,
               ST_Area(ST_Intersection(a.geom, b.geom))
                 / nullif(least(ST_Area(a.geom), ST_Area(b.geom)), 0)
        FROM stage_eff a JOIN stage_eff b
          ON a.parent_code = b.parent_code AND a.code < b.code AND a.geom && b.geom
        WHERE (a.staged OR b.staged) AND ST_Relate(a.geom, b.geom, 'T********')
        ORDER BY coalesce(a.n, b.n), b.n
        """
    ):
        if share is not None and share > limits["sibling_overlap_max"]:
            where = f"feature {n_a if n_a is not None else n_b}"
            report.error(
                where, "sibling_overlap",
                f"{code_a} and {code_b} overlap by {share:.1%} of the smaller one "
                f"(at most {limits['sibling_overlap_max']:.0%} allowed)",
            )
    _gap_warnings(report)


def _gap_warnings(report: ImportReport) -> None:
    for n, code, covered in fetch(
        """
        SELECT p.n, p.code,
               sum(CASE WHEN ST_CoveredBy(c.geom, p.geom) THEN ST_Area(c.geom)
                        ELSE ST_Area(ST_Intersection(c.geom, p.geom)) END)
                 / nullif(ST_Area(p.geom), 0)
        FROM stage_eff p JOIN stage_eff c ON c.parent_code = p.code
        WHERE p.staged OR c.staged
        GROUP BY p.n, p.code, p.geom ORDER BY p.code
        """
    ):
        if covered is not None and 1 - covered > settings.GRIDCARE_IMPORT["parent_gap_warn"]:
            where = f"feature {n}" if n is not None else f"unit {code}"
            report.warn(
                where, "gap",
                f"the children of {code} cover only {covered:.1%} of it",
            )


def _grid_write(report: ImportReport, import_run_id: int | None) -> None:
    # Geometry history: keep the old shape of every unit whose boundary changes.
    execute(
        f"""
        INSERT INTO {GridUnitShape._meta.db_table} (unit_id, geom, valid_until, import_run_id)
        SELECT u.id, u.geom, now(), %s FROM {UNIT_TABLE} u JOIN stage_units s ON s.code = u.code
        WHERE ST_AsEWKB(u.geom) <> ST_AsEWKB(s.geom)
        """,
        [import_run_id],
    )
    # Level by level so that each parent exists before its children (the
    # check constraint and the trigger want a parent for every level > 1).
    created = updated = 0
    for level in range(1, 6):
        at_level = fetch(
            f"""
            WITH w AS (
                INSERT INTO {UNIT_TABLE} AS u (code, name, level, parent_id, geom, extra,
                                              households, population, created_at, updated_at)
                SELECT s.code, s.name, s.level, p.id, s.geom, s.extra, 0, 0, now(), now()
                FROM stage_units s LEFT JOIN {UNIT_TABLE} p ON p.code = s.parent_code
                WHERE s.level = %s
                ON CONFLICT (code) DO UPDATE SET
                    name = EXCLUDED.name, level = EXCLUDED.level, parent_id = EXCLUDED.parent_id,
                    geom = EXCLUDED.geom, extra = EXCLUDED.extra, updated_at = now()
                WHERE (u.name, u.level, u.parent_id, u.extra, ST_AsEWKB(u.geom))
                      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_id,
                                        EXCLUDED.extra, ST_AsEWKB(EXCLUDED.geom))
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w
            """,
            [level],
        )[0]
        created, updated = created + at_level[0], updated + at_level[1]
    report.wrote(created, updated)


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
