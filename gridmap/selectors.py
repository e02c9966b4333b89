"""Reads of the grid. Map data are built in SQL: serialising polygons through
Django/DRF-gis is ~25x slower than PostGIS's own ST_AsGeoJSON (DESIGN)."""

import json

from django.conf import settings
from django.db import connection

from gridmap.calendar import CalendarOverrides
from gridmap.models import CalendarDay, GridUnit
from gridmap.services import UNIT_TABLE


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
