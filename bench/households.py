"""Household import + assignment: the set-based importer against the naive loop."""

from pathlib import Path

import numpy as np
import pandas as pd
from django.contrib.gis.geos import Point
from django.db import connection

from bench.timing import HOUSEHOLD_PHASES, phases, timed
from config import importers
from gridmap.models import LEVEL_FIELDS, GridUnit, Household

NAIVE_SAMPLE = 2_000


def read_points(path: Path) -> pd.DataFrame:
    """The file as code, address, residents, lon, lat (independently of the importer)."""
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"code": str, "address": str})
    return _gpkg_rows(path)


def sample_rows(frame: pd.DataFrame, manifest: dict, size: int = NAIVE_SAMPLE, seed: int = 7):
    """Random rows of the file, plus 100 edge/corner points and the outside ones."""
    special = manifest["edge"][:50] + manifest["corner"][:50] + manifest["outside"]
    rest = frame[~frame["code"].isin(special)]
    rng = np.random.default_rng(seed)
    picked = rest.iloc[rng.choice(len(rest), size - len(special), replace=False)]
    return pd.concat([picked, frame[frame["code"].isin(special)]], ignore_index=True)


def _gpkg_rows(path: Path) -> pd.DataFrame:
    import pyogrio

    frame = pyogrio.read_dataframe(path)
    return pd.DataFrame({
        "code": frame["code"], "address": frame["address"], "residents": frame["residents"],
        "lon": frame.geometry.x, "lat": frame.geometry.y,
    })


def naive_loop(sample: pd.DataFrame) -> tuple[float, dict[str, int | None]]:
    """One covering query and one INSERT per point (autocommit), as a first draft would."""

    def run() -> None:
        for row in sample.itertuples(index=False):
            point = Point(float(row.lon), float(row.lat), srid=4326)
            unit = GridUnit.objects.filter(level=5, geom__covers=point).order_by("code").first()
            ancestors = {f"{f}_id": getattr(unit, f"{f}_id") for f in LEVEL_FIELDS.values()} \
                if unit else {}
            Household.objects.create(code=row.code, address=row.address,
                                     residents=int(row.residents), geom=point, **ancestors)

    seconds, _ = timed(run)
    placed = dict(Household.objects.filter(code__in=list(sample["code"]))
                  .values_list("code", "micro_grid_id"))
    Household.objects.filter(code__in=list(sample["code"])).delete()
    return seconds, placed


def set_based_import(path: Path) -> tuple[float, object, dict[str, float]]:
    """The importer end to end; its own phase timings plus a split by SQL statement."""
    with phases(HOUSEHOLD_PHASES) as timer:
        seconds, report = timed(importers.households_import, path=path)
    if not report.ok:
        raise SystemExit("household import failed:\n" + "\n".join(map(str, report.errors[:20])))
    return seconds, report, dict(timer.seconds)


def bench_households(path: Path, manifest: dict) -> dict:
    frame = read_points(path)
    sample = sample_rows(frame, manifest)
    naive_seconds, naive_placed = naive_loop(sample)
    seconds, report, statements = set_based_import(path)
    on_edges = frame[frame["code"].isin(manifest["edge"] + manifest["corner"])]
    check_seconds, checks = timed(household_checks, manifest, naive_placed, on_edges, sample)
    return {
        "households": report.read,
        "seconds": seconds,
        "phases": dict(getattr(report, "timings", {}) or statements),
        "statements": statements,
        "naive_points": len(sample),
        "naive_seconds": naive_seconds,
        "outside_reported": report.stats.get("outside"),
        "checks": checks,
        "check_seconds": check_seconds,
    }


def _fetch(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _share(good: int, total: int) -> tuple[bool, str]:
    return good == total, f"{good:,}/{total:,}"


def household_checks(manifest: dict, naive_placed: dict, on_edges: pd.DataFrame,
                     sample: pd.DataFrame) -> dict[str, tuple[bool, str]]:
    """Each check: (passed, detail)."""
    stored = dict(Household.objects.filter(code__in=list(naive_placed))
                  .values_list("code", "micro_grid_id"))
    unplaced = set(Household.objects.filter(micro_grid__isnull=True).values_list("code", flat=True))
    edge = edge_results(on_edges)
    corners = set(manifest["corner"])
    points = pd.concat([sample, on_edges]).drop_duplicates("code")
    return {
        "every row stored": _share(Household.objects.count(), manifest["households"]),
        "no covered household left without a micro-grid": _share(
            manifest["households"] - _fetch(MISSED_SQL)[0][0], manifest["households"]),
        "every household's micro-grid covers it, ancestors agree": _share(
            manifest["households"] - _fetch(WRONG_SQL)[0][0], manifest["households"]),
        "unplaced = exactly the generated outside points": (
            unplaced == set(manifest["outside"]),
            f"{len(unplaced)} unplaced, {len(manifest['outside'])} generated"),
        "stored coordinates = the file's, bit for bit (sample + edge points)": _share(
            len(points) - _fetch(MOVED_SQL, _arrays(points))[0][0], len(points)),
        "edge points (file coordinates) lie on ≥ 2 micro-grids, corners on 4": _share(
            sum(n == 4 if code in corners else n >= 2 for code, (_, _, n) in edge.items()),
            len(on_edges)),
        "edge and corner points got the lowest code covering them (R0)": _share(
            sum(got == lowest for got, lowest, _ in edge.values()), len(on_edges)),
        "naive loop and set-based import agree on the sample": _share(
            sum(stored.get(code, -1) == unit for code, unit in naive_placed.items()),
            len(naive_placed)),
    }


def _arrays(points: pd.DataFrame) -> list[list]:
    return [points["code"].tolist(), points["lon"].tolist(), points["lat"].tolist()]


FILE_POINTS = "unnest(%s::text[], %s::float8[], %s::float8[]) f(code, lon, lat)"
MOVED_SQL = f"""
    SELECT count(*) FROM {FILE_POINTS} JOIN gridmap_household h ON h.code = f.code
    WHERE ST_X(h.geom) <> f.lon OR ST_Y(h.geom) <> f.lat
"""
MISSED_SQL = """
    SELECT count(*) FROM gridmap_household h WHERE h.micro_grid_id IS NULL
      AND EXISTS (SELECT 1 FROM gridmap_gridunit u WHERE u.level = 5 AND ST_Covers(u.geom, h.geom))
"""
WRONG_SQL = """
    SELECT count(*) FROM gridmap_household h JOIN gridmap_gridunit u ON u.id = h.micro_grid_id
    WHERE u.level <> 5 OR NOT ST_Covers(u.geom, h.geom)
       OR ROW(h.county_id, h.township_id, h.village_id, h.grid_id)
          IS DISTINCT FROM ROW(u.county_id, u.township_id, u.village_id, u.grid_id)
"""
EDGE_SQL = f"""
    SELECT f.code, m.code, c.lowest, c.n FROM {FILE_POINTS}
    JOIN gridmap_household h ON h.code = f.code
    LEFT JOIN gridmap_gridunit m ON m.id = h.micro_grid_id
    CROSS JOIN LATERAL (
        SELECT min(u.code) AS lowest, count(*) AS n FROM gridmap_gridunit u
        WHERE u.level = 5 AND ST_Covers(u.geom, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326))
    ) c
"""


def edge_results(points: pd.DataFrame) -> dict[str, tuple]:
    """code -> (micro-grid it got, lowest code covering its file point, number covering)."""
    return {code: (got, lowest, n) for code, got, lowest, n in _fetch(EDGE_SQL, _arrays(points))}
