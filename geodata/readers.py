"""Reading the files users already hold (spec/formats.md) into DataFrames.

Vector files go through pyogrio (its wheel bundles a current GDAL); tables
(CSV in UTF-8 or GB18030, XLSX) through pandas/openpyxl. Headers may be
English or Chinese, in any order; unknown columns are kept for `extra`.
"""

import re
import zipfile
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from shapely.errors import GEOSException

from geodata import crs as chinese_crs
from geodata.extent import outside_china
from geodata.staging import srid

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".zip", ".shp", ".kml", ".fgb"}
TABLE_SUFFIXES = {".csv", ".xlsx"}
BASEMAP_SEGMENT_DEGREES = 0.002  # ~200 m: the GCJ-02 curve strays < 1 cm from such a chord


class FileError(Exception):
    """The file as a whole cannot be read; nothing else can be reported. `where` names the
    row where reading stopped, when one is to blame (a CSV row longer than its header)."""

    def __init__(self, message: str, *, where: str = ""):
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class SourceCRS:
    """How to bring a file's coordinates to WGS84 (EPSG:4326, the stored system).

    kind is "declared" (use the CRS the file declares), "epsg" (treat the
    coordinates as that EPSG code) or one of the Chinese basemap systems
    "gcj02"/"bd09", which have no EPSG code and are converted by formula.
    """

    kind: str
    epsg: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> "SourceCRS":
        """Parse --source-crs. Only these forms are accepted, so no free-form
        SRS string from a user ever reaches PROJ or GDAL."""
        if not text:
            return cls("declared")
        value = text.strip().lower()
        if value in chinese_crs.CHINESE_BASEMAP_CRS:
            return cls(value)
        match = re.fullmatch(r"(?:epsg:)?(\d{4,6})", value)
        if not match:
            raise FileError(
                f"unknown source CRS {text!r}: use gcj02, bd09 or EPSG:<code>"
            )
        return cls("epsg", int(match.group(1)))


# Tables give WGS84 longitude and latitude unless told otherwise (formats.md §2, §3, §5).
SourceCRS.WGS84 = SourceCRS("epsg", 4326)


def normalise_columns(frame: pd.DataFrame, aliases: dict[str, str]) -> pd.DataFrame:
    """Rename known headers (English, Chinese, or Shapefile's 10-character
    truncations) to canonical names; leave others as they are. FileError when two
    headers name one column (`code` and `地址编码`): which one holds it is unknowable."""
    renamed, first = {}, {}
    for column in frame.columns:
        if column == "geometry":
            continue
        key = str(column).replace("\ufeff", "").strip().lower()
        renamed[column] = aliases.get(key, aliases.get(key[:10], str(column).strip()))
        other = first.setdefault(renamed[column], column)
        if other is not column:
            raise FileError(f"the columns {other!r} and {column!r} both give {renamed[column]}: keep one")
    return frame.rename(columns=renamed)


def alias_table(columns: dict[str, str]) -> dict[str, str]:
    """{canonical: chinese} -> lookup of every accepted header spelling."""
    table = {}
    for canonical, chinese in columns.items():
        table[canonical] = canonical
        table[chinese.lower()] = canonical
        table[canonical[:10]] = canonical  # Shapefile truncates field names to 10
    return table


