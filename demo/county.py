"""The demo county: a realistic five-level grid over the real boundary of 略阳县 (610727).

`demo_county_build` writes the files of spec/formats.md (§1 grid units as one
GeoPackage, §2 households, §7 staff, from geodata/demo_patients.py §3 the patient
ledger and §4 follow-ups, from geodata/demo_screening.py §6 screening campaigns
and §5 their visits, as CSV); `demo_county_load` builds them and
feeds them to the real importers, exactly as a user would.

How the county is made. The boundary (demo/data/610727.geojson) is GCJ-02,
so everything is generated in GCJ-02 and imported with source_crs="gcj02";
units and households go through the same conversion. Geometry work happens in
local equirectangular metres (an affine image of GCJ-02 degrees, so a tiling
in metres is a tiling in degrees). Each level is the Voronoi diagram of seed
points clipped to the parent, so children tile their parent exactly; seeds
crowd around township seats and village centres. Sizes follow the households
a unit should hold: every village gets a household count, split into grids of
300–500 and micro-grids of 30–100 (the settings' usual ranges), and then each
micro-grid receives exactly its count of household points, clustered in
hamlets and kept 10 m inside its edges. Small cells near the centres thus
hold as many households as large ones at the edge: a density falloff.

Deterministic: one numpy Generator seeded with `seed` drives everything and
the GeoPackage's timestamp is pinned, so a seed gives byte-identical files
(the patient files also depend on `today`: their histories end there).
"""

import hashlib
import logging
import math
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.importers import (
    followups_import,
    grid_units_import,
    households_import,
    patients_import,
    staff_import,
)
from demo import moves as demo_moves
from demo import patients as demo_patients
from demo import screening as demo_screening
from geodata.report import ImportReport
from gridmap.calendar import local_today
from gridmap.models import LEVEL_FIELDS, GridUnit, Household, User
from gridmap.security import needs_second_factor

DEMO_SEED = 610727
DEMO_PASSWORD = "gridcare-demo-2026"  # public on purpose: printed by `seed_demo`, demo only
DEMO_DEVICE = "demo authenticator"  # the second factor of the demo's admin and county office
SOURCE_CRS = "gcj02"
COUNTY_CODE = "610727"
COUNTY_NAME = "略阳县"
BOUNDARY = Path(__file__).resolve().parent / "data" / "610727.geojson"
HOUSEHOLD_PREFIX = "H610727"
FILE_DATE = "2024-01-01T00:00:00Z"  # pinned GeoPackage timestamp: identical bytes per seed

# The county town, where 兴州街道 has its seat (GCJ-02).
COUNTY_SEAT = (106.1570, 33.3270)
TOWNSHIPS = (
    "兴州街道", "西淮坝镇", "接官亭镇", "两河口镇", "金家河镇", "徐家坪镇", "白水江镇", "硖口驿镇",
    "马蹄湾镇", "乐素河镇", "郭镇", "黑河镇", "白雀寺镇", "观音寺镇", "五龙洞镇", "仙台坝镇",
    "何家岩镇",
)
STAFF_TOWNSHIP = "西淮坝镇"
MIN_PART_M2 = 10.0  # clipping debris smaller than this is dropped
SEGMENT_DEG = 0.002  # longest edge written (about 200 m)
EDGE_M = 10.0  # households keep this far inside their micro-grid's edges
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯董程曹袁邓许沈曾彭吕苏蒋蔡贾魏薛叶余潘杜"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国志红玉兰海燕飞鹏辉玲丹宇浩婷雪梅峰春秀英文斌"
_PLACE_HEADS = tuple("石白黄青柏松桃杏柳枣茶竹梨龙凤马牛鹿金银铁磨碾庙堡营新高上下中东南北水泉云安乐兴") + (
    "太平", "永丰", "黑松", "双河", "三岔", "团结", "红岩")
