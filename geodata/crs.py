"""Vectorised conversions between Chinese basemap coordinate systems and WGS84.

Chinese web basemaps do not publish WGS84 coordinates:

* GCJ-02 ("Mars coordinates", used by AMap/Gaode, Tencent and Google China) is
  WGS84 plus a deliberately obfuscated, position-dependent offset of a few
  hundred metres, computed on the Krasovsky 1940 ellipsoid.
* BD-09 (Baidu) is GCJ-02 plus a further small polar-coordinate distortion.

The forward formulas (WGS84 -> GCJ-02 -> BD-09) are the widely published
ones. They have no closed-form inverse, so the reverse directions are
computed by fixed-point iteration of the forward transforms and agree with
the exact inverse to the millimetre level (far below 0.5 m).

Every coordinate function takes longitude first, accepts scalars or numpy
arrays (anything ``np.asarray`` accepts, broadcast against each other) and
returns a ``(lon, lat)`` tuple of float64 arrays with the broadcast shape.
For scalar inputs the results are 0-d, returned as ``numpy.float64`` values,
which are ``float`` instances.
"""

from __future__ import annotations

import numpy as np
import shapely

CHINESE_BASEMAP_CRS = ("gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323

# Baidu's constant for the BD-09 distortion.
X_PI = np.pi * 3000.0 / 180.0
BD_LON_SHIFT = 0.0065
BD_LAT_SHIFT = 0.006

# Common bounding box outside which no GCJ-02 offset is applied.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)  # min lon, min lat, max lon, max lat

# Stopping rule of the iterative inverses (degrees / iteration count).
INVERSE_TOLERANCE_DEG = 1e-9
INVERSE_MAX_ITERATIONS = 20

# Mean Earth radius (IUGG) used by haversine_m.
EARTH_MEAN_RADIUS_M = 6371008.8


def _as_lonlat(lon, lat):
    """Return ``lon`` and ``lat`` as broadcast float64 arrays (copies)."""
    lon, lat = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon.copy(), lat.copy()


def _unwrap(lon, lat):
    """Return 0-d results as numpy scalars and any other shape unchanged."""
    if lon.ndim == 0:
        return lon[()], lat[()]
    return lon, lat


def out_of_china(lon, lat):
    """Return a boolean array, True where the point lies outside the China bbox.

    This is the conventional coarse rectangle used by the GCJ-02 libraries;
    points on its boundary count as inside.
    """
    lon, lat = _as_lonlat(lon, lat)
    min_lon, min_lat, max_lon, max_lat = CHINA_BBOX
    return (lon < min_lon) | (lon > max_lon) | (lat < min_lat) | (lat > max_lat)


def _offset_lat(x, y):
    """GCJ-02 raw latitude offset polynomial (x, y relative to 105E, 35N)."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x, y):
    """GCJ-02 raw longitude offset polynomial (x, y relative to 105E, 35N)."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj02_delta(lon, lat):
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS84 ``lon``, ``lat``.

    No China test is applied here; inputs must be float arrays.
    """
    x, y = lon - 105.0, lat - 35.0
    rad_lat = np.radians(lat)
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = np.degrees(_offset_lat(x, y) * magic * sqrt_magic / (KRASOVSKY_A * (1.0 - KRASOVSKY_EE)))
    dlon = np.degrees(_offset_lon(x, y) * sqrt_magic / (KRASOVSKY_A * np.cos(rad_lat)))
    return dlon, dlat


def _wgs84_to_gcj02(lon, lat):
    """Array-only forward GCJ-02 transform; points outside China are copied."""
    inside = ~out_of_china(lon, lat)
    dlon, dlat = _gcj02_delta(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _gcj02_to_bd09(lon, lat):
    """Array-only forward BD-09 transform."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * X_PI)
    return z * np.cos(theta) + BD_LON_SHIFT, z * np.sin(theta) + BD_LAT_SHIFT


def _bd09_to_gcj02_closed_form(lon, lat):
    """Baidu's published approximate closed-form BD-09 -> GCJ-02 (up to ~0.2 m off)."""
    x, y = lon - BD_LON_SHIFT, lat - BD_LAT_SHIFT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, target_lon, target_lat, start_lon, start_lat):
    """Solve ``forward(lon, lat) == target`` by fixed-point iteration.

    Iterates ``w = w - (forward(w) - target)`` from ``start`` until the largest
    change of any coordinate is below ``INVERSE_TOLERANCE_DEG`` or
    ``INVERSE_MAX_ITERATIONS`` is reached. Converges because both forward
    transforms are the identity plus a slowly varying offset.
    """
    lon, lat = start_lon, start_lat
    for _ in range(INVERSE_MAX_ITERATIONS):
        fwd_lon, fwd_lat = forward(lon, lat)
        step_lon, step_lat = fwd_lon - target_lon, fwd_lat - target_lat
        lon, lat = lon - step_lon, lat - step_lat
        if max(_max_abs(step_lon), _max_abs(step_lat)) < INVERSE_TOLERANCE_DEG:
            break
    return lon, lat


