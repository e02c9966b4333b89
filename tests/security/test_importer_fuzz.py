"""Every importer fed generated bad files (issue 10, hypothesis): mutated valid files, broken
geometries, malformed CSV and XLSX, wrong encodings, huge values and dates. Whatever the file,
the importer returns its report (never another exception); a report with errors changed
nothing; and every error names its row or feature, and its column in a table (formats.md:
`row N, column C: message`). What the runs found is pinned down, one plain test each, next
to the importer's own tests."""

import io
import json
import math
import re
import zipfile
from datetime import date

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from cases.patients.importers.followups import FOLLOWUP_COLUMNS
from cases.patients.importers.ledger import PATIENT_COLUMNS
from cases.screening.importers import CAMPAIGN_COLUMNS, VISIT_COLUMNS
from config.importers import IMPORTERS
from geodata.report import ImportReport
from gridmap.importers.households import HOUSEHOLD_COLUMNS
from gridmap.importers.staff import STAFF_COLUMNS
from gridmap.models import ImportRun
from tests.conftest import AS_OF, COUNTY, GRID_1, MICRO_1, PATIENTS, TOWNSHIP_1, VILLAGE_1, units_geojson
from tests.gridmap.test_households_import import ROWS
from tests.helpers import run_import
from tests.ledgers import followup, write_table
from tests.screening.test_screening_import import ALL, CAMPAIGNS, HOUSEHOLDS, visit

pytestmark = pytest.mark.django_db
Kind = ImportRun.Kind

# Seeded and bounded: the whole file runs in about 40 s on two cores.
FUZZ = settings(max_examples=80, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- The world the files are imported into, and a small valid file of every kind -------------

TABLES = ["gridmap_gridunit", "gridmap_gridunitshape", "gridmap_household", "gridmap_user",
          "gridmap_staffassignment", "cases_guardian", "cases_patient", "cases_followup",
          "cases_riskassessment", "cases_task", "cases_transfer", "cases_alert", "cases_notification",
          "cases_campaign", "cases_visit", "cases_suspectedcase", "cases_coveragecount"]


def snapshot() -> dict[str, tuple]:
    """Every table an import may touch: its row count and a digest of its rows."""
    with connection.cursor() as cursor:
        found = {}
        for table in TABLES:  # names from this list, never from input
            cursor.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                           f"FROM {table} t")
            found[table] = cursor.fetchone()
        return found


@pytest.fixture
def world(register, tmp_path):
    """The small grid with its staff and patients (tests.conftest.register), households and
    the two campaigns of the screening tests."""
    households = tmp_path / "world-h.csv"
    households.write_text("code,address,residents,lon,lat\n"
                          + "".join(",".join(r) + "\n" for r in HOUSEHOLDS), encoding="utf-8")
    for command, path in (("import_households", households),
                          ("import_campaigns", write_table(tmp_path / "world-c.csv", CAMPAIGNS))):
        ok, text = run_import("function", command, path)
        assert ok, text
    return register


GRID_FEATURES = [COUNTY, TOWNSHIP_1, VILLAGE_1, GRID_1, MICRO_1]  # stored already: re-imported unchanged
VALID_ROWS = {
    Kind.HOUSEHOLDS: [dict(zip(("code", "address", "residents", "lon", "lat"), r, strict=True))
                      for r in ROWS if r[0] in ("H1", "H3", "H4")],
    Kind.STAFF: [{"username": "grid_a", "name": "grid_a姓名", "role": "网格员", "unit_code": GRID_1[0]},
                 {"username": "police", "name": "police姓名", "role": "民警", "unit_code": TOWNSHIP_1[0]}],
    Kind.PATIENTS: PATIENTS[:3],
    Kind.FOLLOWUPS: [followup("P01", "2026-06-01 09:30", risk_level="1"),
                     followup("P02", "2026-06-02", reached="否")],
    Kind.CAMPAIGNS: CAMPAIGNS,
    Kind.SCREENING: [visit("H1", "2026-06-10 10:00", lon="106.05", lat="33.05"),
                     visit("H3", "2026-06-11 09:00", "发现疑似患者", code=ALL)],
}
TABLE_KINDS = sorted(VALID_ROWS)
ALL_KINDS = [Kind.GRID_UNITS, *TABLE_KINDS]
OPTIONS = {Kind.PATIENTS: {"as_of": AS_OF}, Kind.FOLLOWUPS: {"as_of": AS_OF}}


