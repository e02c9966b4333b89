"""Placement on the grid (R0), which every importer and form shares, and the writes that
keep the grid's derived columns right.

Each statement is set-based: one UPDATE per level, never a loop of per-row
queries (DESIGN "Principles"). Hand-written SQL says why the ORM was not enough.
"""

import secrets

from django.core.cache import cache
from django.db import connection, transaction

from gridmap import tiles
from gridmap.models import LEVEL_FIELDS, GridUnit, Household, Level, UnitTile

UNIT_TABLE = GridUnit._meta.db_table
HOUSEHOLD_TABLE = Household._meta.db_table
TILE_TABLE = UnitTile._meta.db_table


def unit_chain(unit: GridUnit | None) -> tuple[int | None, ...]:
    """The five placement ids (county … micro-grid) of a unit and its ancestors."""
    return tuple(unit.ancestor_id(level) if unit else None for level in LEVEL_FIELDS)


def point_placement(point) -> tuple[int | None, ...]:
    """R0 for one point: the chain of the deepest unit covering it, the lowest code on a
    shared edge; all None for a point in no unit."""
    return unit_chain(GridUnit.objects.covering(point).order_by("-level", "code").first())


def _ancestor_columns() -> list[str]:
    return [f"{name}_id" for name in LEVEL_FIELDS.values()]


def grid_units_refresh_ancestry() -> None:
    """Recompute every unit's per-level ancestor columns, top level first.

    Why raw SQL: each level is one UPDATE … FROM joining the parent row, which
    the ORM cannot express; rows already right are not rewritten.
    """
    columns = _ancestor_columns()
    with connection.cursor() as cursor:
        for level in range(1, 6):
            own = columns[level - 1]
            targets = []
            for index, column in enumerate(columns, start=1):
                if index < level:
                    targets.append(f"p.{column}")
                elif index == level:
                    targets.append("c.id")
                else:
                    targets.append("NULL::bigint")
            assignments = ", ".join(f"{c} = {t}" for c, t in zip(columns, targets, strict=True))
            current = ", ".join(f"c.{c}" for c in columns)
            wanted = ", ".join(targets)
            parent_join = f"FROM {UNIT_TABLE} p WHERE c.parent_id = p.id AND" if level > 1 else "WHERE"
            cursor.execute(
                f"UPDATE {UNIT_TABLE} c SET {assignments} {parent_join} c.level = %s "
                f"AND ROW({current}) IS DISTINCT FROM ROW({wanted})",
                [level],
            )
            del own


