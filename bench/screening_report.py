"""The screening section of bench/results.md (one per scale)."""

from datetime import datetime

from bench.db import server_versions
from bench.results import code_version, column_rows, machine, table
from bench.screening_checks import kinds_line

LEVEL_NAMES = {1: "county", 2: "township", 3: "village", 4: "grid", 5: "micro-grid"}
READ_TARGET_S = 0.3  # DESIGN.md: one township's coverage by grid
ROLLUP_TARGET_S = 1.0  # whole-province rollup (precomputed)
HEX_TARGET_S = 0.5  # hexagon heat map, one county, 250 m


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _verdict(seconds: float, target: float) -> str:
    return f"< {target:g} s: {'met' if seconds < target else 'MISSED'}"


def screening_summary(scale: str, manifest: dict, result: dict) -> list[str]:
    load, derive, reads, hexes = result["load"], result["derive"], result["reads"], result["hexagons"]
    naive, main = result["naive"]["levels"], result["main"]
    read_all = sum(best for _, best, _ in reads["levels"].values())
    naive_campaign = sum(v["campaign"] for v in naive.values())
    naive_province = sum(v["province"] for v in naive.values())
    rebuild_one = derive["coverage_rebuild, one county campaign (all levels)"]
    rebuild_all = derive["coverage_rebuild, every campaign (all levels)"]
    derive_all = derive["visits_derive, every campaign"]
    rows = [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", f"{machine()}; {server_versions()}; {code_version()}"),
        ("scale", f"{scale}: {manifest['units']:,} units, {result['households']:,} households; "
                  f"{result['campaigns']} campaigns ({main['counties']} county-wide annual_full, the rest "
                  f"township_half_yearly); **{result['visits']:,} visits**"),
        ("visits by kind (generator)", kinds_line(result["kinds"])),
        ("campaign import (denominators stored)", f"{result['campaign_import']['seconds']:.2f} s for "
                                                  f"{result['campaign_import']['created']} campaigns"),
        (f"visit load: {load['how']}", f"{load['seconds']:.1f} s for {load['created']:,} visits "
                                       f"({load['created'] / load['seconds']:,.0f}/s)"),
    ]
    rows += [(name, f"{seconds:.2f} s") for name, seconds in derive.items()]
    rows += [
        (f"read: coverage_at_level, {main['code']}, level {lv} ({LEVEL_NAMES[lv]})",
         f"{_ms(best)} ({rows_n:,} units; first call {_ms(first)})")
        for lv, (first, best, rows_n) in reads["levels"].items()]
    rows += [
        (f"read: coverage API view (GeoJSON), level {lv} ({LEVEL_NAMES[lv]})",
         f"{_ms(s)} end to end, {_ms(sql)} in {n} SQL statements")
        for lv, (s, sql, n) in reads["api"].items()]
    first, best, n = reads["township_orm"]
    rows.append((f"one township ({main['township']}) by grid: stored counts (ORM)",
                 f"{_ms(best)} ({n} grids; first {_ms(first)}); {_verdict(best, READ_TARGET_S)}"))
    s, sql, statements = reads["township_api"]
    rows.append(("one township by grid: API view (level=4&parent=…)",
                 f"{_ms(s)} end to end ({_ms(sql)} SQL, {statements} statements); "
                 f"{_verdict(s, READ_TARGET_S)}"))
    first, best, n = reads["rollup"]
    rows.append((f"province rollup: level 1 of the {main['counties']} county campaigns",
                 f"{_ms(best)} ({n} rows; first {_ms(first)}); {_verdict(best, ROLLUP_TARGET_S)}"))
    rows.append((f"hexagons (HEX_SQL), unvisited, one county, {hexes['size']} m",
                 f"{hexes['best']:.2f} s best of 3 (first {hexes['first']:.2f} s), {hexes['cells']:,} cells, "
                 f"{hexes['households']:,} households; {_verdict(hexes['best'], HEX_TARGET_S)}; "
                 f"API view {hexes['view'][0]:.2f} s"))
    rows += [
        ("naive per-unit ORM loop, one county campaign, every level (extrapolated)",
         f"{naive_campaign:,.1f} s"),
        ("**ratio naive / stored read** (one campaign, every level)",
         f"**{naive_campaign / read_all:,.0f}×** ({naive_campaign:,.1f} s vs {_ms(read_all)} "
         f"for the {len(reads['levels'])} levels)"),
        ("**ratio naive / coverage_rebuild** (one campaign, every level)",
         f"**{naive_campaign / rebuild_one:,.0f}×** (vs {rebuild_one:.2f} s)"),
        ("ratio naive / (visits_derive + coverage_rebuild), every campaign",
         f"{naive_province / (derive_all + rebuild_all):,.1f}× (naive over every unit of the "
         f"{main['counties']} county campaigns {naive_province / 60:,.1f} min vs "
         f"{derive_all + rebuild_all:.1f} s for all {result['campaigns']} campaigns)"),
    ]
    verdicts = [(k, f"ok ({d})" if ok else f"**FAILED** ({d})") for k, (ok, d) in result["checks"].items()]
    lines = table(("measure", "value"), rows)
    lines += ["", "The naive loop (for each unit: count the households of the scope under it, count the "
                  "distinct households with a visit in the window that is not 无人在家), on a sample:", "",
              *table(("level", "units sampled / under the scope", "seconds on the sample", "per unit",
                      "extrapolated: campaign", "extrapolated: every county campaign"),
                     [(f"{lv} {LEVEL_NAMES[lv]}", f"{v['sampled']:,}/{v['units']:,}", f"{v['seconds']:.2f}",
                       _ms(v["seconds"] / v["sampled"]), f"{v['campaign']:,.1f} s", f"{v['province']:,.1f} s")
                      for lv, v in naive.items()])]
    lines += ["", *table(("correctness check", "result"), verdicts)]
    runs = {"campaign import": (result["campaign_import"]["phases"], result["campaign_import"]["seconds"]),
            "visit load": (load["phases"], load["seconds"])}
    lines += ["", "Where the loads' time goes (ImportReport.timings, or the COPY load's steps):", "",
              *table(("phase", *runs), column_rows(runs, rest=True))]
    statements = {k: (v["statements"], v["seconds"]) for k, v in
                  (("campaign import", result["campaign_import"]), ("visit load", load)) if v["statements"]}
    if statements:
        lines += ["", "The same, SQL statement by statement:", "",
                  *table(("statement", *statements), column_rows(statements, rest=False))]
    return lines