def valid_file(kind: str, tmp_path, suffix: str):
    """The kind's small valid file, as .geojson (grid units) or .csv/.xlsx."""
    if kind == Kind.GRID_UNITS:
        path = tmp_path / "valid.geojson"
        path.write_text(json.dumps(units_geojson(GRID_FEATURES), ensure_ascii=False), encoding="utf-8")
        return path
    # The same bytes every time (table_bytes): an XLSX written by write_table carries the time
    # of saving, and a file one byte longer in the next test case makes hypothesis's replay
    # draw differently ("FlakyStrategyDefinition", seen once in a full run).
    rows = VALID_ROWS[kind]
    path = tmp_path / f"valid{suffix}"
    path.write_bytes(table_bytes(rows, list(dict.fromkeys(c for row in rows for c in row)), suffix, "utf-8"))
    return path


# --- The properties every import must keep ------------------------------------------------------

WHERE = re.compile(r"(?:row|feature) (?P<n>\d+)(?:, column (?P<column>.+))?")


def imported(kind: str, path, *, rows: int | None = None, table: bool = True) -> ImportReport:
    """Import the file as users do (config.importers) and check the report: either it is ok,
    or it has errors, each with a message, at a place of the file (`row N, column C` for a
    table, `feature N` for a vector file, N within the file's rows when that is known) or
    about the file as a whole, and nothing at all was written."""
    before = snapshot()
    report = IMPORTERS[kind](path=path, **OPTIONS.get(kind, {}))  # any exception fails the test
    assert isinstance(report, ImportReport)
    if report.ok:
        return report
    assert report.errors and report.error_count >= len(report.errors)
    for problem in report.errors:
        assert problem.message.strip(), problem
        if not problem.where:
            assert problem.key == "file", problem  # only the file as a whole has no place
            continue
        where = WHERE.fullmatch(problem.where)
        assert where, problem
        if table:  # a cell is at fault, or a row where reading the file stopped
            assert problem.where.startswith("row ") and (where["column"] or problem.key == "file"), problem
        if rows is not None:
            assert 1 <= int(where["n"]) <= rows, problem
    assert snapshot() == before, f"a failed {kind} import changed the database: {report.errors[:3]}"
    return report


def places(report: ImportReport) -> set[str]:
    return {p.where for p in report.errors}


# --- Generated values ---------------------------------------------------------------------------

NASTY_TEXT = [
    "", " ", "\t", "0", "-1", "3.5", "1,5", "１２", "١٢٣", "1e400", "-1e400", "1e308", "1e300", "9" * 40,
    "99999999999", "-99999999999", "nan", "NaN", "inf", "-Infinity", "sNaN", "sNaN%", "9e999999999%",
    "9e999999999", "1e-999999999", "NULL", "None", "#N/A", "=1+1", "@SUM(A1)", "是", "否", "男", "女",
    "0001-01-01", "9999-12-31", "2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "1899-12-31",
    "2100-01-01", "0000-00-00", "2026-06-01 24:00", "2026-06-01 23:60", "2026-06-01 10:00:61",
    "2026年6月31日", "2026/6/1 9:00", "20260601", "2026-06-01T10:00:00+08:00", "1e5-01-01",
    "\x00", "a\x00b", "\ufeff", "\u202e", "\u200b", "\r", "\n", '"', "'", ",", ";", "；", "\\",
    "𝟘𝟙", "😀", "\ufffd", "x" * 65, "路" * 301, "长" * 5000, "y" * 200_000,
]


def _date_text(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


NASTY = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(str),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(_date_text),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "长" * n),
)


def table_bytes(rows: list[dict], headers: list[str], suffix: str, encoding: str) -> bytes:
    """Rows (header first) as CSV in `encoding` or as XLSX (what openpyxl can hold)."""
    if suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        for line in [headers, *([row.get(h, "") for h in headers] for row in rows)]:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", str(v)) for v in line])
        return _workbook_bytes(book)
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([row.get(h, "") for h in headers] for row in rows)
    return out.getvalue().encode(encoding, errors="replace")


ENCODINGS = st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le",
                             "big5", "latin-1"])


def _edit(rows: list[dict], data, values) -> tuple[list[dict], list[str]]:
    """Copies of the rows with one to four cells replaced by drawn values."""
    rows = [dict(r) for r in rows]
    headers = list(dict.fromkeys(c for r in rows for c in r))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="cells")):
        i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1), label="row")
        column = data.draw(st.sampled_from(headers), label="column")
        rows[i][column] = data.draw(values, label="value")
    return rows, headers