_PLACE_TAILS = "坝沟坪河湾岭垭山岩院庄峪口川梁坡寨台峡溪塘园桥关铺"
_COMMUNITIES = ("城关", "嘉陵", "江北", "江南", "象山", "滨江", "凤凰", "紫云", "北关", "南街")
_STREETS = ("兴州路", "嘉陵路", "江北路", "滨江路", "象山路", "城关路", "新华街", "建设路")
_RESIDENTS_P = (0.12, 0.20, 0.25, 0.22, 0.13, 0.08)  # P(1..6 residents)
_STAFF = (  # username, role as formats.md §7 writes it, the unit the persona serves
    ("county_office", "区县重精办", "county"),
    ("township_office", "乡镇综治办", "township"),
    ("health_staff", "卫生院精防人员", "township"),
    ("police", "民警", "township"),
    ("village_committee", "村两委", "village"),
    ("liaison_leader", "联村领导", "village"),
    ("village_doctor", "村医", "village"),
    ("grid_worker_a", "网格员", "grid_a"),
    ("grid_worker_b", "网格员", "grid_b"),
    ("micro_grid_leader", "微网格长", "micro_grid"),
)
STAFF_USERNAMES = tuple(row[0] for row in _STAFF)
ADMIN_USERNAME = "admin"


class DemoLoadError(Exception):
    """An importer rejected a demo file; the message lists every error."""


@dataclass(frozen=True)
class DemoFiles:
    units: Path  # GeoPackage, all five levels, GCJ-02 (formats.md §1)
    households: Path  # CSV with lon/lat in GCJ-02 (§2)
    staff: Path  # CSV with Chinese headers (§7)
    patients: Path  # the patient ledger, CSV with Chinese headers (§3)
    followups: Path  # follow-up records, CSV with Chinese headers (§4)
    campaigns: Path  # screening campaigns, from geodata/demo_screening.py (§6)
    visits: Path  # screening visits (§5)


@dataclass
class _Unit:
    code: str
    name: str
    level: int
    parent: "_Unit | None"
    geom: shapely.Geometry  # local metres
    centre: np.ndarray  # (x, y) metres: the seat / centre households crowd around
    place: str  # address prefix: 略阳县西淮坝镇某某村
    households: int = 0


class _Frame:
    """Local equirectangular metres around a GCJ-02 origin (an affine map)."""

    def __init__(self, lon0: float, lat0: float):
        self.origin = np.array([lon0, lat0])
        self.scale = np.array([111_320.0 * math.cos(math.radians(lat0)), 110_574.0])

    def to_m(self, geom):
        return shapely.transform(geom, lambda c: (c - self.origin) * self.scale)

    def to_deg(self, geom):
        return shapely.transform(geom, lambda c: c / self.scale + self.origin)

    def xy_to_deg(self, xy: np.ndarray) -> np.ndarray:
        return xy / self.scale + self.origin


# --- geometry -----------------------------------------------------------------------------


def _sample_inside(geom, n: int, rng, *, around=None, sigma: float = 0.0,
                   clustered: float = 0.0) -> np.ndarray:
    """n points strictly inside geom: a share `clustered` normal around the rows of
    `around` (std `sigma`), the rest uniform. Raises if geom is too thin to hit."""
    shapely.prepare(geom)
    x0, y0, x1, y1 = geom.bounds
    found, have = [], 0
    for _ in range(60):
        m = max(4 * (n - have), 64)
        xy = rng.uniform((x0, y0), (x1, y1), size=(m, 2))
        if around is not None and clustered:
            near = around[rng.integers(len(around), size=m)] + rng.normal(0, sigma, (m, 2))
            xy = np.where((rng.random(m) < clustered)[:, None], near, xy)
        xy = xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]
        found.append(xy)
        have += len(xy)
        if have >= n:
            return np.concatenate(found)[:n]
    raise ValueError(f"could not place {n} points inside a {geom.area:.0f} m² polygon")


