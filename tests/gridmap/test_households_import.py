"""import_households (formats.md §2): set-based placement on the grid (R0)."""

import json

import pytest
from django.db import connection

from config.importers import households_import
from geodata.report import LISTED
from gridmap.models import GridUnit, Household
from tests.conftest import GRID_1, MICRO_1, MICRO_2, MICRO_3, MICRO_4, TOWNSHIP_1, TOWNSHIP_2
from tests.helpers import run_import

pytestmark = pytest.mark.django_db
VIA = pytest.mark.parametrize("via", ["function", "command"])

HEADER_EN = "code,address,residents,lon,lat\n"
HEADER_ZH = "地址编码,地址,人口数,经度,纬度\n"
ROWS = [
    ("H1", "西淮坝村1组1号", "3", "106.05", "33.05"),  # inside micro-grid 1
    ("H2", "西淮坝村2组1号", "2", "106.05", "33.15"),  # inside micro-grid 2
    ("H3", "边界1号", "1", "106.1", "33.05"),  # edge of micro-grids 1 and 3
    ("H4", "三界1号", "4", "106.1", "33.1"),  # corner of micro-grids 1, 2 and 3
    ("H5", "镇界1号", "", "106.2", "33.05"),  # edge between the two townships
    ("H6", "接官亭村1号", "5", "106.3", "33.1"),  # inside micro-grid 4
    ("H7", "县外1号", "2", "107.5", "34.0"),  # in no unit
]


def households_csv(tmp_path, rows=ROWS, *, header=HEADER_EN, encoding="utf-8", name="h.csv"):
    path = tmp_path / name
    path.write_bytes((header + "".join(",".join(r) + "\n" for r in rows)).encode(encoding))
    return path


def placement():
    return dict(Household.objects.values_list("code", "micro_grid__code"))


def snapshot():
    with connection.cursor() as cursor:
        cursor.execute("SELECT code, address, residents, ST_AsEWKT(geom), micro_grid_id "
                       "FROM gridmap_household ORDER BY code")
        households = cursor.fetchall()
        cursor.execute("SELECT code, households, population FROM gridmap_gridunit ORDER BY code")
        return households, cursor.fetchall()


@VIA
def test_households_are_placed_in_their_micro_grid_and_every_level(via, small_grid, tmp_path):
    ok, text = run_import(via, "import_households", households_csv(tmp_path))
    assert ok, text
    assert placement() == {
        "H1": MICRO_1[0], "H2": MICRO_2[0], "H3": MICRO_1[0], "H4": MICRO_1[0],
        "H5": MICRO_3[0], "H6": MICRO_4[0], "H7": None,
    }
    h2 = Household.objects.get(code="H2")
    assert (h2.grid.code, h2.township.code, h2.county.code) == (GRID_1[0], TOWNSHIP_1[0], "610727")
    assert "row 7: (107.50000, 34.00000) lies in no stored unit" in text


def test_a_point_is_counted_once_at_every_level_R0(small_grid, tmp_path):
    run_import("function", "import_households", households_csv(tmp_path))
    units = dict(GridUnit.objects.values_list("code", "households"))
    assert units["610727"] == 6  # H7 is outside
    assert units[TOWNSHIP_1[0]] + units[TOWNSHIP_2[0]] == 6
    assert sum(n for code, n in units.items() if len(code) == 16) == 6
    assert units[MICRO_1[0]] == 3
    assert GridUnit.objects.get(code=MICRO_1[0]).population == 3 + 1 + 4


def test_chinese_headers_in_gb18030_are_read(small_grid, tmp_path):
    path = households_csv(tmp_path, header=HEADER_ZH, encoding="gb18030")
    ok, text = run_import("function", "import_households", path)
    assert ok, text
    assert Household.objects.get(code="H1").address == "西淮坝村1组1号"


def test_a_vector_file_of_points_is_read(small_grid, tmp_path):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(r[3]), float(r[4])]},
                 "properties": {"code": r[0], "address": r[1], "residents": r[2] or None, "楼栋": "A"}}
                for r in ROWS]
    path = tmp_path / "h.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    ok, text = run_import("function", "import_households", path)
    assert ok, text
    assert placement()["H3"] == MICRO_1[0]
    assert Household.objects.get(code="H1").extra == {"楼栋": "A"}


