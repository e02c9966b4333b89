"""Is a coordinate plausible? The one check, in Python, numpy and SQL, that catches a file
with longitude and latitude swapped or a wrong coordinate system: a point outside China's
extent (settings.GRIDCARE_IMPORT["china_extent"]) is refused."""

import numpy as np
from django.conf import settings

SWAPPED_HINT = "are longitude and latitude swapped?"


def china_extent() -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    return tuple(float(v) for v in settings.GRIDCARE_IMPORT["china_extent"])


def outside_china(lon, lat):
    """True where a point (scalars or numpy arrays) lies outside China's extent; NaN is
    not outside (a missing point is reported as missing, not as misplaced)."""
    west, south, east, north = china_extent()
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    result = (lon < west) | (lon > east) | (lat < south) | (lat > north)
    return bool(result) if result.ndim == 0 else result


def outside_china_message(lon: float, lat: float, what: str = "the point") -> str:
    return f"{what} ({lon}, {lat}) lies outside China's extent: {SWAPPED_HINT}"


def outside_china_sql(column: str) -> tuple[str, list[float]]:
    """A predicate true when a geometry's box leaves China, and its bound parameters.
    `column` is an identifier from code, never from input."""
    west, south, east, north = china_extent()
    return (f"(ST_XMin({column}) < %s OR ST_XMax({column}) > %s "
            f"OR ST_YMin({column}) < %s OR ST_YMax({column}) > %s)", [west, east, south, north])
