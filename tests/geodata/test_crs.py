"""Tests for geodata.crs: Chinese basemap coordinate systems <-> WGS84.

Plain pytest functions; no database or Django needed.
"""

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

import geodata.crs as crs

HALF_A_METRE = 0.5
ONE_CENTIMETRE = 0.01

# Published WGS84 -> GCJ-02 pairs as (wgs_lon, wgs_lat, gcj_lon, gcj_lat).
WGS84_GCJ02_PAIRS = [
    # googollee/eviltransform, go/transform_test.go and python/test.py ("shanghai")
    pytest.param(121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, id="shanghai"),
    # googollee/eviltransform, same suites ("shenzhen")
    pytest.param(113.912316, 22.543847, 113.9171764808363, 22.540796131694766, id="shenzhen"),
    # googollee/eviltransform, same suites ("beijing")
    pytest.param(116.377817, 39.911954, 116.38404722455657, 39.91334545536069, id="beijing"),
    # wandergis/coordtransform, test/app.js: wgs84togcj02(116.404, 39.915)
    pytest.param(116.404, 39.915, 116.41024449916938, 39.91640428150164, id="tiananmen"),
    # hujiulong/gcoord, test/unit/crs/WGS84.spec.ts: WGS84.to.GCJ02([123, 45])
    pytest.param(123.0, 45.0, 123.00607541, 45.00197815, id="gcoord-123-45"),
]

# Published GCJ-02 -> BD-09 pairs as (gcj_lon, gcj_lat, bd_lon, bd_lat).
GCJ02_BD09_PAIRS = [
    # wandergis/coordtransform, test/app.js: gcj02tobd09(116.404, 39.915)
    pytest.param(116.404, 39.915, 116.41036949371029, 39.92133699351021, id="tiananmen"),
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts: GCJ02.to.BD09([123, 45])
    pytest.param(123.0, 45.0, 123.00636499, 45.00636899, id="gcoord-123-45"),
]

# Published WGS84 -> BD-09 pair (both steps chained) as (wgs_lon, wgs_lat, bd_lon, bd_lat).
WGS84_BD09_PAIRS = [
    # hujiulong/gcoord, test/unit/crs/WGS84.spec.ts: WGS84.to.BD09([123, 45])
    pytest.param(123.0, 45.0, 123.0124491, 45.0083293, id="gcoord-123-45"),
]


def random_points_across_china(n=1000, seed=20240601):
    """Seeded uniform WGS84 points in lon 75..134, lat 18..53."""
    rng = np.random.default_rng(seed)
    return rng.uniform(75.0, 134.0, n), rng.uniform(18.0, 53.0, n)


# --- published point pairs ---------------------------------------------------------------


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"), WGS84_GCJ02_PAIRS)
def test_wgs84_to_gcj02_matches_published_pairs_within_half_a_metre(
    wgs_lon, wgs_lat, gcj_lon, gcj_lat
):
    lon, lat = crs.wgs84_to_gcj02(wgs_lon, wgs_lat)
    error = crs.haversine_m(lon, lat, gcj_lon, gcj_lat)
    assert error < HALF_A_METRE, f"forward error {error:.4f} m"


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"), WGS84_GCJ02_PAIRS)
def test_gcj02_to_wgs84_brings_published_pairs_back_within_half_a_metre(
    wgs_lon, wgs_lat, gcj_lon, gcj_lat
):
    lon, lat = crs.gcj02_to_wgs84(gcj_lon, gcj_lat)
    error = crs.haversine_m(lon, lat, wgs_lon, wgs_lat)
    assert error < HALF_A_METRE, f"inverse error {error:.4f} m"


@pytest.mark.parametrize(("gcj_lon", "gcj_lat", "bd_lon", "bd_lat"), GCJ02_BD09_PAIRS)
def test_gcj02_to_bd09_matches_published_pairs_within_half_a_metre(
    gcj_lon, gcj_lat, bd_lon, bd_lat
):
    lon, lat = crs.gcj02_to_bd09(gcj_lon, gcj_lat)
    error = crs.haversine_m(lon, lat, bd_lon, bd_lat)
    assert error < HALF_A_METRE, f"forward error {error:.4f} m"