def test_gcj02_points_are_converted_before_placement(small_grid, tmp_path):
    from geodata.crs import wgs84_to_gcj02

    lon, lat = (float(v) for v in wgs84_to_gcj02(106.0999, 33.05))  # just inside micro-grid 1
    path = households_csv(tmp_path, [("G1", "地址", "1", f"{lon:.9f}", f"{lat:.9f}")])
    # In GCJ-02 the raw point lies ~500 m east, inside micro-grid 3.
    assert lon > 106.1
    ok, text = run_import("function", "import_households", path, source_crs="gcj02")
    assert ok, text
    assert placement() == {"G1": MICRO_1[0]}


def test_reimport_moves_a_household_and_updates_counts(small_grid, tmp_path):
    run_import("function", "import_households", households_csv(tmp_path))
    moved = [("H1", "西淮坝村1组1号", "3", "106.3", "33.05")]
    ok, text = run_import("function", "import_households", households_csv(tmp_path, moved, name="m.csv"))
    assert ok, text
    assert placement()["H1"] == MICRO_4[0]
    assert GridUnit.objects.get(code=MICRO_4[0]).households == 2


def test_changing_the_grid_re_places_stored_households(small_grid, tmp_path, write_units):
    from config.importers import grid_units_import

    run_import("function", "import_households", households_csv(tmp_path))
    # Micro-grid 1 shrinks south of 33.04: H1 (33.05) now lies in micro-grid 2.
    m1 = (MICRO_1[0], MICRO_1[1], 5, GRID_1[0], "POLYGON((106 33, 106.1 33, 106.1 33.04, 106 33.04, 106 33))")
    m2 = (MICRO_2[0], MICRO_2[1], 5, GRID_1[0], "POLYGON((106 33.04, 106.1 33.04, 106.1 33.2, 106 33.2, 106 33.04))")
    report = grid_units_import(path=write_units([m1, m2], name="reshaped.geojson"))
    assert report.ok, report.errors
    assert placement()["H1"] == MICRO_2[0]
    assert report.stats["households_moved"] >= 1


@VIA
def test_dry_run_places_nothing(via, small_grid, tmp_path):
    ok, _ = run_import(via, "import_households", households_csv(tmp_path), dry_run=True)
    assert ok
    assert Household.objects.count() == 0


BAD_ROWS = [
    ("", "无编码", "1", "106.05", "33.05"),
    ("B2", "", "1", "106.05", "33.05"),
    ("B3", "人口非数字", "三", "106.05", "33.05"),
    ("B4", "无坐标", "1", "", ""),
    ("B5", "经纬度颠倒", "1", "33.05", "106.05"),
    ("B4", "重复编码", "1", "106.05", "33.05"),
]


@VIA
def test_every_bad_row_is_reported_and_nothing_changes(via, small_grid, tmp_path):
    run_import("function", "import_households", households_csv(tmp_path))
    before = snapshot()
    ok, text = run_import(via, "import_households",
                          households_csv(tmp_path, ROWS[:2] + BAD_ROWS, name="bad.csv"))
    assert not ok
    for expected in [
        "row 3, column code: code is required",
        "row 4, column address: address is required",
        "row 5, column residents: residents must be a whole number from 0 to 100000, not '三'",
        "row 6, column geometry: a point (lon/lat) is required",
        "row 7, column geometry: (33.05000, 106.05000) lies outside China's extent",
        "row 8, column code: duplicate code B4",
    ]:
        assert expected in text
    assert snapshot() == before


def test_a_file_missing_a_column_is_refused(small_grid, tmp_path):
    path = tmp_path / "nolat.csv"
    path.write_text("code,address,lon\nH1,x,106\n", encoding="utf-8")
    ok, text = run_import("function", "import_households", path)
    assert not ok and "missing column: lat" in text


