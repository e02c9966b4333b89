"""Importers for the files of spec/formats.md.

Each is one function that the management command, the admin upload page and
the RQ job all call (STYLE §6). Each is atomic: it validates everything,
reports every problem with its feature/row number, and writes nothing unless
the whole file is good (and not a dry run).
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from django.conf import settings
from django.db import transaction

from geodata.readers import (
    FileError,
    SourceCRS,
    alias_table,
    blank,
    extra_columns,
    normalise_columns,
    read_table,
    read_vector,
    to_wgs84,
)
from geodata.report import ImportAborted, ImportReport
from geodata.staging import copy_rows, create_stage, ewkb_hex, execute, fetch
from gridmap import services
from gridmap.services import HOUSEHOLD_TABLE, UNIT_TABLE

Progress = Callable[[float, str], None]

GRID_COLUMNS = {"code": "编码", "name": "名称", "level": "层级", "parent_code": "上级编码"}
HOUSEHOLD_COLUMNS = {
    "code": "地址编码", "address": "地址", "residents": "人口数", "lon": "经度", "lat": "纬度",
}


def _no_progress(fraction: float, message: str) -> None:
    return None


def _as_int(value) -> int | None:
    """An integer cell, whatever the file made of it ("3", 3, 3.0); None if not one."""
    if blank(value):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _china_extent_sql(column: str) -> str:
    lon0, lat0, lon1, lat1 = settings.GRIDCARE_IMPORT["china_extent"]
    return (
        f"(ST_XMin({column}) < {lon0} OR ST_XMax({column}) > {lon1} "
        f"OR ST_YMin({column}) < {lat0} OR ST_YMax({column}) > {lat1})"
    )


def _run(report: ImportReport, *, dry_run: bool, body: Callable[[], None]) -> ImportReport:
    """Run body in one transaction; roll back on errors or on a dry run."""
    try:
        with transaction.atomic():
            body()
            if report.errors or dry_run:
                raise ImportAborted
    except ImportAborted:
        pass
    return report


# --- grid units (formats.md §1) ---------------------------------------------------------


def grid_units_import(
    *,
    path: str | Path,
    source_crs: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    import_run_id: int | None = None,
) -> ImportReport:
    """Create or update grid units from any vector file OGR reads."""
    step = progress or _no_progress
    report = ImportReport(kind="grid_units", dry_run=dry_run)
    try:
        source = SourceCRS.parse(source_crs)
        frame, declared = read_vector(Path(path))
        frame = normalise_columns(frame, alias_table(GRID_COLUMNS))
        report.read = len(frame)
        missing = [c for c in ("code", "name", "level") if c not in frame.columns]
        if missing:
            raise FileError(f"missing column(s): {', '.join(missing)}")
        if "parent_code" not in frame.columns:
            frame["parent_code"] = ""
        geoms = to_wgs84(frame.geometry.values, declared, source)
    except FileError as exc:
        report.error("", "file", str(exc))
        return report
    step(0.1, "read")
    rows = _grid_rows(frame, geoms, report)

    def body() -> None:
        _grid_stage(rows)
        step(0.3, "staged")
        _grid_check_geometry(report)
        _grid_check_parents(report)
        step(0.5, "checked parents")
        _grid_check_spatial(report)
        step(0.8, "checked geometry")
        if report.errors:
            return
        _grid_write(report, import_run_id)
        services.grid_units_refresh_ancestry()
        if execute(f"SELECT 1 FROM {HOUSEHOLD_TABLE} LIMIT 1"):
            report.stats["households_moved"] = services.households_reassign_all()
            _size_warnings(report)
        step(1.0, "written")

    return _run(report, dry_run=dry_run, body=body)


def _grid_rows(frame: pd.DataFrame, geoms: np.ndarray, report: ImportReport) -> list[tuple]:
    """Attribute checks, one pass; returns staging rows (with an ok flag)."""
    extras = extra_columns(frame, set(GRID_COLUMNS))
    seen: dict[str, int] = {}
    rows = []
    records = frame[list(GRID_COLUMNS)].to_dict("records")
    for n, (record, geom, extra) in enumerate(zip(records, geoms, extras, strict=True), start=1):
        where = f"feature {n}"
        errors_before = len(report.errors)
        code = "" if blank(record["code"]) else str(record["code"]).strip()
        name = "" if blank(record["name"]) else str(record["name"]).strip()
        parent = "" if blank(record["parent_code"]) else str(record["parent_code"]).strip()
        level = _as_int(record["level"])
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
        if level is None or not 1 <= level <= 5:
            report.error(
                f"{where}, column level", "bad_level",
                f"level must be a whole number from 1 to 5, not {record['level']!r}",
            )
        elif level == 1 and parent:
            report.error(f"{where}, column parent_code", "bad_parent", "a level-1 unit has no parent")
        elif level > 1 and not parent:
            report.error(
                f"{where}, column parent_code", "required",
                f"parent_code is required for a level-{level} unit",
            )
        if geom is None or shapely.is_empty(geom):
            report.error(where, "empty_geometry", "empty geometry")
            geom = None
        ok = len(report.errors) == errors_before
        rows.append((n, code, name, level or 0, parent, _json(extra), ok))
        rows[-1] = rows[-1] + (geom,)
    hexes = ewkb_hex(np.array([r[-1] for r in rows], dtype=object)) if rows else []
    return [r[:-1] + (h,) for r, h in zip(rows, hexes, strict=True)]


def _json(value: dict) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _grid_stage(rows: list[tuple]) -> None:
    create_stage(
        "stage_units",
        "n int, code text, name text, level int, parent_code text, extra jsonb, ok bool, "
        "raw geometry, geom geometry(MultiPolygon, 4326)",
    )
    copy_rows(
        "stage_units", ["n", "code", "name", "level", "parent_code", "extra", "ok", "raw"], rows
    )
    # ST_MakeValid, then keep the polygonal part: a bow-tie becomes two
    # triangles; a line or a point becomes empty and is rejected below.
    execute(
        "UPDATE stage_units SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(raw), 3)) "
        "WHERE raw IS NOT NULL AND NOT ST_IsEmpty(raw)"
    )
    execute("CREATE INDEX ON stage_units (code)")
    execute("CREATE INDEX ON stage_units USING gist (geom)")
    execute("ANALYZE stage_units")


def _grid_check_geometry(report: ImportReport) -> None:
    for n, lon0, lat0, lon1, lat1 in fetch(
        "SELECT n, ST_XMin(raw), ST_YMin(raw), ST_XMax(raw), ST_YMax(raw) FROM stage_units "
        f"WHERE raw IS NOT NULL AND NOT ST_IsEmpty(raw) AND {_china_extent_sql('raw')} ORDER BY n"
    ):
        report.error(
            f"feature {n}", "outside_china",
            f"coordinates ({lon0:.4f}, {lat0:.4f})–({lon1:.4f}, {lat1:.4f}) lie outside "
            "China's extent: are longitude and latitude swapped, or is the CRS wrong?",
        )
    for n, kind, reason in fetch(
        "SELECT n, GeometryType(raw), ST_IsValidReason(raw) FROM stage_units "
        "WHERE raw IS NOT NULL AND NOT ST_IsEmpty(raw) AND ST_IsEmpty(geom) ORDER BY n"
    ):
        report.error(
            f"feature {n}", "invalid_geometry",
            f"invalid geometry ({kind}: {reason}) that ST_MakeValid cannot turn into a polygon",
        )
    execute("UPDATE stage_units SET ok = false WHERE geom IS NULL OR ST_IsEmpty(geom) "
            f"OR {_china_extent_sql('raw')}")


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
        "n int, code text, level int, parent_code text, geom geometry(MultiPolygon, 4326), "
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
        INSERT INTO gridmap_gridunitshape (unit_id, geom, valid_until, import_run_id)
        SELECT u.id, u.geom, now(), %s FROM {UNIT_TABLE} u JOIN stage_units s ON s.code = u.code
        WHERE ST_AsEWKB(u.geom) <> ST_AsEWKB(s.geom)
        """,
        [import_run_id],
    )
    # Level by level so that each parent exists before its children (the
    # check constraint and the trigger want a parent for every level > 1).
    for level in range(1, 6):
        created, updated = fetch(
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
        report.created += created
        report.updated += updated
    report.unchanged = report.read - report.created - report.updated


def _size_warnings(report: ImportReport) -> None:
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


# --- households (formats.md §2) -------------------------------------------------------------


def households_import(
    *,
    path: str | Path,
    source_crs: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Create or update households and place each in its units (R0), set-based."""
    step = progress or _no_progress
    report = ImportReport(kind="households", dry_run=dry_run)
    try:
        source = SourceCRS.parse(source_crs)
        frame, geoms = _household_frame(Path(path), source)
    except FileError as exc:
        report.error("", "file", str(exc))
        return report
    report.read = len(frame)
    step(0.2, "read")
    rows = _household_rows(frame, geoms, report)
    step(0.4, "checked rows")
    if report.errors:
        return report

    def body() -> None:
        _household_write(rows, report)
        step(0.9, "placed")
        services.grid_units_refresh_counts()
        _size_warnings(report)
        step(1.0, "written")

    return _run(report, dry_run=dry_run, body=body)


def _household_frame(path: Path, source: SourceCRS) -> tuple[pd.DataFrame, np.ndarray]:
    aliases = alias_table(HOUSEHOLD_COLUMNS)
    if path.suffix.lower() in {".csv", ".xlsx"}:
        frame = normalise_columns(read_table(path), aliases)
        for column in ("lon", "lat"):
            if column not in frame.columns:
                raise FileError(f"missing column: {column} ({HOUSEHOLD_COLUMNS[column]})")
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy()
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy()
        geoms = shapely.points(lon, lat)
        geoms[np.isnan(lon) | np.isnan(lat)] = None
        if source.kind == "declared":
            source = SourceCRS("epsg", 4326)  # formats.md §2: CSV is WGS84 by default
        geoms = to_wgs84(geoms, None, source)
    else:
        frame, declared = read_vector(path)
        frame = normalise_columns(frame, aliases)
        geoms = to_wgs84(frame.geometry.values, declared, source)
    for column in ("code", "address"):
        if column not in frame.columns:
            raise FileError(f"missing column: {column} ({HOUSEHOLD_COLUMNS[column]})")
    if "residents" not in frame.columns:
        frame["residents"] = ""
    return frame, np.asarray(geoms, dtype=object)


def _household_rows(frame: pd.DataFrame, geoms: np.ndarray, report: ImportReport) -> list[tuple]:
    """Vectorised checks (a province file has millions of rows); every bad row reported."""
    codes = frame["code"].astype(str).str.strip().where(~frame["code"].map(blank), "")
    addresses = frame["address"].astype(str).str.strip().where(~frame["address"].map(blank), "")
    residents = frame["residents"].map(_as_int)
    residents_blank = frame["residents"].map(blank)
    lon0, lat0, lon1, lat1 = settings.GRIDCARE_IMPORT["china_extent"]
    is_point = shapely.get_type_id(geoms) == 0
    x = np.where(is_point, shapely.get_x(geoms), np.nan)
    y = np.where(is_point, shapely.get_y(geoms), np.nan)
    checks = [
        (codes == "", "code", "required", lambda i: "code is required"),
        (codes.duplicated(keep="first") & (codes != ""), "code", "duplicate_code",
         lambda i: f"duplicate code {codes.iat[i]}"),
        (addresses == "", "address", "required", lambda i: "address is required"),
        (residents.isna() & ~residents_blank, "residents", "bad_number",
         lambda i: f"residents must be a whole number, not {frame['residents'].iat[i]!r}"),
        (pd.Series(~is_point | np.isnan(x)), "geometry", "bad_point",
         lambda i: "a point (lon/lat) is required"),
        (pd.Series(is_point & ((x < lon0) | (x > lon1) | (y < lat0) | (y > lat1))),
         "geometry", "outside_china",
         lambda i: f"({x[i]:.5f}, {y[i]:.5f}) lies outside China's extent: "
                   "are longitude and latitude swapped?"),
    ]
    bad = []
    for mask, column, key, message in checks:
        for i in np.flatnonzero(mask.to_numpy()):
            bad.append((i, column, key, message(i)))
    for i, column, key, message in sorted(bad):
        report.error(f"row {i + 1}, column {column}", key, message)
    extras = extra_columns(frame, set(HOUSEHOLD_COLUMNS))
    hexes = ewkb_hex(geoms)
    numbers = [None if pd.isna(v) else int(v) for v in residents]
    return list(zip(range(1, len(frame) + 1), codes, addresses, numbers,
                    map(_json, extras), hexes, strict=True))


def _household_write(rows: list[tuple], report: ImportReport) -> None:
    create_stage(
        "stage_households",
        "n bigint, code text, address text, residents int, extra jsonb, geom geometry(Point, 4326)",
    )
    copy_rows("stage_households", ["n", "code", "address", "residents", "extra", "geom"], rows)
    execute("CREATE INDEX ON stage_households USING gist (geom)")
    execute("ANALYZE stage_households")
    for statement in services.point_assignment_sql("stage_households", "n", "stage_assign"):
        execute(statement)
    columns = [f"{name}_id" for name in ("county", "township", "village", "grid", "micro_grid")]
    unit_cols = ", ".join(f"u.{c}" for c in columns)
    excluded = ", ".join(f"EXCLUDED.{c}" for c in columns)
    current = ", ".join(f"h.{c}" for c in columns)
    # Assignment happens at insert time: no second pass rewrites the rows.
    created, updated = fetch(
        f"""
        WITH w AS (
            INSERT INTO {HOUSEHOLD_TABLE} AS h (code, address, residents, geom, extra,
                                              {', '.join(columns)}, updated_at)
            SELECT s.code, s.address, s.residents, s.geom, s.extra, {unit_cols}, now()
            FROM stage_households s
            LEFT JOIN stage_assign a ON a.n = s.n
            LEFT JOIN {UNIT_TABLE} u ON u.id = a.unit_id
            ON CONFLICT (code) DO UPDATE SET
                address = EXCLUDED.address, residents = EXCLUDED.residents,
                geom = EXCLUDED.geom, extra = EXCLUDED.extra,
                {', '.join(f'{c} = EXCLUDED.{c}' for c in columns)}, updated_at = now()
            WHERE (h.address, h.residents, h.extra, ST_AsEWKB(h.geom), {current})
                  IS DISTINCT FROM (EXCLUDED.address, EXCLUDED.residents, EXCLUDED.extra,
                                    ST_AsEWKB(EXCLUDED.geom), {excluded})
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w
        """
    )[0]
    report.created, report.updated = created, updated
    report.unchanged = report.read - created - updated
    outside = fetch(
        "SELECT s.n, ST_X(s.geom), ST_Y(s.geom) FROM stage_households s "
        "WHERE NOT EXISTS (SELECT 1 FROM stage_assign a WHERE a.n = s.n) ORDER BY s.n"
    )
    report.stats["outside"] = len(outside)
    for n, lon, lat in outside[:1000]:
        report.warn(f"row {n}", "outside", f"({lon:.5f}, {lat:.5f}) lies in no stored unit")
    if len(outside) > 1000:
        report.warn("", "outside", f"… and {len(outside) - 1000} more points in no unit")


# --- staff and responsibilities (formats.md §7) ---------------------------------------------

STAFF_COLUMNS = {
    "username": "账号", "name": "姓名", "phone": "电话", "role": "角色", "unit_code": "负责单元编码",
}
ROLE_LABELS_ZH = {
    "区县重精办": "county_office", "乡镇综治办": "township_office", "卫生院精防人员": "health_staff",
    "民警": "police", "村两委": "village_committee", "联村领导": "liaison_leader",
    "村医": "village_doctor", "网格员": "grid_worker", "微网格长": "micro_grid_leader",
}


def staff_import(
    *, path: str | Path, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Create or update staff users and set the units each serves in each role.

    A person named in the file gets exactly the (role, unit) rows the file
    gives them; people not in the file are left alone. New users get no usable
    password: an administrator sets one (or single sign-on is configured).
    """
    from gridmap.models import GridUnit, Role, StaffAssignment, User

    step = progress or _no_progress
    report = ImportReport(kind="staff", dry_run=dry_run)
    try:
        frame = normalise_columns(read_table(Path(path)), alias_table(STAFF_COLUMNS))
        missing = [c for c in ("username", "name", "role", "unit_code") if c not in frame.columns]
        if missing:
            raise FileError(f"missing column(s): {', '.join(missing)}")
    except FileError as exc:
        report.error("", "file", str(exc))
        return report
    if "phone" not in frame.columns:
        frame["phone"] = ""
    report.read = len(frame)
    units = dict(GridUnit.objects.filter(code__in=set(frame["unit_code"])).values_list("code", "id"))
    people: dict[str, dict] = {}
    for n, row in enumerate(frame.to_dict("records"), start=1):
        role = ROLE_LABELS_ZH.get(row["role"], row["role"])
        checks = [
            (not row["username"], "username", "username is required"),
            (not row["name"], "name", "name is required"),
            (role not in Role.values, "role", f"unknown role {row['role']!r}"),
            (row["unit_code"] not in units, "unit_code", f"unknown unit {row['unit_code']!r}"),
        ]
        for failed, column, message in checks:
            if failed:
                report.error(f"row {n}, column {column}", "bad_value", message)
        person = people.setdefault(row["username"], {"name": row["name"], "phone": row["phone"],
                                                     "roles": set()})
        person["roles"].add((role, units.get(row["unit_code"])))
    step(0.5, "checked rows")
    if report.errors:
        return report

    def body() -> None:
        existing = set(User.objects.filter(username__in=people).values_list("username", flat=True))
        new_users = [User(username=u, full_name=p["name"], phone=p["phone"])
                     for u, p in people.items() if u not in existing]
        for user in new_users:
            user.set_unusable_password()
        User.objects.bulk_create(new_users)
        User.objects.bulk_update(
            [User(id=uid, full_name=people[u]["name"], phone=people[u]["phone"])
             for u, uid in User.objects.filter(username__in=existing).values_list("username", "id")],
            ["full_name", "phone"],
        )
        ids = dict(User.objects.filter(username__in=people).values_list("username", "id"))
        StaffAssignment.objects.filter(user_id__in=ids.values()).delete()
        StaffAssignment.objects.bulk_create(
            StaffAssignment(user_id=ids[u], role=role, unit_id=unit)
            for u, p in people.items() for role, unit in sorted(p["roles"])
        )
        report.created, report.updated = len(new_users), len(existing)
        report.stats["assignments"] = sum(len(p["roles"]) for p in people.values())
        step(1.0, "written")

    return _run(report, dry_run=dry_run, body=body)