# --- Tables: bad cells, bad headers, bad encodings ----------------------------------------------

@FUZZ
@given(data=st.data())
def test_a_table_with_nasty_cells_is_imported_or_refused_cleanly(world, tmp_path, data):
    kind = data.draw(st.sampled_from(TABLE_KINDS), label="kind")
    rows, headers = _edit(VALID_ROWS[kind], data, NASTY)
    if data.draw(st.booleans(), label="extra column"):
        headers.append(data.draw(st.sampled_from(["备注", "note", "extra", "\ufeffcode "]), label="extra"))
        for row in rows:
            row[headers[-1]] = data.draw(NASTY, label="extra value")
    suffix = data.draw(st.sampled_from([".csv", ".xlsx"]), label="suffix")
    path = tmp_path / f"cells{suffix}"
    path.write_bytes(table_bytes(rows, headers, suffix, data.draw(ENCODINGS, label="encoding")))
    imported(kind, path, rows=len(rows))


# Values no importer may accept in that column, and the column the error names.
CERTAINLY_BAD = {
    Kind.HOUSEHOLDS: {"code": ["", "x" * 65], "address": ["", "路" * 301],
                      "residents": ["-1", "3.5", "三", "1e20", "1e400", "99999999999"],
                      "lon": ["", "nan", "inf", "200", "-1e400", "东经"], "lat": ["", "NaN", "100", "1e400"]},
    Kind.STAFF: {"username": ["", "u" * 151], "name": ["", "名" * 101], "role": ["保安", "\x00"],
                 "unit_code": ["", "NOPE", "a\x00b"], "phone": ["1" * 41]},
    Kind.PATIENTS: {"patient_no": ["", "a\x00b"], "name": [""], "diagnosis": ["感冒", ""],
                    "id_number": ["123", "61072719800230123X"], "registered_on": ["2026-02-30", "0001-01-01",
                                                                                  "9999-12-31", "昨天"],
                    "risk_level": ["6", "-1", "1e300", "nan"], "condition": ["好"], "consent": ["也许"],
                    "management_status": ["x"], "admissions_past_year": ["-1", "40000", "1e300"],
                    "residence_lon": ["abc", "nan", "200"], "guardian_id_number": ["123"]},
    Kind.FOLLOWUPS: {"patient_no": ["", "P99"], "followed_at": ["2026-02-30", "0001-01-01 10:00",
                                                                "9999-12-31", "2026-06-01 25:00", "x"],
                     "method": ["邮件", ""], "reached": ["也许"], "risk_level": ["9", "1e300"],
                     "medication": ["x"]},
    Kind.CAMPAIGNS: {"code": [""], "name": ["名" * 500], "kind": ["x"], "scope_code": ["NOPE"],
                     "starts_on": ["2026-02-30", "0001-01-01", "9999-12-31"],
                     "ends_on": ["2025-01-01", "2100-01-01"],
                     "target": ["2", "-0.1", "sNaN%", "9e999999999%", "NaN", "九成"]},
    Kind.SCREENING: {"campaign_code": ["NOPE", ""], "household_code": ["NOPE"],
                     "visited_at": ["2026-06-10", "2026-02-30 10:00", "0001-01-01 10:00", "9999-12-31 10:00"],
                     "worker": ["nobody", "a\x00b"], "lon": ["nan", "abc", "200"], "result": ["x"]},
}
# Where the error about a bad coordinate lands (the point's first column, or the point).
NAMED = {(Kind.HOUSEHOLDS, "lon"): "geometry", (Kind.HOUSEHOLDS, "lat"): "geometry"}
PAIRS = {"lon": "lat", "lat": "lon", "residence_lon": "residence_lat", "residence_lat": "residence_lon"}


@FUZZ
@given(data=st.data())
def test_a_certainly_bad_cell_is_reported_at_its_row_and_column(world, tmp_path, data):
    kind = data.draw(st.sampled_from(TABLE_KINDS), label="kind")
    rows = [dict(r) for r in VALID_ROWS[kind]]
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1), label="row")
    column = data.draw(st.sampled_from(sorted(CERTAINLY_BAD[kind])), label="column")
    rows[i][column] = data.draw(st.sampled_from(CERTAINLY_BAD[kind][column]), label="value")
    suffix = data.draw(st.sampled_from([".csv", ".xlsx"]), label="suffix")
    if suffix == ".xlsx" and ILLEGAL_CHARACTERS_RE.search(rows[i][column]):
        suffix = ".csv"  # a workbook cannot hold a NUL
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(table_bytes(rows, list(dict.fromkeys(c for r in rows for c in r)), suffix, "utf-8"))
    report = imported(kind, path, rows=len(rows))
    assert not report.ok
    # A coordinate given without its pair is reported at either (formats.md: both or neither).
    expected = {NAMED.get((kind, column), column), *([PAIRS[column]] if column in PAIRS else [])}
    assert {f"row {i + 1}, column {name}" for name in expected} & set(places(report)), report.errors


