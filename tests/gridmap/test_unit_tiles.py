"""The unit vector tiles (/tiles/units/z/x/y.pbf): what a zoom shows, the shapes the
importer keeps for them, and their caching."""

import math
import secrets

import mapbox_vector_tile
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from shapely import box, from_wkt

from gridmap import tiles
from gridmap.models import GridUnit, UnitTile
from tests.conftest import (
    COUNTY,
    GRID_1,
    MICRO_1,
    MICRO_2,
    SMALL_GRID,
    TOWNSHIP_1,
    VILLAGE_1,
)

pytestmark = pytest.mark.django_db
ATTRIBUTES = {"code", "name", "level", "households", "population"}


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The slippy-map tile holding a point (the OSM formula)."""
    n = 2 ** zoom
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def tile_bounds(zoom: int, x: int, y: int, margin: float = 0.0):
    """The tile's box in degrees, widened by `margin` tiles on every side."""
    n = 2 ** zoom

    def lon(tx):
        return tx / n * 360 - 180

    def lat(ty):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return box(lon(x - margin), lat(y + 1 + margin), lon(x + 1 + margin), lat(y - margin))


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body) if body else {}


def codes(layer: dict | None) -> set[str]:
    return {f["properties"]["code"] for f in (layer or {"features": []})["features"]}


@pytest.fixture
def signed_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("mapper", password="pw-12345678"))
    return client


# --- Which level a zoom shows, and from which shapes --------------------------------------

def test_a_zoom_shows_the_county_first_and_micro_grids_from_z12():
    assert [tiles.level_for_zoom(z) for z in (0, 6, 8, 9, 10, 11, 12, 15, 20)] == [1, 1, 1, 2, 3, 4, 5, 5, 5]
    assert [tiles.first_zoom(level) for level in (1, 2, 3, 4, 5)] == [0, 9, 10, 11, 12]


def test_each_band_is_half_a_pixel_of_its_deepest_zoom_and_the_last_keeps_every_vertex():
    assert [tiles.band_for_zoom(z) for z in (0, 5, 7, 8, 10, 11, 13, 14, 20)] == [5, 5, 5, 8, 8, 11, 11, 14, 14]
    assert tiles.band_tolerance(5) == pytest.approx(156543.03 / 2 ** 7 / 2, rel=1e-6)  # 611 m
    assert tiles.band_tolerance(11) == pytest.approx(156543.03 / 2 ** 13 / 2, rel=1e-6)  # 9.6 m
    assert tiles.band_tolerance(14) == 0
    # A micro-grid is never drawn below z12: it has no shape in the coarse bands.
    assert [tiles.band_needed(b, 5) for b in tiles.BANDS] == [False, False, True, True]
    assert [tiles.band_needed(b, 1) for b in tiles.BANDS] == [True, True, True, True]


def test_the_importer_keeps_a_shape_per_band_a_level_is_drawn_from(small_grid):
    shapes = {t.unit.code: t for t in UnitTile.objects.select_related("unit")}
    assert set(shapes) == {unit[0] for unit in SMALL_GRID}
    county, micro = shapes[COUNTY[0]], shapes[MICRO_1[0]]
    assert county.geom_5 is not None and county.geom_8 is not None
    assert micro.geom_5 is None and micro.geom_8 is None and micro.geom_11 is not None
    # The label point lies inside its unit, in web Mercator.
    unit = GridUnit.objects.get(code=MICRO_1[0])
    assert micro.label.srid == 3857 and unit.geom.contains(micro.label.transform(4326, clone=True))
    assert micro.geom_14.transform(4326, clone=True).equals_exact(unit.geom, tolerance=1e-9)
    assert small_grid.stats["tile_shapes_made"] == len(SMALL_GRID)


# --- What a tile holds ----------------------------------------------------------------------

def expected_units(zoom: int, x: int, y: int) -> set[str]:
    """Independently: the units of the zoom's level and above whose boundary meets the tile
    widened by its buffer."""
    wide = tile_bounds(zoom, x, y, margin=tiles.BUFFER / tiles.EXTENT)
    return {code for code, _, level, _, wkt in SMALL_GRID
            if level <= tiles.level_for_zoom(zoom) and from_wkt(wkt).intersects(wide)}