def _spread(geom, k: int, rng, *, around, spread: float, clustered: float,
            fixed=None) -> np.ndarray:
    """k seeds inside geom, crowding around `around`, no two closer than a spacing
    that shrinks until k fit (so no sliver cells). `fixed` is seed 0 if given."""
    scale = math.sqrt(geom.area)
    pool = _sample_inside(geom, 25 * k + 50, rng, around=np.atleast_2d(around),
                          sigma=spread * scale, clustered=clustered)
    spacing = 0.45 * math.sqrt(geom.area / k)
    while True:
        chosen = [np.asarray(fixed, dtype=float)] if fixed is not None else []
        for point in pool:
            if len(chosen) == k:
                break
            if not chosen or np.hypot(*(np.array(chosen) - point).T).min() >= spacing:
                chosen.append(point)
        if len(chosen) == k:
            return np.array(chosen)
        spacing *= 0.7


def _polygonal(geom, min_area: float = MIN_PART_M2):
    """The polygons of geom (a collection, say) larger than min_area, as one valid
    MultiPolygon; None if there are none. Lines and points left by clipping go."""
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = shapely.get_parts(shapely.get_parts(geom))  # collections nest one level at most
    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > min_area)]
    multi = shapely.multipolygons(parts) if len(parts) else None
    if multi is not None and not multi.is_valid:
        raise ValueError("clipping produced a polygon that cannot be repaired")
    return multi


def _tile(parent, seeds: np.ndarray) -> tuple[np.ndarray, list]:
    """Voronoi cells of seeds clipped to parent: (kept seed indices, cells).

    The cells tile parent. A seed whose clipped cell is empty is dropped; a
    cell's parts cut off from its seed go to the neighbour sharing most edge.
    """
    if len(seeds) == 1:
        return np.array([0]), [_polygonal(parent)]
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=parent, ordered=True)
    clipped = [_polygonal(c) for c in shapely.intersection(shapely.get_parts(cells), parent)]
    kept = np.array([i for i, c in enumerate(clipped) if c is not None])
    cells = [clipped[i] for i in kept]
    return kept, _merge_detached(cells, seeds[kept])


def _merge_detached(cells: list, seeds: np.ndarray) -> list:
    cells = list(cells)
    for i, seed in enumerate(seeds):
        parts = shapely.get_parts(cells[i])
        home = shapely.intersects(parts, shapely.points(seed))
        if len(parts) < 2 or not home.any():
            continue
        stay = list(parts[home])
        for part in parts[~home]:
            shared = shapely.length(shapely.intersection(part, np.array(cells, dtype=object)))
            shared[i] = 0.0
            j = int(np.argmax(shared))
            if shared[j] > 0:
                cells[j] = _polygonal(shapely.union(cells[j], part))
            else:
                stay.append(part)  # an island: nobody else borders it
        cells[i] = shapely.multipolygons(stay)
    return cells


# --- sizes and names ----------------------------------------------------------------------


def _count(total: int, low: int, high: int) -> int:
    """How many children of low..high households share `total` (1 if total is small)."""
    k = max(1, round(total / ((low + high) / 2)))
    while k > 1 and total / k < low:
        k -= 1
    while total / k > high and total / (k + 1) >= low:
        k += 1
    return k


def _split(total: int, k: int, low: int, high: int, rng) -> np.ndarray:
    """k counts summing to total, jittered around the mean but kept within low..high."""
    mean = total / k
    slack = max(0.0, min(mean - low - 1, high - 1 - mean) / mean)
    weights = 1 + rng.uniform(-1, 1, k) * min(0.15, 0.45 * slack)
    share = total * weights / weights.sum()
    counts = np.floor(share).astype(int)
    counts[np.argsort(counts - share, kind="stable")[: total - counts.sum()]] += 1
    return counts


def _village_counts(townships: int, villages: tuple[int, int], households: int,
                    rng) -> np.ndarray:
    """Villages per township, drawn from villages[0]..villages[1] but capped so that
    the average village holds 15 % more than a grid's minimum: every village can
    be a full grid and the seats keep some households to grow into towns."""
    low, high = villages
    counts = rng.integers(low, high + 1, size=townships)
    cap = households // math.ceil(1.15 * settings.GRIDCARE_IMPORT["grid_households"][0])
    while counts.sum() > cap and (counts > low).any():
        counts[np.argmax(counts)] -= 1
    return counts