ACCEPTED_SPELLINGS = ("chinese", "upper", "padded", "bom", "shuffle")  # formats.md: any order, either language
HEADER_EDITS = st.sampled_from([*ACCEPTED_SPELLINGS, "drop", "duplicate", "both", "nasty", "blank"])
COLUMNS = {Kind.HOUSEHOLDS: HOUSEHOLD_COLUMNS, Kind.STAFF: STAFF_COLUMNS, Kind.PATIENTS: PATIENT_COLUMNS,
           Kind.FOLLOWUPS: FOLLOWUP_COLUMNS, Kind.CAMPAIGNS: CAMPAIGN_COLUMNS, Kind.SCREENING: VISIT_COLUMNS}


@FUZZ
@given(data=st.data())
def test_a_table_with_mangled_headers_is_imported_or_refused_cleanly(world, tmp_path, data):
    """Headers spelled any accepted way import; dropped, doubled or garbled ones are refused
    cleanly, never read into the wrong column."""
    kind = data.draw(st.sampled_from(TABLE_KINDS), label="kind")
    rows = VALID_ROWS[kind]
    headers = list(dict.fromkeys(c for r in rows for c in r))
    names, edits = list(headers), []
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="edits")):
        edits.append(data.draw(HEADER_EDITS, label="edit"))
        j = data.draw(st.integers(min_value=0, max_value=len(names) - 1), label="header")
        chinese = COLUMNS[kind].get(names[j], names[j])
        if edits[-1] == "drop" and len(names) > 1:
            del names[j], headers[j]
        elif edits[-1] in ("duplicate", "both"):
            names.append(names[j] if edits[-1] == "duplicate" else chinese)
            headers.append(headers[j])
        elif edits[-1] == "shuffle":
            order = data.draw(st.permutations(range(len(names))), label="order")
            names, headers = [names[k] for k in order], [headers[k] for k in order]
        else:
            names[j] = {"chinese": chinese, "upper": names[j].upper(), "padded": f"  {names[j]} ",
                        "bom": "\ufeff" + names[j], "blank": "", "drop": names[j],
                        "nasty": data.draw(NASTY, label="name")}[edits[-1]]
    suffix = data.draw(st.sampled_from([".csv", ".xlsx"]), label="suffix")
    lines = [names, *([row.get(h, "") for h in headers] for row in rows)]
    path = tmp_path / f"headers{suffix}"
    path.write_bytes(_csv(lines) if suffix == ".csv" else _xlsx(lines))
    report = imported(kind, path, rows=len(rows))
    if set(edits) <= set(ACCEPTED_SPELLINGS):
        assert report.ok, (names, report.errors)


def _csv(lines: list[list]) -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows(lines)
    return out.getvalue().encode("utf-8", errors="replace")


def _xlsx(lines: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for line in lines:
        book.active.append([ILLEGAL_CHARACTERS_RE.sub("", str(v)) for v in line])
    return _workbook_bytes(book)


def _workbook_bytes(book) -> bytes:
    """The workbook's bytes, the same on every call: openpyxl stamps the time of saving into
    the file and its zip entries, and hypothesis must be able to replay a test case byte for
    byte (a size that changed between runs drew different examples, and "flaky" ones)."""
    out, stable = io.BytesIO(), io.BytesIO()
    book.save(out)
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(stable, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", content)
            target.writestr(zipfile.ZipInfo(item.filename, date_time=(2026, 1, 1, 0, 0, 0)), content,
                            zipfile.ZIP_DEFLATED)
    return stable.getvalue()


# --- Files broken as bytes ----------------------------------------------------------------------

def _mutate(raw: bytes, data) -> bytes:
    """The bytes cut short, overwritten, inserted into, deleted from or repeated, 1-4 times."""
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
        at = data.draw(st.integers(min_value=0, max_value=max(len(raw) - 1, 0)), label="at")
        how = data.draw(st.sampled_from(["truncate", "flip", "insert", "delete", "repeat", "nul"]), label="how")
        if how == "truncate":
            raw = raw[:at]
        elif how == "flip" and raw:
            raw = raw[:at] + bytes([raw[at] ^ data.draw(st.integers(1, 255), label="bits")]) + raw[at + 1:]
        elif how == "insert":
            raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=16), label="bytes") + raw[at:]
        elif how == "delete":
            raw = raw[:at] + raw[at + data.draw(st.integers(1, 64), label="length"):]
        elif how == "repeat":
            raw = raw[:at] + raw[at:at + 64] * data.draw(st.integers(2, 50), label="times") + raw[at:]
        else:
            raw = raw[:at] + b"\x00" + raw[at:]
    return raw