def _vector_uri(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                shapefiles = [n for n in archive.namelist() if n.lower().endswith(".shp")]
        except zipfile.BadZipFile as exc:
            raise FileError(f"{path.name} is not a zip archive ({exc})") from exc
        if len(shapefiles) != 1:
            raise FileError("a zipped Shapefile must hold exactly one .shp")
        return f"/vsizip/{path}/{shapefiles[0]}"
    return str(path)


def read_vector(path: Path) -> tuple[gpd.GeoDataFrame, CRS | None]:
    """Read every feature of the file's first layer; return it and its CRS."""
    if not path.exists():
        raise FileError(f"no such file: {path}")
    uri = _vector_uri(path)
    try:
        try:
            frame = pyogrio.read_dataframe(uri)
        except GEOSException:
            frame = _read_unbuildable(uri)
    except Exception as exc:  # pyogrio raises several DataSourceError kinds
        raise FileError(f"cannot read {path.name}: {exc}") from exc
    if not isinstance(frame, gpd.GeoDataFrame):  # OGR reads a text file as a table
        raise FileError(f"{path.name} holds no geometries: expected a map (a vector file)")
    declared = frame.crs
    if path.suffix.lower() == ".kml":
        declared = WGS84  # KML is WGS84 by definition
    return frame, declared


def _read_unbuildable(uri: str) -> gpd.GeoDataFrame:
    """A file some of whose geometries GEOS cannot build (an unclosed ring, a ring of
    three points): read one by one, those are None, and frame.attrs["unbuildable"] says
    why, by feature index, so that each is reported with its feature number."""
    meta, _, wkbs, _ = pyogrio.raw.read(uri, columns=[])
    geoms, unbuildable = [], {}
    for i, wkb in enumerate(wkbs):
        try:
            geoms.append(None if wkb is None else shapely.from_wkb(wkb))
        except GEOSException as exc:
            geoms.append(None)
            unbuildable[i] = str(exc)
    frame = gpd.GeoDataFrame(pyogrio.read_dataframe(uri, read_geometry=False), geometry=geoms,
                             crs=meta["crs"])
    frame.attrs["unbuildable"] = unbuildable
    return frame


def _utf16(raw: bytes) -> bool:
    """Whether the bytes look like UTF-16 (a byte-order mark, or every other byte of the
    start NUL): read as UTF-8 they would be NUL characters between the letters."""
    start = raw[:200]
    return start[:2] in (b"\xff\xfe", b"\xfe\xff") or len(start) >= 4 and max(
        start[0::2].count(0), start[1::2].count(0)) * 4 > len(start)


# How pandas names a CSV row with more cells than the header has (its line counts the header).
_TOO_MANY_CELLS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_csv(text: str, name: str) -> pd.DataFrame:
    """The CSV text as a table of text; FileError when it is none (empty, a row longer
    than the header, an unclosed quote). The header is read as a row: were it shorter
    than the first data row, pandas would silently take that row's first cell as an index
    and shift every other cell one column left."""
    try:
        cells = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, header=None)
    except pd.errors.EmptyDataError:
        raise FileError(f"{name} is empty: no header row") from None
    except pd.errors.ParserError as exc:
        found = _TOO_MANY_CELLS.search(str(exc))
        if found:
            columns, line, count = (int(g) for g in found.groups())
            raise FileError(f"{count} cells but the header has {columns} columns",
                            where=f"row {line - 1}") from None
        raise FileError(f"{name} is not a well-formed CSV table ({str(exc).strip()})") from None
    header = [h if h.strip() else f"column {i}" for i, h in enumerate(cells.iloc[0].fillna(""), start=1)]
    return cells.iloc[1:].set_axis(header, axis=1).reset_index(drop=True)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without BOM, or GB18030) or an XLSX sheet as text."""
    if not path.exists():
        raise FileError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        try:
            # keep_default_na=False: a cell reading "NULL", "#N/A" or "nan" is that text, not blank
            frame = pd.read_excel(path, dtype=str, engine="openpyxl", keep_default_na=False)
        except Exception as exc:
            raise FileError(f"cannot read {path.name}: {exc}") from exc
    elif suffix == ".csv":
        raw = path.read_bytes()
        if _utf16(raw):
            raise FileError(f"{path.name} is UTF-16: save it as UTF-8 (CSV UTF-8) or GB18030")
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise FileError(f"{path.name} is neither UTF-8 nor GB18030")
        frame = _read_csv(text, path.name)
    else:
        raise FileError(f"{path.name}: expected .csv or .xlsx")
    frame = frame.fillna("")
    return frame.apply(lambda col: col.str.strip() if col.dtype == object else col)


WGS84 = CRS.from_epsg(4326)  # what KML, the GCJ-02/BD-09 inverses and lon/lat tables give
CGCS2000 = CRS.from_epsg(4490)  # coincides with WGS84 to centimetres: taken as WGS84


def stored_crs() -> CRS:
    """The one coordinate system stored (settings.GRIDCARE_SRID, WGS84)."""
    return CRS.from_epsg(srid())


def _source_crs(declared: CRS | None, source: SourceCRS) -> CRS:
    """The CRS a file's coordinates are in: the one given, else the one it declares."""
    crs = CRS.from_epsg(source.epsg) if source.kind == "epsg" else declared
    if crs is None:
        raise FileError(
            "the file declares no coordinate system: pass --source-crs "
            "(gcj02, bd09 or EPSG:<code>)"
        )
    return WGS84 if crs.equals(CGCS2000) else crs


