"""python -m bench [--scale county|province] [--only units|households|patients|screening|load|tiles]
                   [--followups N]

Generates the scale's data (bench/data/, cached), then in the bench database
imports the units and the households, runs the naive per-point loop on a
sample, imports the patient ledger and the follow-ups (bench.patients), runs
their naive per-row loop on a sample, the screening campaigns, visits and
coverage against a per-unit loop (bench.screening), at county scale the load test
(bench.load: the patient list and API under 20 clients, in a database of its own) and the
unit vector tiles (bench.tiles: a province of real-shaped units, in a database of its own),
checks the results and writes bench/results.md.
"""

import argparse
import os
import sys
from datetime import datetime

from bench.db import bench_tables, server_versions, truncate, use_bench_database, vacuum_analyze
from bench.generate import SCALES, generate, paths
from bench.ledger_data import generate_ledger
from bench.results import machine, phase_rows, statement_rows, table, write_section

UNIT_TARGET_S = 60
POINTS_TARGET = 150_000
RATIO_TARGET = 300


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="county")
    parser.add_argument("--only", choices=["units", "households", "patients", "screening", "load", "tiles"],
                        help="patients, screening: keep the stored units and households if they are "
                             "complete; load: the load test alone (bench.load)")
    parser.add_argument("--load-seconds", type=int, default=30,
                        help="load: how long each measured run lasts (default 30)")
    parser.add_argument("--tile-seconds", type=int, default=60,
                        help="tiles: how long each run of the 50 clients lasts (default 60)")
    parser.add_argument("--visits-load", choices=["import", "copy"],
                        help="screening: load the visits with screening_import (default at county scale) or "
                             "by COPY + INSERT (default at province scale)")
    parser.add_argument("--followups", type=int, help="follow-up rows to generate (default: the scale's)")
    parser.add_argument("--explain", metavar="REGEX",
                        help="diagnosis: EXPLAIN ANALYZE the ledger imports' statements matching REGEX "
                             "(in a rolled-back savepoint, so they run twice) and print the plans")
    return parser.parse_args()


def load_units(scale: str, manifest: dict, only: str | None) -> dict | None:
    """Benchmark the unit import unless only households are asked and the units are there."""
    from bench.units import bench_units, units_loaded

    if only == "households" and units_loaded(manifest):
        truncate([t for t in bench_tables() if t != "gridmap_gridunit"])
        return None
    if only in ("patients", "screening") and units_loaded(manifest):
        return None
    truncate()
    result = bench_units(paths(scale)["units"], manifest)
    vacuum_analyze("gridmap_gridunit")  # as autovacuum would before a later household import
    return result


def unit_lines(scale: str, result: dict) -> list[tuple]:
    s, n = result["seconds"], result["units"]
    verdict = ("met" if s < UNIT_TARGET_S else "MISSED") if scale == "county" \
        else "the acceptance is for a county file"
    return [("grid-unit import", f"{s:.1f} s for {n:,} units ({n / s:,.0f} units/s); "
                                 f"< {UNIT_TARGET_S} s for ~10k units: {verdict}")]


def household_lines(result: dict) -> list[tuple]:
    n, s = result["households"], result["seconds"]
    naive_rate = result["naive_points"] / result["naive_seconds"]
    assign = result["phases"].get("assign") or sum(
        v for k, v in result["statements"].items() if k.startswith("assign"))
    rate = n / s
    return [
        ("household import + assignment, end to end",
         f"{s:.2f} s for {n:,} points = **{rate:,.0f} pts/s** (target ≥ {POINTS_TARGET:,}: "
         f"{'met' if rate >= POINTS_TARGET else 'missed'})"),
        ("naive per-point ORM loop",
         f"{naive_rate:,.0f} pts/s ({result['naive_points']:,}-point sample in "
         f"{result['naive_seconds']:.1f} s; the whole file would take "
         f"{n / naive_rate / 60:.0f} min)"),
        ("ratio set-based / naive",
         f"**{rate / naive_rate:,.0f}×** (target ≥ {RATIO_TARGET}×: "
         f"{'met' if rate / naive_rate >= RATIO_TARGET else 'missed'})"),
        ("SQL assignment alone (point_assignment_sql on the stage)",
         f"{assign:.2f} s = {n / assign:,.0f} pts/s, {assign / s:.0%} of the import"),
        ("points in no unit (importer's count)", f"{result['outside_reported']}"),
    ]