@pytest.mark.parametrize(("gcj_lon", "gcj_lat", "bd_lon", "bd_lat"), GCJ02_BD09_PAIRS)
def test_bd09_to_gcj02_brings_published_pairs_back_within_half_a_metre(
    gcj_lon, gcj_lat, bd_lon, bd_lat
):
    lon, lat = crs.bd09_to_gcj02(bd_lon, bd_lat)
    error = crs.haversine_m(lon, lat, gcj_lon, gcj_lat)
    assert error < HALF_A_METRE, f"inverse error {error:.4f} m"


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "bd_lon", "bd_lat"), WGS84_BD09_PAIRS)
def test_wgs84_and_bd09_conversions_match_the_published_chained_pair(
    wgs_lon, wgs_lat, bd_lon, bd_lat
):
    forward_error = crs.haversine_m(*crs.wgs84_to_bd09(wgs_lon, wgs_lat), bd_lon, bd_lat)
    inverse_error = crs.haversine_m(*crs.bd09_to_wgs84(bd_lon, bd_lat), wgs_lon, wgs_lat)
    assert forward_error < HALF_A_METRE, f"forward error {forward_error:.4f} m"
    assert inverse_error < HALF_A_METRE, f"inverse error {inverse_error:.4f} m"


# --- round trips across China ------------------------------------------------------------


def test_gcj02_inverse_is_within_half_a_metre_across_china():
    wgs_lon, wgs_lat = random_points_across_china()
    lon, lat = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(wgs_lon, wgs_lat))
    max_error = crs.haversine_m(lon, lat, wgs_lon, wgs_lat).max()
    assert max_error < ONE_CENTIMETRE, f"max wgs->gcj->wgs error {max_error:.3e} m"


def test_bd09_inverse_is_within_half_a_metre_across_china():
    wgs_lon, wgs_lat = random_points_across_china()
    lon, lat = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(wgs_lon, wgs_lat))
    max_error = crs.haversine_m(lon, lat, wgs_lon, wgs_lat).max()
    assert max_error < ONE_CENTIMETRE, f"max wgs->bd->wgs error {max_error:.3e} m"


def test_bd09_to_gcj02_exactly_undoes_gcj02_to_bd09_across_china():
    gcj_lon, gcj_lat = random_points_across_china(seed=7)
    lon, lat = crs.bd09_to_gcj02(*crs.gcj02_to_bd09(gcj_lon, gcj_lat))
    max_error = crs.haversine_m(lon, lat, gcj_lon, gcj_lat).max()
    assert max_error < ONE_CENTIMETRE, f"max gcj->bd->gcj error {max_error:.3e} m"


def test_chinese_offsets_are_tens_of_metres_or_more_so_the_round_trips_are_not_trivial():
    wgs_lon, wgs_lat = random_points_across_china()
    gcj_shift = crs.haversine_m(*crs.wgs84_to_gcj02(wgs_lon, wgs_lat), wgs_lon, wgs_lat)
    bd_shift = crs.haversine_m(*crs.wgs84_to_bd09(wgs_lon, wgs_lat), wgs_lon, wgs_lat)
    assert gcj_shift.min() > 10.0, f"smallest GCJ-02 offset {gcj_shift.min():.1f} m"
    assert bd_shift.min() > 10.0, f"smallest BD-09 offset {bd_shift.min():.1f} m"


# --- outside China, shapes and scalars ---------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        pytest.param(2.3522, 48.8566, id="paris"),
        pytest.param(-74.006, 40.7128, id="new-york"),
        pytest.param(151.2093, -33.8688, id="sydney"),
        pytest.param(72.0, 30.0, id="just-west-of-the-bbox"),
        pytest.param(100.0, 56.0, id="just-north-of-the-bbox"),
    ],
)
def test_points_outside_china_are_unchanged_by_gcj02_conversions(lon, lat):
    assert crs.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert crs.gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_outside_china_bbox_uses_the_conventional_limits():
    lon = np.array([72.003, 72.004, 137.8347, 137.835, 100.0, 100.0, 100.0, 100.0])
    lat = np.array([30.0, 30.0, 30.0, 30.0, 0.8292, 0.8293, 55.8271, 55.8272])
    expected = [True, False, False, True, True, False, False, True]
    assert crs.out_of_china(lon, lat).tolist() == expected


def test_scalar_inputs_give_float_outputs():
    lon, lat = crs.wgs84_to_gcj02(116.404, 39.915)
    assert isinstance(lon, float)
    assert isinstance(lat, float)