def to_wgs84(geoms: np.ndarray, declared: CRS | None, source: SourceCRS) -> np.ndarray:
    """Bring geometries to the stored CRS (WGS84) as the source CRS says (STYLE §5)."""
    if source.kind in chinese_crs.CHINESE_BASEMAP_CRS:
        # The offset varies along an edge: a straight GCJ-02 edge is a curve in
        # WGS84 (28 m off on a 20 km edge). Densify first so each edge follows it; only
        # what lies in China (the offset's domain): an edge to 1e300 would never end.
        geoms = np.asarray(geoms, dtype=object)
        west, south, east, north = shapely.bounds(geoms).T
        near = ~(np.isnan(west) | outside_china(west, south) | outside_china(east, north))
        dense = geoms.copy()
        dense[near] = shapely.segmentize(geoms[near], BASEMAP_SEGMENT_DEGREES)
        geoms, crs = chinese_crs.transform_geometries(dense, source.kind), WGS84
    else:
        crs = _source_crs(declared, source)
    if crs.equals(stored_crs()):
        return geoms
    series = gpd.GeoSeries(geoms, crs=crs).to_crs(stored_crs())
    return series.values.to_numpy() if hasattr(series.values, "to_numpy") else np.asarray(
        series.values
    )


def lonlat_to_wgs84(lon: np.ndarray, lat: np.ndarray, declared: CRS | None,
                    source: SourceCRS) -> tuple[np.ndarray, np.ndarray]:
    """Point coordinates to the stored CRS (WGS84), vectorised; NaN stays NaN."""
    if source.kind in chinese_crs.CHINESE_BASEMAP_CRS:
        convert = {"gcj02": chinese_crs.gcj02_to_wgs84, "bd09": chinese_crs.bd09_to_wgs84}
        lon, lat = convert[source.kind](lon, lat)
        crs = WGS84
    else:
        crs = _source_crs(declared, source)
    if not crs.equals(stored_crs()):
        lon, lat = Transformer.from_crs(crs, stored_crs(), always_xy=True).transform(lon, lat)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def extra_columns(frame: pd.DataFrame, known: set[str]) -> list[dict]:
    """The unknown columns of each row, as JSON-ready dicts (formats.md: kept in extra)."""
    others = [c for c in frame.columns if c not in known and c != "geometry"]
    if not others:
        return [{} for _ in range(len(frame))]
    sub = frame[others].astype(object).where(frame[others].notna(), None)
    return [
        {k: (v if isinstance(v, (str, int, bool)) or v is None or _finite(v) else str(v))
         for k, v in row.items() if v not in (None, "")}
        for row in sub.to_dict("records")
    ]


def _finite(value) -> bool:
    """A number JSON can hold (not NaN or infinity, which jsonb refuses)."""
    return isinstance(value, float) and np.isfinite(value)


NUL_MESSAGE = ("holds a NUL character (0x00), which no text can store: is the file UTF-16 "
               "or binary? Save it as UTF-8")


def nul_cells(frame: pd.DataFrame, unit: str) -> tuple[list[str], list[str]]:
    """The headers, and the places (`row N, column C`, or `feature N, …` for `unit`
    "feature"), holding a NUL character: PostgreSQL refuses it in any text or JSON."""
    headers = [str(c) for c in frame.columns if "\x00" in str(c)]
    places = []
    for column in frame.columns:
        if column == "geometry" or frame[column].dtype.kind not in "OUT":
            continue
        found = frame[column].astype(str).str.contains("\x00", regex=False).to_numpy(dtype=bool)
        places += [(i, f"{unit} {i + 1}, column {column}") for i in np.flatnonzero(found)]
    return headers, [where for _, where in sorted(places)]


def blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""



def read_ledger(path: str | Path, columns: dict[str, str], required: tuple[str, ...]) -> pd.DataFrame:
    """A CSV/XLSX table with canonical column names (`columns`: canonical -> Chinese); every
    known column present (blank when the file lacks it), unknown ones kept. FileError for a
    missing required column, named in both languages."""
    frame = normalise_columns(read_table(Path(path)), alias_table(columns))
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise FileError("missing column(s): " + ", ".join(f"{c} ({columns[c]})" for c in missing))
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
    return frame