def test_a_z12_tile_holds_its_micro_grids_and_every_level_above_as_outlines(signed_in, small_grid):
    zoom, (x, y) = 12, tile_of(106.05, 33.05, 12)
    answer = signed_in.get(f"/tiles/units/{zoom}/{x}/{y}.pbf")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/vnd.mapbox-vector-tile"
    layers = decode(answer.content)
    assert codes(layers["units"]) == expected_units(zoom, x, y)
    assert {COUNTY[0], TOWNSHIP_1[0], VILLAGE_1[0], GRID_1[0], MICRO_1[0]} <= codes(layers["units"])
    assert {f["properties"]["level"] for f in layers["units"]["features"]} == {1, 2, 3, 4, 5}
    for feature in layers["units"]["features"]:
        assert set(feature["properties"]) == ATTRIBUTES  # no patient figure in a shared tile
    # Labels: the micro-grids only, one point each, the ones whose label falls in the tile.
    labels = layers["labels"]["features"]
    assert {f["properties"]["level"] for f in labels} == {5} and len(labels) == len(codes(layers["labels"]))
    inside = tile_bounds(zoom, x, y)
    assert codes(layers["labels"]) == {
        code for code, _, level, _, wkt in SMALL_GRID
        if level == 5 and inside.intersects(from_wkt(wkt).point_on_surface())}


def test_a_unit_is_drawn_where_it_lies(signed_in, small_grid):
    """MICRO_1's west edge is lon 106.0: in the tile's coordinates (0–4096 from the tile's
    west edge) it is at (106.0 − west) / (tile width) × 4096."""
    zoom, (x, y) = 12, tile_of(106.05, 33.05, 12)
    feature = next(f for f in decode(signed_in.get(f"/tiles/units/{zoom}/{x}/{y}.pbf").content)
                   ["units"]["features"] if f["properties"]["code"] == MICRO_1[0])
    west, _, east, _ = tile_bounds(zoom, x, y).bounds
    xs = [point[0] for ring in feature["geometry"]["coordinates"] for point in ring]
    assert min(xs) == pytest.approx((106.0 - west) / (east - west) * tiles.EXTENT, abs=1)


@pytest.mark.parametrize(("zoom", "level"), [(6, 1), (9, 2), (10, 3), (11, 4), (15, 5)])
def test_each_zoom_holds_its_level_and_those_above(signed_in, small_grid, zoom, level):
    x, y = tile_of(106.05, 33.05, zoom)
    layers = decode(signed_in.get(f"/tiles/units/{zoom}/{x}/{y}.pbf").content)
    assert codes(layers["units"]) == expected_units(zoom, x, y)
    assert max(f["properties"]["level"] for f in layers["units"]["features"]) == level
    assert {f["properties"]["level"] for f in layers["labels"]["features"]} <= {level}


def test_a_tile_away_from_the_grid_is_empty(signed_in, small_grid):
    x, y = tile_of(116.4, 39.9, 12)  # Beijing: no unit there
    answer = signed_in.get(f"/tiles/units/12/{x}/{y}.pbf")
    assert answer.status_code == 200 and answer.content == b""


# --- Kept in step with the imports ------------------------------------------------------------

def test_a_changed_boundary_is_redrawn_and_replaces_the_version(
        signed_in, small_grid, write_units, django_capture_on_commit_callbacks):
    from config.importers import grid_units_import

    zoom, (x, y) = 12, tile_of(106.09, 33.15, 12)  # MICRO_2's east part
    url = f"/tiles/units/{zoom}/{x}/{y}.pbf"
    before = signed_in.get(url)
    assert MICRO_2[0] in codes(decode(before.content)["units"])
    moved = [(*MICRO_2[:4], "POLYGON((106 33.1, 106.05 33.1, 106.05 33.2, 106 33.2, 106 33.1))")
             if unit == MICRO_2 else unit for unit in SMALL_GRID]
    with django_capture_on_commit_callbacks(execute=True):
        report = grid_units_import(path=write_units(moved))
    assert report.ok and report.stats["tile_shapes_made"] == 1
    again = signed_in.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert again.status_code == 200 and again["ETag"] != before["ETag"]
    assert MICRO_2[0] not in codes(decode(again.content)["units"])  # it is west of 106.05 now
    # The same file again changes nothing: no shape made, the version kept.
    with django_capture_on_commit_callbacks(execute=True):
        report = grid_units_import(path=write_units(moved))
    assert report.stats["tile_shapes_made"] == 0
    assert signed_in.get(url, HTTP_IF_NONE_MATCH=again["ETag"]).status_code == 304