def summary(scale: str, manifest: dict, units: dict | None, households: dict | None) -> list[str]:
    levels = "/".join(f"{v:,}" for v in manifest["units_per_level"].values())
    rows = [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", f"{machine()}; {server_versions()}"),
        ("scale", f"{scale}: {manifest['units']:,} units (levels 1–5: {levels}), "
                  f"{manifest['households']:,} households (CSV)"),
    ]
    rows += unit_lines(scale, units) if units else []
    rows += household_lines(households) if households else []
    checks = {**(units or {}).get("checks", {}), **(households or {}).get("checks", {})}
    verdicts = [(k, f"ok ({d})" if ok else f"**FAILED** ({d})") for k, (ok, d) in checks.items()]
    lines = table(("measure", "value"), rows)
    lines += ["", *table(("correctness check", "result"), verdicts)]
    for title, result in (("household import", households), ("grid-unit import", units)):
        if result:
            lines += ["", f"Where the {title}'s time goes:", "",
                      *table(("phase", "seconds", "share"),
                             phase_rows(result["phases"], result["seconds"]))]
    if households and households["statements"] != households["phases"]:
        lines += ["", "The household import's SQL and COPY, statement by statement "
                      "(part of the phases above):", "",
                  *table(("statement", "seconds", "share"),
                         statement_rows(households["statements"], households["seconds"]))]
    return lines


def load_test(source_url: str, seconds: int) -> dict:
    """The patient list and API under 20 clients (bench.load), in its own database."""
    from bench.load import bench_load, load_summary

    result = bench_load(source_url, seconds=seconds)
    print(write_section("county", load_summary(result), "load test"))
    return result


def main() -> int:
    args = parse_args()
    source_url = os.environ.get("DATABASE_URL", "")
    if args.only == "load":
        return 0 if load_test(source_url, args.load_seconds)["ok"] else 1
    if args.only == "tiles":
        from bench.tiles import bench_tiles

        return 0 if all(ok for ok, _ in bench_tiles(source_url, args.tile_seconds)["checks"].values()) else 1
    use_bench_database()
    from bench.households import bench_households
    from bench.units import units_loaded

    manifest = generate(args.scale)
    ledger_manifest = generate_ledger(args.scale, followups=args.followups)
    households = None
    reuse = args.only in ("patients", "screening")
    if reuse and units_loaded(manifest) and households_loaded(manifest):
        units = None
    else:
        units = load_units(args.scale, manifest, None if reuse else args.only)
        if args.only != "units":
            households = bench_households(paths(args.scale)["households"], manifest)
        print(write_section(args.scale, summary(args.scale, manifest, units, households)))
    ledger = None
    if args.only in (None, "patients"):
        from bench.ledger_report import ledger_summary
        from bench.patients import bench_ledger

        ledger = bench_ledger(args.scale, ledger_manifest, args.explain)
        for run in ledger["runs"].values():
            for sql, plan in run["plans"]:
                print(sql.strip(), plan, sep="\n", end="\n\n")
        if not args.explain:
            print(write_section(args.scale, ledger_summary(args.scale, ledger), "patient ledger"))
    screening = None
    if args.only in (None, "screening"):
        from bench.screening import bench_screening
        from bench.screening_report import screening_summary

        visits_load = args.visits_load or ("import" if args.scale == "county" else "copy")
        screening = bench_screening(args.scale, visits_load, args.explain)
        for sql, plan in screening["load"]["plans"]:
            print(sql.strip(), plan, sep="\n", end="\n\n")
        print(write_section(args.scale, screening_summary(args.scale, manifest, screening), "screening"))
    load = load_test(source_url, args.load_seconds) if args.only is None and args.scale == "county" else None
    if args.only is None and args.scale == "county":
        from bench.tiles import bench_tiles

        load = {"checks": {**load["checks"], **bench_tiles(source_url, args.tile_seconds)["checks"]}}
    checks = {**(units or {}).get("checks", {}), **(households or {}).get("checks", {}),
              **(ledger or {}).get("checks", {}), **(screening or {}).get("checks", {}),
              **(load or {}).get("checks", {})}
    return 0 if all(ok for ok, _ in checks.values()) else 1


def households_loaded(manifest: dict) -> bool:
    from gridmap.models import Household

    return Household.objects.count() == manifest["households"]


if __name__ == "__main__":
    sys.exit(main())