def _max_abs(values):
    """Largest finite absolute value in ``values``, 0.0 if there is none."""
    return np.max(np.abs(values), initial=0.0, where=np.isfinite(values))


def _gcj02_to_wgs84(lon, lat):
    """Array-only iterative GCJ-02 -> WGS84; points outside China are copied."""
    inside = ~out_of_china(lon, lat)
    dlon, dlat = _gcj02_delta(lon, lat)
    wlon, wlat = _invert(_wgs84_to_gcj02, lon, lat, lon - dlon, lat - dlat)
    return np.where(inside, wlon, lon), np.where(inside, wlat, lat)


def _bd09_to_gcj02(lon, lat):
    """Array-only iterative BD-09 -> GCJ-02, seeded with the closed form."""
    start_lon, start_lat = _bd09_to_gcj02_closed_form(lon, lat)
    return _invert(_gcj02_to_bd09, lon, lat, start_lon, start_lat)


def wgs84_to_gcj02(lon, lat):
    """Convert WGS84 to GCJ-02. Points outside the China bbox are returned unchanged."""
    return _unwrap(*_wgs84_to_gcj02(*_as_lonlat(lon, lat)))


def gcj02_to_wgs84(lon, lat):
    """Convert GCJ-02 to WGS84 by iteratively inverting ``wgs84_to_gcj02``.

    Accurate to millimetres inside China; points outside the bbox are unchanged.
    """
    return _unwrap(*_gcj02_to_wgs84(*_as_lonlat(lon, lat)))


def gcj02_to_bd09(lon, lat):
    """Convert GCJ-02 to BD-09 with Baidu's published formula (applied everywhere)."""
    return _unwrap(*_gcj02_to_bd09(*_as_lonlat(lon, lat)))


def bd09_to_gcj02(lon, lat):
    """Convert BD-09 to GCJ-02 by iteratively inverting ``gcj02_to_bd09``.

    Unlike the usual closed-form approximation, ``gcj02_to_bd09`` of the
    result reproduces the input to about 1e-9 degrees.
    """
    return _unwrap(*_bd09_to_gcj02(*_as_lonlat(lon, lat)))


def wgs84_to_bd09(lon, lat):
    """Convert WGS84 to BD-09 (via GCJ-02)."""
    return _unwrap(*_gcj02_to_bd09(*_wgs84_to_gcj02(*_as_lonlat(lon, lat))))


def bd09_to_wgs84(lon, lat):
    """Convert BD-09 to WGS84 (via GCJ-02), both steps iterative inverses."""
    return _unwrap(*_bd09_to_wgs84(*_as_lonlat(lon, lat)))


def _bd09_to_wgs84(lon, lat):
    """Array-only BD-09 -> WGS84."""
    return _gcj02_to_wgs84(*_bd09_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": _gcj02_to_wgs84, "bd09": _bd09_to_wgs84}


def _coords_to_wgs84(source):
    """Return a shapely-compatible function mapping an (N, 2|3) array to WGS84.

    Only the first two columns (lon, lat) change; a Z column is kept as is.
    Raises ``ValueError`` for a source outside ``CHINESE_BASEMAP_CRS``.
    """
    try:
        convert = _TO_WGS84[source]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown source CRS {source!r}; expected one of {CHINESE_BASEMAP_CRS}"
        ) from None

    def transform(coords):
        out = np.array(coords, dtype=np.float64, copy=True)
        out[:, 0], out[:, 1] = convert(out[:, 0], out[:, 1])
        return out

    return transform


def transform_geometry(geom, source):
    """Return ``geom`` (a shapely geometry) with every coordinate converted to WGS84.

    ``source`` is ``"gcj02"`` or ``"bd09"``. The geometry type, part and ring
    structure and any Z values are preserved; the conversion is vectorised over
    the whole coordinate array by ``shapely.transform``.
    """
    return shapely.transform(geom, _coords_to_wgs84(source), include_z=None)


def transform_geometries(geoms, source):
    """Convert an array-like of shapely geometries (e.g. GeoSeries values) to WGS84.

    Returns a numpy object array of the same shape; ``None`` entries stay
    ``None``. All coordinates are converted in a single vectorised pass.
    """
    geoms = np.asarray(geoms, dtype=object)
    return shapely.transform(geoms, _coords_to_wgs84(source), include_z=None)


def haversine_m(lon1, lat1, lon2, lat2):
    """Return great-circle distances in metres between points given in degrees.

    Uses the haversine formula on a sphere of radius ``EARTH_MEAN_RADIUS_M``;
    inputs broadcast like numpy arrays and scalars give a numpy float.
    """
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2.0) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2
    )
    result = 2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result[()] if result.ndim == 0 else result