@FUZZ
@given(data=st.data())
def test_a_valid_file_broken_as_bytes_is_imported_or_refused_cleanly(world, tmp_path, data):
    kind = data.draw(st.sampled_from(ALL_KINDS), label="kind")
    suffix = ".geojson" if kind == Kind.GRID_UNITS else data.draw(st.sampled_from([".csv", ".xlsx"]), label="suffix")
    raw = valid_file(kind, tmp_path, suffix).read_bytes()
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(_mutate(raw, data))
    imported(kind, path, table=kind != Kind.GRID_UNITS)


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


NOT_A_FILE = st.one_of(
    st.tuples(st.sampled_from([".csv", ".xlsx", ".geojson", ".json", ".zip", ".gpkg", ".kml", ".fgb", ".shp",
                               ".txt", ""]), st.binary(max_size=300)),
    st.tuples(st.sampled_from([".xlsx", ".zip"]), st.dictionaries(
        st.sampled_from(["a.txt", "[Content_Types].xml", "xl/workbook.xml", "units.shp", "units.dbf", "x.shp"]),
        st.binary(max_size=100), max_size=3).map(_zip)),
    st.tuples(st.sampled_from([".gpkg", ".fgb", ".kml"]), st.just(b"SQLite format 3\x00" + b"\x00" * 200)),
    st.tuples(st.just(".csv"), st.sampled_from(["\ufeff", "\n\n\n", ",,,\n,,,\n", '"unclosed\n', "a,b\n1,2,3\n",
                                                "\x00" * 20]).map(str.encode)),
)


@FUZZ
@given(kind=st.sampled_from(ALL_KINDS), file=NOT_A_FILE)
def test_a_file_that_is_no_table_or_map_is_refused_cleanly(world, tmp_path, kind, file):
    suffix, raw = file
    path = tmp_path / f"nothing{suffix}"
    path.write_bytes(raw)
    report = imported(kind, path, table=kind != Kind.GRID_UNITS)
    assert not report.ok


# --- Broken geometries --------------------------------------------------------------------------

INSIDE = st.tuples(st.floats(106.0, 106.1), st.floats(33.0, 33.1))  # micro-grid 1
ODD_NUMBER = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 1e20, 0.0, 200.0, -91.0])
ODD = st.one_of(st.tuples(ODD_NUMBER, st.floats(33.0, 33.1)), st.tuples(st.floats(106.0, 106.1), ODD_NUMBER))


def _ring(points: list, closed: bool) -> list:
    return [list(p) for p in points] + ([list(points[0])] if closed and points else [])


def _polygon(points, closed=True):
    return {"type": "Polygon", "coordinates": [_ring(points, closed)]}