def test_a_household_import_replaces_the_counts_in_the_tiles(
        signed_in, small_grid, tmp_path, django_capture_on_commit_callbacks):
    from config.importers import households_import

    zoom, (x, y) = 12, tile_of(106.05, 33.05, 12)
    url = f"/tiles/units/{zoom}/{x}/{y}.pbf"

    def households_of(code: str) -> int:
        layer = decode(signed_in.get(url).content)["units"]
        return next(f["properties"]["households"] for f in layer["features"] if f["properties"]["code"] == code)

    assert households_of(MICRO_1[0]) == 0
    path = tmp_path / "households.csv"
    path.write_text("地址编码,地址,经度,纬度,人口数\nH1,一号,106.05,33.05,3\nH2,二号,106.06,33.04,2\n",
                    encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        report = households_import(path=path)
    assert report.ok, report.errors
    assert households_of(MICRO_1[0]) == 2 and households_of(COUNTY[0]) == 2


# --- HTTP: who, which tiles, caching ---------------------------------------------------------

def test_a_tile_needs_a_sign_in_and_a_real_tile(client, signed_in, small_grid):
    from django.test import Client

    assert Client().get("/tiles/units/12/3254/1636.pbf").status_code == 403
    for bad in ("21/0/0", "3/8/0", "3/0/8", "12/99999/1"):
        assert signed_in.get(f"/tiles/units/{bad}.pbf").status_code == 404, bad
    assert signed_in.post("/tiles/units/12/3254/1636.pbf").status_code == 405


def test_a_tile_may_be_kept_by_the_browser_the_pages_may_not(signed_in, small_grid):
    from gridmap import selectors

    version = selectors.unit_tiles_version()
    x, y = tile_of(106.05, 33.05, 12)
    plain = signed_in.get(f"/tiles/units/12/{x}/{y}.pbf")
    assert plain["Cache-Control"] == "private, no-cache" and plain["ETag"] == f'"{version}"'
    named = signed_in.get(f"/tiles/units/12/{x}/{y}.pbf", {"v": version})
    assert named["Cache-Control"] == "private, max-age=86400"
    stale = signed_in.get(f"/tiles/units/12/{x}/{y}.pbf", {"v": "old"})
    assert stale["Cache-Control"] == "private, no-cache"
    assert signed_in.get(f"/tiles/units/12/{x}/{y}.pbf", HTTP_IF_NONE_MATCH=plain["ETag"]).status_code == 304
    # The API beside it is never stored.
    assert "no-store" in signed_in.get("/api/units/", {"level": 1})["Cache-Control"]


def test_a_cached_tile_is_answered_without_building_it_again(signed_in, small_grid):
    x, y = tile_of(106.05, 33.05, 12)
    url = f"/tiles/units/12/{x}/{y}.pbf"
    with CaptureQueriesContext(connection) as first:
        built = signed_in.get(url).content
    with CaptureQueriesContext(connection) as second:
        kept = signed_in.get(url).content
    assert kept == built
    assert any("ST_AsMVT" in q["sql"] for q in first.captured_queries)
    assert not any("ST_AsMVT" in q["sql"] for q in second.captured_queries)
    cache.set(tiles.VERSION_KEY, secrets.token_hex(8))  # what an import does on commit
    with CaptureQueriesContext(connection) as third:
        signed_in.get(url)
    assert any("ST_AsMVT" in q["sql"] for q in third.captured_queries)


def test_the_tile_indexes_hold_only_what_a_tile_reads():
    """A band's index only the units drawn from it, a level's label index only that level
    (Django 5.2's GeoDjango drops a spatial index's condition when it is named by field)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
                       [UnitTile._meta.db_table])
        definitions = dict(cursor.fetchall())
    for band in tiles.BANDS:
        assert definitions[f"unittile_geom_{band}"].endswith(f"WHERE (geom_{band} IS NOT NULL)")
    for level in range(1, 6):
        assert definitions[f"unittile_label_{level}"].endswith(f"WHERE (level = {level})")