def test_without_micro_grids_households_go_to_the_deepest_covering_unit(write_units, tmp_path):
    from config.importers import grid_units_import
    from tests.conftest import COUNTY, GRID_2, GRID_3, VILLAGE_1, VILLAGE_2

    stops_at_grids = [COUNTY, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_2, GRID_1, GRID_2, GRID_3]
    assert grid_units_import(path=write_units(stops_at_grids)).ok
    ok, text = run_import("function", "import_households", households_csv(tmp_path))
    assert ok, text
    grids = dict(Household.objects.values_list("code", "grid__code"))
    assert grids["H3"] == GRID_1[0]  # on the edge of grids 1 and 2: the lower code
    assert grids["H6"] == GRID_3[0]
    assert Household.objects.filter(micro_grid__isnull=False).count() == 0
    assert Household.objects.get(code="H6").township.code == TOWNSHIP_2[0]


def _household_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'gridmap_household' "
                       "ORDER BY indexname")
        return [row[0] for row in cursor.fetchall()]


def test_a_first_load_rebuilds_every_index_it_set_aside(small_grid, tmp_path):
    before = _household_indexes()
    assert any("gist" in definition for definition in before)
    ok, text = run_import("function", "import_households", households_csv(tmp_path))
    assert ok, text
    assert _household_indexes() == before
    assert Household.objects.filter(geom__coveredby=GridUnit.objects.get(code=MICRO_1[0]).geom
                                    ).count() == 3


def test_a_first_load_dry_run_leaves_the_indexes(small_grid, tmp_path):
    before = _household_indexes()
    ok, _ = run_import("function", "import_households", households_csv(tmp_path), dry_run=True)
    assert ok and _household_indexes() == before



def test_a_file_of_many_bad_rows_lists_the_first_and_counts_them_all(small_grid, tmp_path):
    """Probe finding 10: a report keeps the first LISTED problems one by one and counts every
    one, so a file of bad rows cannot fill the database or the page with messages."""
    bad = [("", "无编码", "1", "106.05", "33.05")] * (LISTED + 500)
    path = households_csv(tmp_path, bad, name="many.csv")
    report = households_import(path=path)
    assert not report.ok and report.error_count == LISTED + 500 and len(report.errors) == LISTED
    assert report.errors[-1].where == f"row {LISTED}, column code"
    assert f"{LISTED + 500} error(s)" in report.summary()
    ok, text = run_import("command", "import_households", path)
    assert not ok and "... and 500 more error(s)" in text
    assert f"row {LISTED + 1}, column code" not in text
    assert Household.objects.count() == 0


# --- What the fuzz tests found (tests/security/test_importer_fuzz.py) ---------------------------

def _refused(path, expected):
    before = snapshot()
    report = households_import(path=path)
    assert not report.ok and expected in "\n".join(map(str, report.errors)), report.errors
    assert snapshot() == before


@pytest.mark.parametrize("residents", ["1e20", "1e400", "99999999999", "100001"])
def test_a_huge_number_of_residents_is_a_row_error(residents, small_grid, tmp_path):
    path = households_csv(tmp_path, [ROWS[0], (*ROWS[1][:2], residents, *ROWS[1][3:])])
    _refused(path, f"row 2, column residents: residents must be a whole number from 0 to 100000, not '{residents}'")


@pytest.mark.parametrize("content, expected", [
    (b"", "h.csv is empty: no header row"),
    (b"\n\n", "h.csv is empty: no header row"),
    (b'code,address,lon,lat\n"H1,x,106.05,33.05\n', "h.csv is not a well-formed CSV table"),
    (b"code,address,lon,lat\nH1,x,106.05,33.05\nH2,y,106.05,33.05,9\n", "row 2: 5 cells but the header has 4"),
    # A first row one cell longer than the header was read with its first cell as an index:
    # every other cell moved one column left, silently.
    (b"code,address,lon,lat\nX,H1,x,106.05,33.05\n", "row 1: 5 cells but the header has 4 columns"),
    ("code,address,lon,lat\nH1,x,106.05,33.05\n".encode("utf-16-le"), "h.csv is UTF-16"),
    (b"code,address,lon,lat,\xe5\x9c\xb0\xe5\x9d\x80\xe7\xbc\x96\xe7\xa0\x81\nH1,x,106.05,33.05,H1\n",
     "the columns 'code' and '地址编码' both give code: keep one"),
    (b"code,address,lon,lat\nH1,x\x00y,106.05,33.05\n", "row 1, column address: holds a NUL character"),
])
def test_a_malformed_csv_is_a_clear_error(content, expected, small_grid, tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes(content)
    _refused(path, expected)
