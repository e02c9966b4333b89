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

from geodata import crs as chinese_crs
from geodata.staging import srid

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".zip", ".shp", ".kml", ".fgb"}
TABLE_SUFFIXES = {".csv", ".xlsx"}
BASEMAP_SEGMENT_DEGREES = 0.002  # ~200 m: the GCJ-02 curve strays < 1 cm from such a chord


class FileError(Exception):
    """The file as a whole cannot be read; nothing else can be reported."""


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
    truncations) to canonical names; leave others as they are."""
    renamed = {}
    for column in frame.columns:
        if column == "geometry":
            continue
        key = str(column).strip().lstrip("\ufeff").lower()
        renamed[column] = aliases.get(key, aliases.get(key[:10], str(column).strip()))
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
        with zipfile.ZipFile(path) as archive:
            shapefiles = [n for n in archive.namelist() if n.lower().endswith(".shp")]
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
        frame = pyogrio.read_dataframe(uri)
    except Exception as exc:  # pyogrio raises several DataSourceError kinds
        raise FileError(f"cannot read {path.name}: {exc}") from exc
    declared = frame.crs
    if path.suffix.lower() == ".kml":
        declared = WGS84  # KML is WGS84 by definition
    return frame, declared


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without BOM, or GB18030) or an XLSX sheet as text."""
    if not path.exists():
        raise FileError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        try:
            frame = pd.read_excel(path, dtype=str, engine="openpyxl")
        except Exception as exc:
            raise FileError(f"cannot read {path.name}: {exc}") from exc
    elif suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise FileError(f"{path.name} is neither UTF-8 nor GB18030")
        frame = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
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
        # WGS84 (28 m off on a 20 km edge). Densify first so each edge follows it.
        dense = shapely.segmentize(np.asarray(geoms, dtype=object), BASEMAP_SEGMENT_DEGREES)
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
        {k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
         for k, v in row.items() if v not in (None, "")}
        for row in sub.to_dict("records")
    ]


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