def unit_tiles_refresh() -> int:
    """The tile shapes (gridmap.tiles) of every unit added or changed since its shapes were
    made; returns how many were made. The cached tiles are replaced once the transaction
    commits.

    Why raw SQL: one INSERT … SELECT … ON CONFLICT transforms and simplifies every changed
    unit in PostGIS (the province's 118,992 units in one statement), each band only for the
    levels ever drawn from it; units whose boundary and level are unchanged are not rewritten.
    """
    columns, values, params = [], [], []
    for band in tiles.BANDS:
        columns.append(f"geom_{band}")
        params.append(max(level for level in Level.values if tiles.band_needed(band, level)))
        shape = "m.geom"
        if tolerance := tiles.band_tolerance(band):  # the last band keeps every vertex
            shape = "ST_SimplifyPreserveTopology(m.geom, %s)"
            params.append(tolerance)
        values.append(f"CASE WHEN u.level <= %s THEN ST_Multi({shape}) END")
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*columns, "level", "source_md5", "label"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TILE_TABLE} AS t (unit_id, level, source_md5, label, {", ".join(columns)})
            SELECT u.id, u.level, h.md5, ST_Transform(ST_PointOnSurface(u.geom), 3857),
                   {", ".join(values)}
            FROM {UNIT_TABLE} u
            CROSS JOIN LATERAL (SELECT md5(ST_AsEWKB(u.geom)) AS md5) h
            CROSS JOIN LATERAL (SELECT ST_Transform(u.geom, 3857) AS geom) m
            LEFT JOIN {TILE_TABLE} x ON x.unit_id = u.id
            WHERE x.unit_id IS NULL OR x.source_md5 IS DISTINCT FROM h.md5 OR x.level IS DISTINCT FROM u.level
            ON CONFLICT (unit_id) DO UPDATE SET {updates}
            """,
            params,
        )
        made = cursor.rowcount
    if made:
        unit_tiles_changed()
    return made


def unit_tiles_changed() -> None:
    """Every cached unit tile (and every browser's copy, through the ETag) is stale once
    this transaction commits: a new version is drawn then."""
    transaction.on_commit(lambda: cache.set(tiles.VERSION_KEY, secrets.token_hex(8), timeout=None))


def grid_units_refresh_counts() -> None:
    """Household and population counts of every unit.

    Why this shape: one aggregate over the households by their deepest unit
    (one scan of a table of millions), then a roll-up through the unit tree,
    level by level (a table of thousands); only changed units are rewritten.
    """
    deepest = "coalesce(" + ", ".join(
        f"{name}_id" for name in reversed(list(LEVEL_FIELDS.values()))) + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS unit_counts")
        cursor.execute(
            f"""
            CREATE TEMP TABLE unit_counts ON COMMIT DROP AS
            SELECT u.id, u.level, u.parent_id,
                   coalesce(d.n, 0)::bigint AS n, coalesce(d.p, 0)::bigint AS p
            FROM {UNIT_TABLE} u LEFT JOIN (
                SELECT {deepest} AS id, count(*) AS n, sum(residents) AS p
                FROM {HOUSEHOLD_TABLE} GROUP BY 1
            ) d ON d.id = u.id
            """
        )
        for level in (5, 4, 3, 2):
            cursor.execute(
                """
                UPDATE unit_counts t SET n = t.n + c.n, p = t.p + c.p
                FROM (SELECT parent_id, sum(n) AS n, sum(p) AS p FROM unit_counts
                      WHERE level = %s GROUP BY parent_id) c
                WHERE t.id = c.parent_id
                """,
                [level],
            )
        cursor.execute(
            f"""
            UPDATE {UNIT_TABLE} u SET households = t.n, population = t.p
            FROM unit_counts t
            WHERE u.id = t.id AND (u.households, u.population) IS DISTINCT FROM (t.n, t.p)
            """
        )
        if cursor.rowcount:  # the tiles carry the counts
            unit_tiles_changed()


def point_assignment_sql(points_table: str, key: str, target: str) -> list[str]:
    """Statements that fill `target(key, unit_id)` with the unit each point lies in (R0).

    Why this shape: the polygon-outer join (each micro-grid probes the points'
    GiST index) is ~7x faster than the point-outer order the planner may pick,
    so `CROSS JOIN LATERAL (… OFFSET 0)` pins it. `ST_Covers` puts a point on
    an edge in every unit touching it; DISTINCT ON … ORDER BY code keeps the
    one with the lowest code. Points no micro-grid covers (usually few: outside
    the area, or a file that stops above level 5) then go, point-outer, to the
    deepest unit that covers them, so nothing is lost.
    """
    rest = f"{target}_rest"
    return [
        f"DROP TABLE IF EXISTS {target}",
        f"CREATE TEMP TABLE {target} ({key} bigint PRIMARY KEY, unit_id bigint) ON COMMIT DROP",
        f"""
        INSERT INTO {target} ({key}, unit_id)
        SELECT DISTINCT ON (pt.{key}) pt.{key}, u.id
        FROM {UNIT_TABLE} u
        CROSS JOIN LATERAL (
            SELECT s.{key} FROM {points_table} s WHERE ST_Covers(u.geom, s.geom) OFFSET 0
        ) pt
        WHERE u.level = 5
        ORDER BY pt.{key}, u.code
        """,
        f"DROP TABLE IF EXISTS {rest}",
        f"""
        CREATE TEMP TABLE {rest} ON COMMIT DROP AS
        SELECT s.{key}, s.geom FROM {points_table} s
        WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{key} = s.{key})
        """,
        f"""
        INSERT INTO {target} ({key}, unit_id)
        SELECT DISTINCT ON (r.{key}) r.{key}, u.id
        FROM {rest} r JOIN {UNIT_TABLE} u ON u.level < 5 AND ST_Covers(u.geom, r.geom)
        ORDER BY r.{key}, u.level DESC, u.code
        """,
    ]


def households_reassign_all() -> int:
    """Re-place every stored household after the grid changed; returns rows changed.

    Builds the new assignment in a temporary table and rewrites only the
    households whose units changed (never every row).
    """
    columns = _ancestor_columns()
    with connection.cursor() as cursor:
        for statement in point_assignment_sql(HOUSEHOLD_TABLE, "id", "household_assign"):
            cursor.execute(statement)
        sets = ", ".join(f"{c} = u.{c}" for c in columns)
        old = ", ".join(f"h.{c}" for c in columns)
        new = ", ".join(f"u.{c}" for c in columns)
        cursor.execute(
            f"""
            UPDATE {HOUSEHOLD_TABLE} h SET {sets}
            FROM {HOUSEHOLD_TABLE} h2
            LEFT JOIN household_assign a ON a.id = h2.id
            LEFT JOIN {UNIT_TABLE} u ON u.id = a.unit_id
            WHERE h.id = h2.id AND ROW({old}) IS DISTINCT FROM ROW({new})
            """
        )
        changed = cursor.rowcount
    grid_units_refresh_counts()
    return changed
