"""Deterministic screening data over the loaded grid and households (formats.md §5, §6).

Campaigns (2024):
 * one annual_full campaign per county (scope = the level-1 unit, window the whole
   year): the generated grid has no province unit, and a campaign has one scope,
   so "the province-wide campaign" is the 12 county campaigns of the same window,
   and the province rollup is their 12 level-1 rows;
 * township_half_yearly campaigns on some townships (window March–August).

Visits are drawn per campaign from the stored households (their ids and ancestor
columns, as the household import placed them), so the generator knows which
(campaign, household) pairs R31 must count: a household of the scope drawn as
screened gets one counted visit in the window plus repeats; the others only get
decoys that must not count (无人在家 in the window, visits outside the window, a
few seconds either side of it too). Every campaign also visits ~1 % of
households outside its scope (not the unplaced households: visits_derive fails on them).
85 % of visits have a GPS fix: 95 % of them 0–40 m from the household, 5 %
300–3,000 m (R32: on site within 200 m).
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection

from bench.generate import DATA_DIR

SEED = 20240901
YEAR = (date(2024, 1, 1), date(2024, 12, 31))
HALF = (date(2024, 3, 1), date(2024, 8, 31))
TOWNSHIP_CAMPAIGNS = {"county": 3, "province": 24}
EXTRA_RATE = 1.3  # repeat / decoy visits per screened household (Poisson)
DECOY_RATE = 1.5  # decoy visits per household not screened
FOREIGN_SHARE = 0.01
FIX_SHARE, FAR_SHARE, SUSPECTED_SHARE = 0.85, 0.05, 0.001
VISIT_HEADERS = ["排查活动编码", "地址编码", "排查时间", "排查人", "经度", "纬度", "结果"]
CAMPAIGN_HEADERS = ["活动编码", "名称", "类型", "范围编码", "开始日期", "结束日期", "目标覆盖率"]
LEVEL_COLUMNS = ["county_id", "township_id", "village_id", "grid_id", "micro_grid_id"]
# Kinds of visit; only COUNTED and REPEAT screen the household (R31).
COUNTED, REPEAT, NOBODY, LATE, FOREIGN = range(5)
KIND_NAMES = ["counted", "repeat (counts once)", "无人在家 in the window", "outside the window",
              "household outside the scope"]


@dataclass
class ScreeningData:
    campaigns: pd.DataFrame  # code, name, kind, scope_id, scope_code, scope_level, starts_on, ends_on
    visits: pd.DataFrame  # campaign (row of campaigns), household (row of households), kind, at, ...
    households: pd.DataFrame  # id, code, lon, lat, the five ancestor columns (0 for none)
    screened: dict[str, np.ndarray]  # campaign code -> household ids R31 must count


def load_households() -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT id, code, ST_X(geom), ST_Y(geom), {', '.join(f'coalesce({c}, 0)' for c in LEVEL_COLUMNS)}
            FROM gridmap_household ORDER BY id
        """)
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["id", "code", "lon", "lat", *LEVEL_COLUMNS])


def campaign_frame(scale: str, rng: np.random.Generator) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, code, level FROM gridmap_gridunit WHERE level IN (1, 2) ORDER BY code")
        units = pd.DataFrame(cursor.fetchall(), columns=["id", "code", "level"])
    counties, townships = units[units.level == 1], units[units.level == 2]
    picked = townships.iloc[np.sort(rng.choice(len(townships), TOWNSHIP_CAMPAIGNS[scale], replace=False))]
    rows = [(f"PC{u.code}-2024", f"{u.code}县2024年全域排查", "annual_full", u.id, u.code, 1, *YEAR)
            for u in counties.itertuples()]
    rows += [(f"TS{u.code}-2024H1", f"{u.code}镇2024上半年专项排查", "township_half_yearly", u.id, u.code, 2,
              *HALF) for u in picked.itertuples()]
    return pd.DataFrame(rows, columns=["code", "name", "kind", "scope_id", "scope_code", "scope_level",
                                       "starts_on", "ends_on"])


def _seconds(day: date) -> int:
    return int(np.datetime64(day, "s").astype(np.int64))