def _village_households(villages: list[_Unit], total: int, rng) -> np.ndarray:
    """Households per village, summing to total. Where the total allows, every
    village fills one grid (2 % over the minimum) and the staff village two
    (grid A and B); the rest goes mostly to the township seats (village 001)
    and the county town (township 001), whose first community gets the most."""
    low = math.ceil(settings.GRIDCARE_IMPORT["grid_households"][0] * 1.02)
    high = settings.GRIDCARE_IMPORT["grid_households"][1]
    n, staff = len(villages), _staff_village(villages)
    counts = np.full(n, max(0, min(low, (total - 2 * low) // max(n - 1, 1))))
    counts[staff] = max(counts[staff], min(2 * low, total - counts.sum() + counts[staff]))
    seat = np.array([v.code.endswith("001") or v.parent is villages[0].parent for v in villages])
    weights = np.where(seat, 20.0, rng.lognormal(0.0, 0.5, n))
    weights[0] = 60.0
    counts += rng.multinomial(total - counts.sum(), weights / weights.sum())
    # Too many for one grid, too few for two: the excess moves to the county town.
    awkward = (counts > high) & (counts < 2 * low)
    excess = (counts[awkward] - high).sum()
    counts[awkward] = high
    counts[0] += excess
    return counts


def _staff_village(villages: list[_Unit]) -> int:
    """The village of the demo staff: STAFF_TOWNSHIP's seat (else the first village)."""
    return next((i for i, v in enumerate(villages)
                 if v.code.endswith("001") and v.parent.name == STAFF_TOWNSHIP), 0)


def _place_name(rng, taken: set, suffix: str) -> str:
    """A village name unique in the county: 柏林沟村, 张家坝村…"""
    while True:
        if rng.random() < 0.35:
            head = _SURNAMES[rng.integers(len(_SURNAMES))] + "家"
        else:
            head = _PLACE_HEADS[rng.integers(len(_PLACE_HEADS))]
        name = head + _PLACE_TAILS[rng.integers(len(_PLACE_TAILS))] + suffix
        if name not in taken:
            taken.add(name)
            return name


def _village_names(township: str, k: int, rng, taken: set) -> list[str]:
    """The seat is a 社区; a 街道 is mostly 社区, a 镇 mostly 村."""
    if township.endswith("街道"):
        count = min(k, max(1, (k + 1) // 2), len(_COMMUNITIES))
        names = [c + "社区" for c in _COMMUNITIES[:count]]
    else:
        names = [township.removesuffix("镇") + "社区"]
    taken.update(names)
    return names + [_place_name(rng, taken, "村") for _ in range(k - len(names))]


def _person(rng) -> tuple[str, str]:
    """A made-up name and 138 phone number (no real personal data)."""
    given = "".join(_GIVEN[i] for i in rng.integers(len(_GIVEN), size=rng.integers(1, 3)))
    phone = "138" + "".join(str(d) for d in rng.integers(10, size=8))
    return _SURNAMES[rng.integers(len(_SURNAMES))] + given, phone


# --- the tree -----------------------------------------------------------------------------


def _townships(county: _Unit, k: int, rng, frame: _Frame) -> list[_Unit]:
    seat = frame.to_m(shapely.points(COUNTY_SEAT))
    fixed = shapely.get_coordinates(seat)[0] if county.geom.contains(seat) else None
    seeds = _spread(county.geom, k, rng, around=county.centre, spread=0.0, clustered=0.0,
                    fixed=fixed)
    kept, cells = _tile(county.geom, seeds)
    return [
        _Unit(f"{COUNTY_CODE}{n:03d}", TOWNSHIPS[n - 1], 2, county, cell, seeds[i],
              county.place + TOWNSHIPS[n - 1])
        for n, (i, cell) in enumerate(zip(kept, cells, strict=True), start=1)
    ]


def _villages(township: _Unit, k: int, rng, taken: set) -> list[_Unit]:
    seeds = _spread(township.geom, k, rng, around=township.centre, spread=0.3, clustered=0.5,
                    fixed=township.centre)
    kept, cells = _tile(township.geom, seeds)
    names = _village_names(township.name, len(kept), rng, taken)
    return [
        _Unit(f"{township.code}{n:03d}", name, 3, township, cell, seeds[i], township.place + name)
        for n, (i, cell, name) in enumerate(zip(kept, cells, names, strict=True), start=1)
    ]


def _children(parent: _Unit, level: int, rng) -> list[_Unit]:
    """Grids of a village (level 4) or micro-grids of a grid (level 5), sized by households."""
    key = "grid_households" if level == 4 else "micro_grid_households"
    low, high = settings.GRIDCARE_IMPORT[key]
    k = _count(parent.households, low, high)
    seeds = _spread(parent.geom, k, rng, around=parent.centre, spread=0.3, clustered=0.6)
    kept, cells = _tile(parent.geom, seeds)
    counts = _split(parent.households, len(kept), low, high, rng)
    label = "网格" if level == 4 else "微网格"
    units = []
    for n, (i, cell, count) in enumerate(zip(kept, cells, counts, strict=True), start=1):
        centre = parent.centre if level == 4 and cell.contains(shapely.points(parent.centre)) \
            else seeds[i]
        units.append(_Unit(f"{parent.code}{n:02d}", f"第{n}{label}", level, parent, cell,
                           centre, parent.place, int(count)))
    return units


def _tree(county: _Unit, frame: _Frame, rng, townships: int, villages: tuple[int, int],
          households: int) -> list[_Unit]:
    """Every unit, parents before children, each level in code order."""
    tiers = _townships(county, townships, rng, frame)
    taken: set[str] = set()
    counts = _village_counts(len(tiers), villages, households, rng)
    village_units = [v for t, k in zip(tiers, counts, strict=True)
                     for v in _villages(t, int(k), rng, taken)]
    for village, count in zip(village_units, _village_households(village_units, households, rng),
                              strict=True):
        village.households = int(count)
    grids = [g for v in village_units for g in _children(v, 4, rng)]
    micro = [m for g in grids for m in _children(g, 5, rng)]
    return [county, *tiers, *village_units, *grids, *micro]


# --- households and staff -----------------------------------------------------------------


def _household_points(micro: list[_Unit], rng) -> np.ndarray:
    """Each micro-grid's households: 1–4 hamlets, at least EDGE_M inside its edges."""
    points = []
    for unit in micro:
        inner = _polygonal(unit.geom.buffer(-EDGE_M)) or unit.geom
        hamlets = int(np.clip(1 + unit.geom.area // 1.5e6, 1, 4))
        centres = _sample_inside(inner, hamlets, rng)
        sigma = float(np.clip(0.2 * math.sqrt(unit.geom.area), 25.0, 400.0))
        points.append(_sample_inside(inner, unit.households, rng, around=centres,
                                     sigma=sigma, clustered=0.85))
    return np.concatenate(points)


def _addresses(micro: list[_Unit]) -> np.ndarray:
    """略阳县西淮坝镇某某村3组12号 (组 = micro-grid within the village), 社区: 嘉陵路3号院12号."""
    prefixes, group, village = [], 0, None
    for unit in micro:
        this = unit.parent.parent.code
        group = group + 1 if this == village else 1
        village = this
        if unit.place.endswith("社区"):
            street = _STREETS[(group - 1) % len(_STREETS)]
            prefixes.append(f"{unit.place}{street}{group}号院")
        else:
            prefixes.append(f"{unit.place}{group}组")
    sizes = np.array([u.households for u in micro])
    which = np.repeat(np.arange(len(micro)), sizes)
    number = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
    return np.strings.add(np.strings.add(np.array(prefixes)[which], number.astype(str)), "号")


def _households_frame(micro: list[_Unit], frame: _Frame, rng) -> pd.DataFrame:
    lonlat = frame.xy_to_deg(_household_points(micro, rng))
    n = len(lonlat)
    number = np.strings.zfill(np.arange(1, n + 1).astype(str), 6)
    return pd.DataFrame({
        "地址编码": np.strings.add(HOUSEHOLD_PREFIX, number),
        "地址": _addresses(micro),
        "人口数": rng.choice(np.arange(1, 7), size=n, p=_RESIDENTS_P),
        "经度": lonlat[:, 0],
        "纬度": lonlat[:, 1],
    })


def _personas(units: list[_Unit]) -> dict[str, _Unit]:
    """The units the demo staff serve: grid A and B in one village of STAFF_TOWNSHIP."""
    tiers = [u for u in units if u.level == 2]
    township = next((t for t in tiers if t.name == STAFF_TOWNSHIP), tiers[0])
    village = next(u for u in units if u.level == 3 and u.parent is township)
    grids = [u for u in units if u.level == 4 and u.parent is village]
    if len(grids) < 2:
        raise ValueError(f"{village.name} has one grid: too few households for grid A and B")
    micro = next(u for u in units if u.level == 5 and u.parent is grids[0])
    return {"county": units[0], "township": township, "village": village,
            "grid_a": grids[0], "grid_b": grids[1], "micro_grid": micro}


def _staff_frame(units: list[_Unit], rng) -> pd.DataFrame:
    served = _personas(units)
    rows = []
    for username, role, which in _STAFF:
        name, phone = _person(rng)
        rows.append((username, name, phone, role, served[which].code))
    return pd.DataFrame(rows, columns=["账号", "姓名", "电话", "角色", "负责单元编码"])


# --- files --------------------------------------------------------------------------------


@contextmanager
def _reproducible_writes():
    """Pin the GeoPackage timestamp (GDAL's OGR_CURRENT_DATE) and mute pyogrio's INFO
    log ("Created 1,380 records") and its no-CRS warning, for the block."""
    log = logging.getLogger("pyogrio")
    date, level = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE"), log.level
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FILE_DATE})
    log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "crs was not provided": GCJ-02 has none
            yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": date})
        log.setLevel(level)


def _write_units(units: list[_Unit], county_deg, frame: _Frame, path: Path) -> None:
    """One GeoPackage layer, Chinese headers, GCJ-02 degrees (no CRS declared: it has no EPSG)."""
    geoms = np.array([county_deg] + [frame.to_deg(u.geom) for u in units[1:]], dtype=object)
    # GCJ-02 -> WGS84 bends straight lines: a vertex on a parent's long edge would
    # drift off the converted chord by metres. Short edges keep that below a mm.
    geoms = shapely.segmentize(geoms, SEGMENT_DEG)
    bad = ~shapely.is_valid(geoms)
    geoms[bad] = [_polygonal(g, min_area=0.0) for g in geoms[bad]]
    table = gpd.GeoDataFrame({
        "编码": [u.code for u in units],
        "名称": [u.name for u in units],
        "层级": [u.level for u in units],
        "上级编码": [u.parent.code if u.parent else "" for u in units],
    }, geometry=list(geoms), crs=None)
    path.unlink(missing_ok=True)
    with _reproducible_writes():
        pyogrio.write_dataframe(table, path, layer="grid_units", driver="GPKG",
                                promote_to_multi=True)


def demo_county_build(*, out_dir: Path, seed: int = DEMO_SEED, townships: int = 15,
                      villages: tuple[int, int] = (9, 15), households: int = 60_000,
                      today: date | None = None) -> DemoFiles:
    """Write the demo county's files into out_dir (created if missing); return their paths.

    townships (≤ 17) counts level-2 units; each gets villages[0]..villages[1]
    villages; households is the exact number of household points; the patients'
    histories end on `today` (default: today, local time). Same arguments, same bytes.
    """
    if not 1 <= townships <= len(TOWNSHIPS):
        raise ValueError(f"townships must be 1..{len(TOWNSHIPS)}")
    out_dir, today = Path(out_dir), today or local_today()
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    county_deg = shapely.from_geojson(BOUNDARY.read_text(encoding="utf-8"))
    x0, y0, x1, y1 = county_deg.bounds
    frame = _Frame((x0 + x1) / 2, (y0 + y1) / 2)
    county_m = _polygonal(frame.to_m(county_deg))
    centre = shapely.get_coordinates(county_m.point_on_surface())[0]
    county = _Unit(COUNTY_CODE, COUNTY_NAME, 1, None, county_m, centre, COUNTY_NAME)
    units = _tree(county, frame, rng, townships, villages, households)
    files = DemoFiles(out_dir / "grid_units.gpkg", out_dir / "households.csv",
                      out_dir / "staff.csv", out_dir / "patients.csv", out_dir / "followups.csv",
                      out_dir / demo_screening.CAMPAIGN_FILE, out_dir / demo_screening.VISIT_FILE)
    _write_units(units, county_deg, frame, files.units)
    micro = [u for u in units if u.level == 5]
    homes = _households_frame(micro, frame, rng)
    homes.to_csv(files.households, index=False, float_format="%.7f", lineterminator="\n")
    _staff_frame(units, rng).to_csv(files.staff, index=False, lineterminator="\n")
    personas = _personas(units)
    demo_patients.demo_patients_write(micro=micro, households=homes, personas=personas,
                                      ledger=files.patients, followups=files.followups, seed=seed,
                                      today=today)
    demo_screening.demo_screening_write(micro=micro, households=homes, personas=personas, seed=seed,
                                        campaigns=files.campaigns, visits=files.visits, today=today)
    return files


# --- loading ------------------------------------------------------------------------------


def _checked(report: ImportReport) -> dict:
    if not report.ok:
        lines = "\n".join(f"  {p}" for p in report.errors)
        raise DemoLoadError(f"{report.summary()}\n{lines}")
    keys = dict(Counter(problem.key for problem in report.warnings))
    return {"created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "warnings": report.warning_count,
            "warning_keys": keys, "stats": report.stats}


def _activate_logins(seed: int) -> None:
    """Give the demo staff and `admin` DEMO_PASSWORD; only admin is staff/superuser.

    One hash with a salt derived from the seed (22+ characters, so Django
    never asks to rehash): the demo password is public anyway, and a re-run
    leaves the users' rows exactly as they were.
    """
    salt = f"gridcaredemo{seed:012d}"
    password = make_password(DEMO_PASSWORD, salt=salt)
    User.objects.filter(username__in=STAFF_USERNAMES).update(
        password=password, is_staff=False, is_superuser=False, is_active=True)
    User.objects.update_or_create(username=ADMIN_USERNAME, defaults={
        "password": password, "is_staff": True, "is_superuser": True, "is_active": True,
        "full_name": "系统管理员"})
    _activate_second_factors(seed)


def demo_second_factor_key(seed: int, username: str) -> str:
    """The demo's TOTP key of a user (hex, 20 bytes), derived from the seed: a re-run leaves
    the device as it was. Public like the password: `make demo-code` prints its codes."""
    return hashlib.sha1(f"gridcare-demo-otp-{seed}-{username}".encode()).hexdigest()


def _activate_second_factors(seed: int) -> None:
    """Administrators and the county office give a second factor (gridmap.security): the
    demo gives theirs an authenticator already, so `make demo-code USER=…` can stand in for
    the phone app."""
    needing = [u for u in User.objects.filter(username__in=[*STAFF_USERNAMES, ADMIN_USERNAME])
               if needs_second_factor(u)]
    for user in needing:
        TOTPDevice.objects.update_or_create(user=user, name=DEMO_DEVICE, defaults={
            "key": demo_second_factor_key(seed, user.username), "confirmed": True})


def demo_county_clear() -> None:
    """Delete the demo county: its screening campaigns (with their visits), its patients
    with their moves and transfers, households, staff users and every unit under 610727.

    Needed before loading another seed or size (the importers upsert by code
    and would find stale units overlapping new ones). The admin user stays.
    """
    demo_screening.demo_screening_clear(county=COUNTY_CODE)
    demo_moves.demo_moves_clear()
    demo_patients.demo_patients_clear()
    Household.objects.filter(code__startswith=HOUSEHOLD_PREFIX).delete()
    User.objects.filter(username__in=STAFF_USERNAMES).delete()
    units = GridUnit.objects.filter(code__startswith=COUNTY_CODE)
    # Each unit points at itself and its ancestors (PROTECT): unhook them first.
    units.update(**{f"{name}_id": None for name in LEVEL_FIELDS.values()})
    for level in (5, 4, 3, 2, 1):
        units.filter(level=level).delete()


def demo_county_load(*, out_dir: Path, seed: int = DEMO_SEED, reset: bool = False,
                     today: date | None = None, **sizes) -> dict:
    """Build the demo files, import them with the real importers, set demo logins.

    All in one transaction: any importer error rolls everything back and
    raises DemoLoadError with the errors. `sizes` go to demo_county_build;
    patients are classified as of `today` (default: today, local time); then
    some move (geodata/demo_moves.py: transfers, alerts, event reports, once); then
    the screening campaigns and visits are imported (geodata/demo_screening.py).
    Idempotent: the importers upsert by code. Returns a summary: the files,
    each import's counts and warnings, units per level, households, patients,
    moves, screening, logins.
    """
    today = today or local_today()
    files = demo_county_build(out_dir=Path(out_dir), seed=seed, today=today, **sizes)
    with transaction.atomic():
        if reset:
            demo_county_clear()
        reports = {
            "grid_units": _checked(grid_units_import(path=files.units, source_crs=SOURCE_CRS)),
            "households": _checked(households_import(path=files.households,
                                                     source_crs=SOURCE_CRS)),
            "staff": _checked(staff_import(path=files.staff)),
        }
        demo_patients.demo_patients_prune(ledger=files.patients, followups=files.followups)
        ledger = demo_moves.demo_ledger_to_import(files.patients)  # without the moved patients
        reports["patients"] = _checked(patients_import(path=ledger, as_of=today, source_crs=SOURCE_CRS))
        reports["followups"] = _checked(followups_import(path=files.followups, as_of=today))
        demo_patients.demo_patients_extras(seed=seed, today=today)
        _activate_logins(seed)
        moves = demo_moves.demo_moves_load(ledger=files.patients, seed=seed, today=today,
                                           source_crs=SOURCE_CRS, checked=_checked)
        screened, screening = demo_screening.demo_screening_load(
            campaigns=files.campaigns, visits=files.visits, county=COUNTY_CODE, today=today, checked=_checked)
    return _summary(files, reports | screened, moves, screening)


def _summary(files: DemoFiles, reports: dict, moves: dict, screening: dict) -> dict:
    units = GridUnit.objects.filter(code__startswith=COUNTY_CODE)
    per_level = dict(units.values_list("level").annotate(n=Count("id")).order_by("level"))
    county = units.get(level=1)
    second = set(TOTPDevice.objects.filter(name=DEMO_DEVICE).values_list("user__username", flat=True))
    logins = [
        {"username": a.user.username, "role": a.role, "unit_code": a.unit.code,
         "unit_name": a.unit.name, "password": DEMO_PASSWORD, "second_factor": username in second}
        for username in STAFF_USERNAMES
        for a in User.objects.get(username=username).assignments.select_related("unit", "user")
    ]
    logins.append({"username": ADMIN_USERNAME, "role": "administrator", "unit_code": "",
                   "unit_name": "/admin/", "password": DEMO_PASSWORD,
                   "second_factor": ADMIN_USERNAME in second})
    return {
        "files": {name: str(getattr(files, name)) for name in DemoFiles.__dataclass_fields__},
        "units": {LEVEL_FIELDS[level]: n for level, n in per_level.items()},
        "households": county.households,
        "population": county.population,
        "patients": demo_patients.demo_patients_summary(),
        "moves": moves,
        "screening": screening,
        "imports": reports,
        "warnings": sum(r["warnings"] for r in reports.values()),
        "users": [login["username"] for login in logins],
        "logins": logins,
    }
