"""import_grid_units (formats.md §1): every good and bad input, via function and command."""

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