def _campaign_visits(rng, c: int, campaign, households: pd.DataFrame) -> tuple[list, np.ndarray]:
    """Visit parts (household row, kind, local time as epoch seconds) and the screened ids."""
    column = LEVEL_COLUMNS[campaign.scope_level - 1]
    inside = np.flatnonzero(households[column].to_numpy() == campaign.scope_id)
    villages = households["village_id"].to_numpy()[inside]
    _, which = np.unique(villages, return_inverse=True)
    base = rng.uniform(0.6, 0.97)
    share = np.clip(rng.normal(base, 0.15, which.max() + 1), 0.02, 1.0)  # villages differ in colour
    screened = rng.random(len(inside)) < share[which]
    start, end = _seconds(campaign.starts_on), _seconds(campaign.ends_on) + 86_400  # local, end exclusive
    extras = np.where(screened, rng.poisson(EXTRA_RATE, len(inside)), rng.poisson(DECOY_RATE, len(inside)))
    extra_rows = np.repeat(inside, extras)
    extra_screened = np.repeat(screened, extras)
    draw = rng.random(len(extra_rows))
    # extras of a screened household: 60 % repeats, 25 % nobody home, 15 % outside the window;
    # of the others: 60 % nobody home, 40 % outside the window.
    extra_kind = np.where(extra_screened, np.select([draw < 0.6, draw < 0.85], [REPEAT, NOBODY], LATE),
                          np.where(draw < 0.6, NOBODY, LATE))
    # Not the unplaced households (no county): visits_derive's scope test is NULL for them and
    # the UPDATE fails on screened NOT NULL (a bug in cases/screening/services.py, see results.md).
    outsiders = np.flatnonzero((households[column].to_numpy() != campaign.scope_id)
                               & (households["county_id"].to_numpy() != 0))
    foreign = rng.choice(outsiders, min(len(outsiders), max(1, int(len(inside) * FOREIGN_SHARE))),
                         replace=False)
    rows = np.concatenate([inside[screened], extra_rows, foreign])
    kinds = np.concatenate([np.full(screened.sum(), COUNTED), extra_kind, np.full(len(foreign), FOREIGN)])
    at = rng.integers(start, end, len(rows))
    late = kinds == LATE
    edge = rng.random(len(rows)) < 0.1  # a tenth of them seconds outside the window's edges
    before = rng.random(len(rows)) < 0.5
    away = np.where(edge, rng.integers(1, 60, len(rows)), rng.integers(60, 30 * 86_400, len(rows)))
    at = np.where(late, np.where(before, start - away, end - 1 + away), at)
    near_end = (kinds == COUNTED) & (rng.random(len(rows)) < 0.002)  # counted in the window's last minute
    at = np.where(near_end, end - rng.integers(1, 60, len(rows)), at)
    ids = households["id"].to_numpy()[inside[screened]]
    return [np.full(len(rows), c), rows, kinds, at], ids


def generate_screening(scale: str, households: pd.DataFrame | None = None) -> ScreeningData:
    rng = np.random.default_rng(SEED)
    households = load_households() if households is None else households
    campaigns = campaign_frame(scale, rng)
    parts, screened = [], {}
    for c, campaign in enumerate(campaigns.itertuples()):
        part, ids = _campaign_visits(rng, c, campaign, households)
        parts.append(part)
        screened[campaign.code] = ids
    campaign_row, household_row, kind, at = (np.concatenate(p) for p in zip(*parts, strict=True))
    # (campaign, household, time) is a visit's key: keep the first, counted visits come first
    key = pd.DataFrame({"c": campaign_row, "h": household_row, "t": at})
    keep = np.flatnonzero(~key.duplicated().to_numpy())
    order = keep[rng.permutation(len(keep))]
    visits = pd.DataFrame({"campaign": campaign_row[order], "household": household_row[order],
                           "kind": kind[order], "at": at[order]})
    n = len(visits)
    visits["fix"] = rng.random(n) < FIX_SHARE
    visits["far"] = visits["fix"] & (rng.random(n) < FAR_SHARE)
    metres = np.where(visits["far"], rng.uniform(300, 3_000, n), rng.uniform(0, 40, n))
    bearing = rng.uniform(0, 2 * np.pi, n)
    lat = households["lat"].to_numpy()[visits["household"]]
    lon = households["lon"].to_numpy()[visits["household"]]
    visits["lat"] = np.where(visits["fix"], lat + metres * np.cos(bearing) / 111_320, np.nan)
    visits["lon"] = np.where(visits["fix"], lon + metres * np.sin(bearing) /
                             (111_320 * np.cos(np.radians(lat))), np.nan)
    suspected = rng.random(n) < SUSPECTED_SHARE
    visits["result"] = np.where(visits["kind"] == NOBODY, "无人在家",
                                np.where(suspected, "发现疑似患者", "无异常"))
    return ScreeningData(campaigns, visits, households, screened)


def data_paths(scale: str) -> dict[str, Path]:
    return {"campaigns": DATA_DIR / f"{scale}_campaigns.csv", "visits": DATA_DIR / f"{scale}_visits.csv"}


def write_files(scale: str, data: ScreeningData) -> dict[str, Path]:
    """The campaign and visit files as a county office would send them (local wall times)."""
    files = data_paths(scale)
    c = data.campaigns
    pd.DataFrame({"活动编码": c.code, "名称": c.name, "类型": c.kind, "范围编码": c.scope_code,
                  "开始日期": c.starts_on, "结束日期": c.ends_on, "目标覆盖率": ""}).to_csv(
        files["campaigns"], index=False)
    v = data.visits
    stamps = pd.Series(np.datetime_as_string(v["at"].to_numpy().astype("datetime64[s]"), unit="s"))
    pd.DataFrame({
        "排查活动编码": c.code.to_numpy()[v["campaign"]],
        "地址编码": data.households["code"].to_numpy()[v["household"]],
        "排查时间": stamps.str.replace("T", " ", regex=False),
        "排查人": "",
        "经度": v["lon"], "纬度": v["lat"], "结果": v["result"],
    }).to_csv(files["visits"], index=False, float_format="%.7f")
    return files