CERTAINLY_BAD_SHAPES = st.one_of(
    st.lists(INSIDE, min_size=3, max_size=8).flatmap(  # a coordinate that is no coordinate
        lambda pts: st.tuples(st.integers(0, len(pts) - 1), ODD).map(
            lambda odd: _polygon([*pts[:odd[0]], odd[1], *pts[odd[0] + 1:]])))
    .filter(lambda g: not all(106 <= x <= 106.1 and 33 <= y <= 33.1 for x, y in g["coordinates"][0])),
    st.sampled_from([None, {"type": "Polygon", "coordinates": []}, {"type": "GeometryCollection", "geometries": []},
                     {"type": "Polygon", "coordinates": [[]]}, {"type": "MultiPolygon", "coordinates": []}]),
    st.lists(INSIDE, min_size=1, max_size=5).map(  # not an area
        lambda pts: {"type": "LineString", "coordinates": _ring(pts, False)} if len(pts) > 1
        else {"type": "Point", "coordinates": list(pts[0])}),
    st.lists(INSIDE, min_size=3, max_size=6).map(lambda pts: _polygon([(y, x) for x, y in pts])),  # swapped
    st.lists(INSIDE, min_size=3, max_size=6).filter(lambda pts: pts[0] != pts[-1]).map(  # unclosed ring
        lambda pts: _polygon(pts, closed=False)),
    st.integers(min_value=300, max_value=3000).flatmap(  # a tangle of random edges
        lambda n: st.randoms(use_true_random=False).map(
            lambda r: _polygon([(106 + r.random() * 0.1, 33 + r.random() * 0.1) for _ in range(n)]))),
)
ANY_SHAPE = st.one_of(
    CERTAINLY_BAD_SHAPES,
    st.lists(INSIDE, min_size=3, max_size=12).map(_polygon),  # self-intersecting, mostly
    st.lists(INSIDE, min_size=3, max_size=6).map(  # in three dimensions
        lambda pts: {"type": "Polygon", "coordinates": [[[x, y, 5.0] for x, y in _ring(pts, True)]]}),
    st.lists(st.lists(INSIDE, min_size=3, max_size=6).map(_polygon), min_size=1, max_size=3).map(
        lambda polygons: {"type": "GeometryCollection",
                          "geometries": [*polygons, {"type": "LineString", "coordinates": [[106, 33], [106.1, 33.1]]}]}),
    st.lists(st.lists(INSIDE, min_size=3, max_size=6), min_size=1, max_size=3).map(
        lambda rings: {"type": "MultiPolygon", "coordinates": [[_ring(r, True)] for r in rings]}),
)


def _features(shapes: dict[int, object], props: dict[int, dict] | None = None) -> str:
    collection = units_geojson(GRID_FEATURES)
    for i, shape in shapes.items():
        collection["features"][i]["geometry"] = shape
    for i, changed in (props or {}).items():
        collection["features"][i]["properties"].update(changed)
    return json.dumps(collection, ensure_ascii=False)  # NaN and Infinity as GDAL reads them


@FUZZ
@given(i=st.integers(0, len(GRID_FEATURES) - 1), shape=CERTAINLY_BAD_SHAPES)
def test_a_certainly_broken_unit_geometry_is_reported_at_its_feature(world, tmp_path, i, shape):
    path = tmp_path / "units.geojson"
    path.write_text(_features({i: shape}), encoding="utf-8")
    report = imported(Kind.GRID_UNITS, path, rows=len(GRID_FEATURES), table=False)
    assert not report.ok
    assert any(w == f"feature {i + 1}" or w.startswith(f"feature {i + 1},") for w in places(report)) or (
        [p.key for p in report.errors] == ["file"]), report.errors


@FUZZ
@given(shapes=st.dictionaries(st.integers(0, len(GRID_FEATURES) - 1), ANY_SHAPE, min_size=1, max_size=3),
       props=st.dictionaries(st.integers(0, len(GRID_FEATURES) - 1), st.dictionaries(
           st.sampled_from(["code", "name", "level", "parent_code", "备注"]),
           st.one_of(NASTY, st.integers(min_value=-(10**20), max_value=10**20), st.floats(), st.none()),
           max_size=2), max_size=2),
       nesting=st.sampled_from([0, 0, 0, 3, 100, 5000]))
def test_a_unit_file_with_any_geometries_and_values_is_imported_or_refused_cleanly(world, tmp_path, shapes, props,
                                                                                    nesting):
    text = _features(shapes, props)
    if nesting:  # GeoJSON nested deeper than any geometry
        text = text.replace('"coordinates": ', '"coordinates": ' + "[" * nesting + "]" * nesting + ', "x": ', 1)
    path = tmp_path / "units.geojson"
    path.write_text(text, encoding="utf-8")
    imported(Kind.GRID_UNITS, path, rows=len(GRID_FEATURES), table=False)


POINTS = st.one_of(INSIDE.map(lambda p: {"type": "Point", "coordinates": list(p)}), ODD.map(
    lambda p: {"type": "Point", "coordinates": list(p)}), ANY_SHAPE)


@FUZZ
@given(points=st.lists(POINTS, min_size=1, max_size=4))
def test_a_household_map_with_any_geometries_is_imported_or_refused_cleanly(world, tmp_path, points):
    features = [{"type": "Feature", "geometry": point,
                 "properties": {"code": f"H{n}", "address": f"地址{n}", "residents": 1}}
                for n, point in enumerate(points, start=1)]
    path = tmp_path / "households.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    imported(Kind.HOUSEHOLDS, path, rows=len(points), table=False)
