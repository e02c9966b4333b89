"""Bulk loading of validated rows into temporary staging tables.

Why COPY rather than the ORM: a county file has 10k polygons and a province
household file millions of points; COPY moves them in one round trip, and
every later check and write is one set-based statement over the stage.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import shapely
from django.conf import settings
from django.db import connection


def srid() -> int:
    """The one SRID stored (settings.GRIDCARE_SRID), as an int: a column type in DDL such as
    geometry(Point, 4326) cannot take a bound parameter, so it is written from this."""
    return int(settings.GRIDCARE_SRID)


def create_stage(name: str, columns_sql: str) -> None:
    """A temporary table that disappears with the import's transaction."""
    with connection.cursor() as cursor:
        # Identifiers come from code, never from input.
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMP TABLE {name} ({columns_sql}) ON COMMIT DROP")


def copy_rows(name: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor, for COPY
        with raw.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def ewkb_hex(geoms) -> list[str | None]:
    """Hex EWKB with the stored SRID, which COPY accepts for a geometry column."""
    with_srid = shapely.set_srid(geoms, srid())
    return [
        None if g is None else h
        for g, h in zip(geoms, shapely.to_wkb(with_srid, hex=True, include_srid=True), strict=True)
    ]


def fetch(sql: str, params: Sequence = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def copy_csv(name: str, columns: Sequence[str], text: str) -> None:
    """COPY a whole CSV text at once (unquoted empty = NULL): for millions of rows."""
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            copy.write(text)


@contextmanager
def secondary_indexes_dropped(table: str) -> Iterator[None]:
    """Drop a table's indexes that back no constraint, and rebuild them after.

    Why: loading millions of rows into an empty table is several times faster
    with the GiST and foreign-key indexes built once at the end (sorted build)
    than maintained row by row. Transactional DDL: on a rollback the indexes
    come back untouched. The table is locked for the duration, so this is
    only used when the table is empty (a first load).
    """
    # Deferred foreign-key checks queued earlier in this transaction (e.g. rows that
    # referenced households deleted before a reload) forbid DDL on the table: run
    # them now, then defer again.
    execute("SET CONSTRAINTS ALL IMMEDIATE")
    execute("SET CONSTRAINTS ALL DEFERRED")
    rows = fetch(
        """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """,
        [table],
    )
    for name, _ in rows:
        execute(f'DROP INDEX "{name}"')  # names read from the catalogue, not input
    yield
    for _, definition in rows:
        execute(definition)
    execute(f"ANALYZE {table}")
