"""Reads of the grid. Map data are built in SQL: serialising polygons through
Django/DRF-gis is ~25x slower than PostGIS's own ST_AsGeoJSON (DESIGN)."""

import json
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from gridmap import tiles
from gridmap.calendar import CalendarOverrides
from gridmap.models import CalendarDay, GridUnit, Level
from gridmap.services import TILE_TABLE, UNIT_TABLE


def grid_units_geojson(*, level: int, bbox: tuple[float, float, float, float] | None,
                       tolerance: float) -> str:
    """A FeatureCollection of the units of one level, simplified for the zoom.

    Why raw SQL: the whole collection is assembled by PostGIS in one
    statement (json_agg over ST_AsGeoJSON), with the simplification tolerance
    and the bounding-box filter bound as parameters.
    """
    where = ["u.level = %s"]
    params: list = [tolerance, level]
    if bbox:
        where.append("u.geom && ST_MakeEnvelope(%s, %s, %s, %s, %s)")
        params.extend([*bbox, settings.GRIDCARE_SRID])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT json_build_object('type', 'FeatureCollection', 'features',
                coalesce(json_agg(json_build_object(
                    'type', 'Feature',
                    'id', u.code,
                    'geometry', ST_AsGeoJSON(
                        ST_Multi(ST_SimplifyPreserveTopology(u.geom, %s)), 6)::json,
                    'properties', json_build_object(
                        'code', u.code, 'name', u.name, 'level', u.level,
                        'households', u.households, 'population', u.population)
                ) ORDER BY u.code), '[]'::json))
            FROM {UNIT_TABLE} u WHERE {' AND '.join(where)}
            """,
            params,
        )
        return json.dumps(cursor.fetchone()[0], ensure_ascii=False)


LABEL_LEVEL = {level: f"t.level = {level}" for level in Level.values}


def unit_tile(*, zoom: int, x: int, y: int) -> bytes:
    """The vector tile (MVT) of the units at zoom/x/y: layer `units`, the level this zoom
    shows and every level above it (to draw as outlines), and layer `labels`, a point per unit
    of the level shown. Attributes: code, name, level, households, population (no patient
    figure: the same tile serves every user, gridmap.access.unit_tiles_allowed).

    Why raw SQL: the whole tile is one statement, ST_TileEnvelope for the tile's box,
    ST_AsMVTGeom to clip and quantise the band's precomputed shapes (gridmap.tiles) and
    ST_AsMVT to encode, with the GiST index of the band's column picking the units.
    """
    band = f"geom_{tiles.band_for_zoom(zoom)}"  # a column name from a fixed list, not input
    level = tiles.level_for_zoom(zoom)
    # The labels' level written out, from the fixed list of levels: the planner picks that
    # level's partial index only when it sees the constant (a bound one may get a generic plan).
    label_level = LABEL_LEVEL[level]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH box AS (
                SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
                       ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s) AS wide
            ), units AS (
                SELECT ST_AsMVTGeom(t.{band}, box.tile, %(extent)s, %(buffer)s, true) AS geom,
                       u.code, u.name, u.level, u.households, u.population
                FROM {TILE_TABLE} t JOIN {UNIT_TABLE} u ON u.id = t.unit_id, box
                WHERE t.{band} && box.wide AND t.level <= %(level)s
                ORDER BY u.level, u.code  -- the deepest drawn last, on top: a click finds it
            ), labels AS (
                SELECT ST_AsMVTGeom(t.label, box.tile, %(extent)s, 0, true) AS geom,
                       u.code, u.name, u.level
                FROM {TILE_TABLE} t JOIN {UNIT_TABLE} u ON u.id = t.unit_id, box
                WHERE t.label && box.tile AND {label_level}
            )
            SELECT coalesce((SELECT ST_AsMVT(units, 'units', %(extent)s, 'geom')
                             FROM units WHERE geom IS NOT NULL), '')
                || coalesce((SELECT ST_AsMVT(labels, 'labels', %(extent)s, 'geom')
                             FROM labels WHERE geom IS NOT NULL), '')
            """,
            {"z": zoom, "x": x, "y": y, "level": level, "extent": tiles.EXTENT,
             "buffer": tiles.BUFFER, "margin": tiles.BUFFER / tiles.EXTENT},
        )
        return bytes(cursor.fetchone()[0])


def unit_tile_answer(*, zoom: int, x: int, y: int, if_none_match: str = "") -> tuple[str, bytes | None]:
    """The tiles' version and the tile at zoom/x/y, from the cache when it holds this
    version's (the version and the tile in one round trip), else built and kept; the tile is
    None when the browser's copy (its If-None-Match: the ETag, the version) is current."""
    key = tiles.tile_cache_key(zoom, x, y)
    found = cache.get_many([tiles.VERSION_KEY, key])
    version = found.get(tiles.VERSION_KEY) or unit_tiles_version()
    if f'"{version}"' in if_none_match:
        return version, None
    kept = found.get(key)
    if kept is not None and kept[0] == version:
        return version, kept[1]
    body = unit_tile(zoom=zoom, x=x, y=y)
    cache.set(key, (version, body), timeout=settings.GRIDCARE_TILE_CACHE_SECONDS)
    return version, body


def unit_tiles_version() -> str:
    """The unit tiles' current version (gridmap.tiles.VERSION_KEY); one is drawn when the
    cache has none (a new cache holds no tile of an older one)."""
    version = cache.get(tiles.VERSION_KEY)
    if version is None:
        cache.add(tiles.VERSION_KEY, secrets.token_hex(8), timeout=None)
        version = cache.get(tiles.VERSION_KEY)
    return version


def grid_unit_detail(*, code: str) -> dict | None:
    """A unit with its parent chain (county first) and its counts."""
    unit = GridUnit.objects.filter(code=code).first()
    if unit is None:
        return None
    ancestor_ids = [unit.ancestor_id(level) for level in range(1, unit.level)]
    ancestors = {u.id: u for u in GridUnit.objects.filter(id__in=[i for i in ancestor_ids if i])}
    chain = [
        {"code": ancestors[i].code, "name": ancestors[i].name, "level": ancestors[i].level}
        for i in ancestor_ids if i in ancestors
    ]
    return {
        "code": unit.code,
        "name": unit.name,
        "level": unit.level,
        "level_name": str(unit.get_level_display()),
        "parents": chain,
        "households": unit.households,
        "population": unit.population,
        "children": GridUnit.objects.filter(parent=unit).count(),
        "bbox": list(unit.geom.extent),
    }


def grid_units_extent() -> list[float] | None:
    """[west, south, east, north] of the top stored level, for the map's first view."""
    with connection.cursor() as cursor:
        # Why raw SQL: ST_Extent as an aggregate over one level, read as numbers.
        cursor.execute(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            f"FROM (SELECT ST_Extent(geom) AS e FROM {UNIT_TABLE} "
            f"WHERE level = (SELECT min(level) FROM {UNIT_TABLE})) x"
        )
        row = cursor.fetchone()
    return list(row) if row and row[0] is not None else None


def calendar_overrides() -> CalendarOverrides:
    """The administrator's holidays and make-up working days (CalendarDay), for R24 and R33."""
    days = list(CalendarDay.objects.values_list("day", "working"))
    return CalendarOverrides(holidays=[d for d, working in days if not working],
                             workdays=[d for d, working in days if working])
