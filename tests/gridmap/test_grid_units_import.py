"""import_grid_units (formats.md §1): every good and bad input, via function and command."""

import json
import zipfile

import pytest
from django.db import connection

from gridmap.models import GridUnit, GridUnitShape
from tests.conftest import (
    COUNTY,
    GRID_1,
    GRID_2,
    MICRO_1,
    MICRO_2,
    SMALL_GRID,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_1,
    units_geojson,
)
from tests.helpers import run_import

pytestmark = pytest.mark.django_db
VIA = pytest.mark.parametrize("via", ["function", "command"])


def snapshot():
    """Everything an import may touch, to prove a failed one changed nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT code, name, level, parent_id, ST_AsEWKT(geom) FROM gridmap_gridunit "
                       "ORDER BY code")
        units = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM gridmap_gridunitshape")
        shapes = cursor.fetchone()
    return units, shapes


@VIA
def test_a_good_file_creates_all_five_levels(via, write_units):
    ok, text = run_import(via, "import_grid_units", write_units(SMALL_GRID))
    assert ok, text
    assert GridUnit.objects.count() == len(SMALL_GRID)
    assert sorted(GridUnit.objects.order_by("level").values_list("level", flat=True).distinct()) == [1, 2, 3, 4, 5]
    micro = GridUnit.objects.get(code=MICRO_1[0])
    assert micro.parent.code == GRID_1[0]
    assert micro.parent.parent.parent.parent.code == COUNTY[0]
    if via == "command":
        assert "created 12" in text


def test_reimporting_the_same_file_changes_nothing(write_units):
    path = write_units(SMALL_GRID)
    run_import("function", "import_grid_units", path)
    before = snapshot()
    from config.importers import grid_units_import

    report = grid_units_import(path=path)
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(SMALL_GRID))
    assert snapshot() == before


def test_reimport_with_a_new_shape_updates_and_keeps_the_old_boundary(small_grid, write_units):
    from config.importers import grid_units_import

    old_wkt = GridUnit.objects.get(code=MICRO_1[0]).geom.wkt
    # Move the inner edge of micro-grids 1 and 2 from lat 33.1 to 33.12.
    moved = [
        (MICRO_1[0], MICRO_1[1], 5, GRID_1[0], "POLYGON((106 33, 106.1 33, 106.1 33.12, 106 33.12, 106 33))"),
        (MICRO_2[0], "改名微网格", 5, GRID_1[0], "POLYGON((106 33.12, 106.1 33.12, 106.1 33.2, 106 33.2, 106 33.12))"),
    ]
    report = grid_units_import(path=write_units(moved, name="moved.geojson"))
    assert report.ok, report.errors
    assert report.updated == 2
    micro = GridUnit.objects.get(code=MICRO_1[0])
    assert micro.geom.extent[3] == pytest.approx(33.12)
    assert GridUnit.objects.get(code=MICRO_2[0]).name == "改名微网格"
    history = GridUnitShape.objects.get(unit=micro)
    assert history.geom.wkt == old_wkt


@VIA
def test_dry_run_validates_and_writes_nothing(via, write_units):
    ok, text = run_import(via, "import_grid_units", write_units(SMALL_GRID), dry_run=True)
    assert ok, text
    assert GridUnit.objects.count() == 0


@pytest.mark.parametrize("suffix", [".gpkg", ".fgb", ".kml", ".geojson"])
def test_every_vector_format_imports(suffix, write_units):
    from config.importers import grid_units_import

    report = grid_units_import(path=write_units(SMALL_GRID, name=f"units{suffix}"))
    assert report.ok, report.errors
    assert GridUnit.objects.filter(level=5).count() == 4


@pytest.mark.parametrize("headers, encoding", [
    (("编码", "名称", "层级", "上级编码"), "GBK"),  # as surveying offices' files come
    (("code", "name", "level", "parent_code"), "UTF-8"),  # parent_code truncated to 10
])
def test_a_zipped_shapefile_imports(headers, encoding, write_units, tmp_path):
    from config.importers import grid_units_import

    shp = write_units(SMALL_GRID, name="units.shp", headers=headers, encoding=encoding)
    archive = tmp_path / "units.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for part in tmp_path.glob("units.*"):
            if part.suffix != ".zip":
                out.write(part, part.name)
    assert shp.exists()
    report = grid_units_import(path=archive)
    assert report.ok, report.errors
    assert GridUnit.objects.get(code=TOWNSHIP_2[0]).name == "接官亭镇"


def test_units_can_arrive_one_level_per_file(write_units):
    from config.importers import grid_units_import

    for level in range(1, 6):
        rows = [u for u in SMALL_GRID if u[2] == level]
        report = grid_units_import(path=write_units(rows, name=f"level{level}.geojson"))
        assert report.ok, (level, report.errors)
    assert GridUnit.objects.count() == len(SMALL_GRID)
    assert GridUnit.objects.under(GridUnit.objects.get(code=COUNTY[0])).count() == len(SMALL_GRID)


@pytest.mark.parametrize("source", ["gcj02", "bd09"])
def test_chinese_basemap_files_are_converted_to_wgs84(source, write_units):
    from config.importers import grid_units_import
    from geodata import crs

    forward = {"gcj02": crs.wgs84_to_gcj02, "bd09": crs.wgs84_to_bd09}[source]
    # Shift the county's corners into the basemap's system, import declaring it, get WGS84 back.
    corners = [(106, 33), (106.4, 33), (106.4, 33.2), (106, 33.2), (106, 33)]
    shifted = ", ".join(
        "{:.9f} {:.9f}".format(*map(float, forward(x, y))) for x, y in corners
    )
    county = (COUNTY[0], COUNTY[1], 1, "", f"POLYGON(({shifted}))")
    report = grid_units_import(path=write_units([county], crs=None), source_crs=source)
    assert report.ok, report.errors
    # Every corner comes back to its WGS84 place (1e-6 degrees is about 0.1 m here).
    vertices = GridUnit.objects.get(code=COUNTY[0]).geom.coords[0][0]
    for corner in corners:
        assert min(abs(x - corner[0]) + abs(y - corner[1]) for x, y in vertices) < 1e-6


def test_cgcs2000_is_accepted_as_declared(write_units):
    from config.importers import grid_units_import

    report = grid_units_import(path=write_units([COUNTY], crs="EPSG:4490", name="cgcs.gpkg"))
    assert report.ok, report.errors
    assert GridUnit.objects.get(code=COUNTY[0]).geom.extent == pytest.approx((106, 33, 106.4, 33.2))


def test_a_projected_file_is_transformed(write_units, tmp_path):
    import geopandas as gpd
    from shapely import from_wkt

    from config.importers import grid_units_import

    frame = gpd.GeoDataFrame(
        {"code": [COUNTY[0]], "name": [COUNTY[1]], "level": [1], "parent_code": [None]},
        geometry=[from_wkt(COUNTY[4])], crs="EPSG:4326",
    ).to_crs("EPSG:4547")  # CGCS2000 / 3-degree Gauss-Kruger CM 114E… any projected CRS
    path = tmp_path / "projected.gpkg"
    frame.to_file(path, driver="GPKG")
    report = grid_units_import(path=path)
    assert report.ok, report.errors
    assert GridUnit.objects.get(code=COUNTY[0]).geom.extent == pytest.approx(
        (106, 33, 106.4, 33.2), abs=1e-5)


# --- every bad input: a clear message, and nothing changed -------------------------------------

BOWTIE_LINE = "LINESTRING(106 33, 106.1 33.1)"


def _bad_files():
    swapped = (COUNTY[0], COUNTY[1], 1, "", "POLYGON((33 106, 33 106.4, 33.2 106.4, 33.2 106, 33 106))")
    # A child poking 20 % outside its parent, and two overlapping siblings.
    sticking_out = (GRID_2[0], GRID_2[1], 4, VILLAGE_1[0],
                    "POLYGON((106.1 33, 106.25 33, 106.25 33.2, 106.1 33.2, 106.1 33))")
    overlapping = (GRID_2[0], GRID_2[1], 4, VILLAGE_1[0],
                   "POLYGON((106.05 33, 106.2 33, 106.2 33.2, 106.05 33.2, 106.05 33))")
    return {
        "empty_geometry": ([COUNTY, (TOWNSHIP_1[0], TOWNSHIP_1[1], 2, COUNTY[0], None)],
                           "feature 2: empty geometry"),
        "invalid_geometry": ([COUNTY, (TOWNSHIP_1[0], TOWNSHIP_1[1], 2, COUNTY[0], BOWTIE_LINE)],
                             "feature 2: invalid geometry"),
        "level_mismatch": ([COUNTY, (GRID_1[0], GRID_1[1], 4, COUNTY[0], GRID_1[4])],
                           "feature 2, column level: level 4 but parent 610727 is level 1"),
        "unknown_parent": ([COUNTY, (TOWNSHIP_1[0], TOWNSHIP_1[1], 2, "999", TOWNSHIP_1[4])],
                           "feature 2, column parent_code: unknown parent 999"),
        "duplicate_code": ([COUNTY, TOWNSHIP_1, TOWNSHIP_1],
                           "feature 3, column code: duplicate code 610727001 (also feature 2)"),
        "outside_parent": ([COUNTY, TOWNSHIP_1, VILLAGE_1, GRID_1, sticking_out],
                           "feature 5: 33.3% of 61072700100102 lies outside its parent"),
        "sibling_overlap": ([COUNTY, TOWNSHIP_1, VILLAGE_1, GRID_1, overlapping],
                            "61072700100101 and 61072700100102 overlap by 50.0% of the smaller"),
        "outside_china": ([swapped], "feature 1: coordinates (33.0000, 106.0000)"),
        "bad_level": ([COUNTY, (TOWNSHIP_1[0], TOWNSHIP_1[1], 7, COUNTY[0], TOWNSHIP_1[4])],
                      "feature 2, column level: level must be a whole number from 1 to 5"),
    }


@VIA
@pytest.mark.parametrize("case", sorted(_bad_files()))
def test_a_bad_file_is_rejected_with_its_feature_and_changes_nothing(case, via, small_grid,
                                                                     write_units):
    units, expected = _bad_files()[case]
    before = snapshot()
    ok, text = run_import(via, "import_grid_units", write_units(units, name=f"{case}.geojson"))
    assert not ok
    assert expected in text
    assert snapshot() == before


@VIA
def test_a_file_without_a_crs_is_rejected(via, write_units, small_grid):
    before = snapshot()
    ok, text = run_import(via, "import_grid_units", write_units(SMALL_GRID, name="nocrs.gpkg", crs=None))
    assert not ok
    assert "declares no coordinate system" in text
    assert snapshot() == before


def test_every_problem_of_a_file_is_reported_at_once(write_units):
    from config.importers import grid_units_import

    units = [COUNTY, (TOWNSHIP_1[0], "", 2, "999", TOWNSHIP_1[4]), (GRID_1[0], GRID_1[1], 4, COUNTY[0], None)]
    report = grid_units_import(path=write_units(units))
    keys = {(p.where, p.key) for p in report.errors}
    assert {("feature 2, column name", "required"), ("feature 2, column parent_code", "unknown_parent"),
            ("feature 3", "empty_geometry")} <= keys
    assert GridUnit.objects.count() == 0


def test_gaps_between_children_are_a_warning_not_an_error(write_units):
    from config.importers import grid_units_import

    report = grid_units_import(path=write_units([COUNTY, TOWNSHIP_1]))
    assert report.ok
    assert [(w.where, w.key) for w in report.warnings] == [("feature 1", "gap")]
    assert "cover only 50.0%" in report.warnings[0].message


def test_an_unknown_source_crs_is_refused(write_units):
    from config.importers import grid_units_import

    report = grid_units_import(path=write_units(SMALL_GRID), source_crs="+proj=merc +evil")
    assert not report.ok and "unknown source CRS" in report.errors[0].message


def test_long_gcj02_edges_follow_the_offset_curve(write_units):
    """A straight GCJ-02 edge is a curve in WGS84: the stored edge must pass
    through the converted midpoint, not cut the chord 28 m off (20 km edge)."""
    from django.contrib.gis.geos import Point

    from config.importers import grid_units_import
    from geodata import crs

    county = (COUNTY[0], COUNTY[1], 1, "", "POLYGON((106 33, 106.2 33, 106.2 33.2, 106 33.2, 106 33))")
    report = grid_units_import(path=write_units([county], crs=None), source_crs="gcj02")
    assert report.ok, report.errors
    lon, lat = (float(v) for v in crs.gcj02_to_wgs84(106.1, 33.0))  # middle of the south edge
    stored = GridUnit.objects.get(code=COUNTY[0]).geom
    off = stored.boundary.distance(Point(lon, lat, srid=4326)) * 111_000  # degrees to ~metres
    assert off < 0.05


# --- What the fuzz tests found (tests/security/test_importer_fuzz.py) ---------------------------

def _refused(path, expected, **options):
    from config.importers import grid_units_import

    before = snapshot()
    report = grid_units_import(path=path, **options)
    assert not report.ok and expected in "\n".join(map(str, report.errors)), report.errors
    assert snapshot() == before
    return report


def _tangle(n: int) -> str:
    import random

    rnd = random.Random(7)
    points = [f"{106 + rnd.random() * 0.1} {33 + rnd.random() * 0.1}" for _ in range(n)]
    return f"POLYGON(({', '.join(points)}, {points[0]}))"


def test_a_tangled_polygon_is_refused_before_st_makevalid_is_asked_to_repair_it(small_grid, write_units):
    """ST_MakeValid took 130 s on a random 500-vertex ring and brought the server down on 5000."""
    import time

    started = time.perf_counter()
    _refused(write_units([COUNTY, (MICRO_1[0], MICRO_1[1], 5, GRID_1[0], _tangle(5000))]),
             "feature 2: invalid geometry whose edges cross more than 1000 times")
    assert time.perf_counter() - started < 20


def test_a_polygon_crossing_itself_a_few_times_is_still_repaired(write_units):
    from config.importers import grid_units_import

    bowtie = "POLYGON((106 33, 106.4 33.2, 106.4 33, 106 33.2, 106 33))"
    report = grid_units_import(path=write_units([(COUNTY[0], COUNTY[1], 1, "", bowtie)]))
    assert report.ok, report.errors
    assert GridUnit.objects.get(code=COUNTY[0]).geom.num_geom == 2  # two triangles


@pytest.mark.parametrize("coordinate", ["NaN", "Infinity", "-Infinity"])
def test_a_coordinate_that_is_no_number_is_a_feature_error(coordinate, small_grid, tmp_path):
    path = tmp_path / "units.geojson"
    text = json.dumps(units_geojson([COUNTY, TOWNSHIP_1]))
    path.write_text(text.replace("[106.2, 33.0]", f"[{coordinate}, 33.0]", 1), encoding="utf-8")
    _refused(path, "feature 2: a coordinate is not a finite number (NaN or infinity)")


def test_an_unclosed_ring_is_reported_at_its_feature(small_grid, tmp_path):
    path = tmp_path / "units.geojson"
    collection = json.loads(json.dumps(units_geojson([COUNTY, TOWNSHIP_1])))  # lists, not tuples
    collection["features"][1]["geometry"]["coordinates"][0].pop()
    path.write_text(json.dumps(collection), encoding="utf-8")
    _refused(path, "feature 2: unreadable geometry: IllegalArgumentException: Points of LinearRing do not form "
                   "a closed linestring")


def test_a_three_dimensional_file_is_stored_in_two(tmp_path):
    from config.importers import grid_units_import

    collection = json.loads(json.dumps(units_geojson([COUNTY])))
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    collection["features"][0]["geometry"]["coordinates"][0] = [[x, y, 812.5] for x, y in ring]
    path = tmp_path / "units.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    report = grid_units_import(path=path)
    assert report.ok, report.errors
    assert not GridUnit.objects.get(code=COUNTY[0]).geom.hasz


@pytest.mark.parametrize("column, value, expected", [
    ("code", "6" * 65, "feature 2, column code: 65 characters, more than the 64 allowed"),
    ("name", "镇" * 201, "feature 2, column name: 201 characters, more than the 200 allowed"),
    ("level", 1e300, "feature 2, column level: level must be a whole number from 1 to 5, not 1e+300"),
])
def test_an_attribute_too_big_for_its_column_is_a_feature_error(column, value, expected, small_grid, write_units,
                                                               tmp_path):
    collection = units_geojson([COUNTY, TOWNSHIP_1])
    collection["features"][1]["properties"][column] = value
    path = tmp_path / "units.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    _refused(path, expected)


def test_an_infinite_extra_value_is_kept_as_text(tmp_path):
    from config.importers import grid_units_import

    path = tmp_path / "units.geojson"
    path.write_text(json.dumps(units_geojson([COUNTY])).replace('"parent_code"', '"面积": Infinity, "parent_code"'),
                    encoding="utf-8")
    report = grid_units_import(path=path)
    assert report.ok, report.errors
    assert GridUnit.objects.get(code=COUNTY[0]).extra == {"面积": "inf"}


@pytest.mark.parametrize("name, content, expected", [
    ("units.zip", b"PK\x03\x04 not really", "units.zip is not a zip archive"),
    ("units.csv", b"code,name,level\n610727,x,1\n", "units.csv holds no geometries"),
    ("units.geojson", b"", "cannot read units.geojson"),
])
def test_a_file_that_is_no_map_is_a_file_error(name, content, expected, small_grid, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    _refused(path, expected)


def test_a_gcj02_file_with_a_far_off_coordinate_is_refused_not_densified(small_grid, write_units):
    """Densifying an edge to 1e300 for the GCJ-02 curve raised GEOSException (and one to 1e6
    would have asked for half a billion vertices)."""
    far = (COUNTY[0], COUNTY[1], 1, "", "POLYGON((106 33, 1e300 33, 106 33.2, 106 33))")
    _refused(write_units([far], crs=None), "feature 1: coordinates", source_crs="gcj02")