def test_array_inputs_keep_their_shape_and_are_not_modified():
    lon = np.array([[116.0, 121.0, 2.35], [113.0, 104.0, -74.0]])
    lat = np.array([[40.0, 31.0, 48.85], [23.0, 30.0, 40.7]])
    lon_before, lat_before = lon.copy(), lat.copy()
    for convert in (crs.wgs84_to_gcj02, crs.gcj02_to_wgs84, crs.gcj02_to_bd09, crs.bd09_to_wgs84):
        out_lon, out_lat = convert(lon, lat)
        assert out_lon.shape == lon.shape
        assert out_lat.shape == lat.shape
    np.testing.assert_array_equal(lon, lon_before)
    np.testing.assert_array_equal(lat, lat_before)


# --- geometries --------------------------------------------------------------------------


def _vertices(geom):
    return shapely.get_coordinates(geom)


@pytest.mark.parametrize("source", crs.CHINESE_BASEMAP_CRS)
def test_transform_geometry_keeps_a_polygon_with_a_hole_and_moves_every_vertex(source):
    shell = [(116.30, 39.90), (116.40, 39.90), (116.40, 39.98), (116.30, 39.98), (116.30, 39.90)]
    hole = [(116.33, 39.93), (116.36, 39.93), (116.36, 39.95), (116.33, 39.93)]
    polygon = Polygon(shell, [hole])

    result = crs.transform_geometry(polygon, source)

    assert result.geom_type == "Polygon"
    assert len(result.interiors) == 1
    assert len(result.exterior.coords) == len(shell)
    assert len(result.interiors[0].coords) == len(hole)
    assert result.is_valid
    shift = crs.haversine_m(*_vertices(polygon).T, *_vertices(result).T)
    assert (shift > 50.0).all(), f"vertex shifts {shift}"


@pytest.mark.parametrize("source", crs.CHINESE_BASEMAP_CRS)
def test_transform_geometry_keeps_a_multipolygon_and_converts_each_vertex_like_the_points(
    source,
):
    first = Polygon([(121.40, 31.20), (121.50, 31.20), (121.50, 31.30), (121.40, 31.20)])
    second = Polygon([(113.90, 22.50), (114.00, 22.50), (114.00, 22.60), (113.90, 22.60)])
    multi = MultiPolygon([first, second])
    to_wgs84 = {"gcj02": crs.gcj02_to_wgs84, "bd09": crs.bd09_to_wgs84}[source]

    result = crs.transform_geometry(multi, source)

    assert result.geom_type == "MultiPolygon"
    assert [len(part.exterior.coords) for part in result.geoms] == [4, 5]
    before = _vertices(multi)
    expected = np.column_stack(to_wgs84(before[:, 0], before[:, 1]))
    np.testing.assert_allclose(_vertices(result), expected, rtol=0, atol=1e-12)
    assert (crs.haversine_m(*before.T, *expected.T) > 50.0).all()


def test_transform_geometry_keeps_z_values():
    point = Point(116.404, 39.915, 42.0)
    result = crs.transform_geometry(point, "gcj02")
    assert result.has_z
    assert result.z == 42.0
    assert (result.x, result.y) == crs.gcj02_to_wgs84(116.404, 39.915)


def test_transform_geometries_converts_an_array_and_keeps_missing_values():
    geoms = np.array([Point(116.404, 39.915), None, Point(2.35, 48.85)], dtype=object)
    result = crs.transform_geometries(geoms, "bd09")
    assert result.shape == (3,)
    assert result[1] is None
    assert (result[0].x, result[0].y) == crs.bd09_to_wgs84(116.404, 39.915)
    assert isinstance(result[2], Point)


def test_transform_geometry_rejects_an_unknown_source():
    with pytest.raises(ValueError, match="unknown source CRS"):
        crs.transform_geometry(Point(116.0, 40.0), "wgs84")


# --- distances ---------------------------------------------------------------------------


def test_haversine_m_measures_one_degree_of_latitude_as_about_111_km():
    assert crs.haversine_m(116.0, 39.0, 116.0, 40.0) == pytest.approx(111_195.0, abs=1.0)


def test_haversine_m_is_zero_for_identical_points_and_broadcasts_arrays():
    lon = np.array([116.0, 121.0])
    lat = np.array([40.0, 31.0])
    np.testing.assert_array_equal(crs.haversine_m(lon, lat, lon, lat), [0.0, 0.0])
