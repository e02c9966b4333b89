"""Screening coverage (R31): the set-based derivation and stored counts against a per-unit ORM loop.

Order of a run (the grid and the households are already loaded):
 1. campaigns and visits generated (bench.screening_data) over the stored households;
 2. the campaign file imported (geodata campaigns_import: denominators stored);
 3. the visit file loaded: the real `screening_import` (read, validate, stage, write,
    derive, coverage), or with `--visits-load copy` a COPY into a stage and one
    INSERT … SELECT, when the importer's Python validation would take too long;
 4. visits_derive, suspected_cases_open and coverage_rebuild timed on their own, for
    every campaign at once and for one campaign;
 5. reads: coverage_at_level at every level, the coverage API view, one township by
    grid, the province rollup, the hexagon query;
 6. the naive per-unit loop on a sample of units of every level, extrapolated;
 7. the checks (bench.screening_checks).
"""

import time
from pathlib import Path

import numpy as np
from django.db import connection, transaction

from bench.db import truncate, vacuum_analyze
from bench.screening_checks import screening_checks
from bench.screening_data import LEVEL_COLUMNS, ScreeningData, generate_screening, write_files
from bench.timing import screening_statements, timed
from cases.screening import selectors
from cases.screening import services as coverage
from cases.screening.models import Campaign, CoverageCount, Visit
from config import importers
from gridmap.models import LEVEL_FIELDS, GridUnit, Household

SCREENING_TABLES = ["cases_suspectedcase", "cases_coveragecount", "cases_visit", "cases_campaign"]
NAIVE_SAMPLE = {1: 1, 2: 15, 3: 40, 4: 80, 5: 150}  # units per level (all of them when fewer)
READS = 3


def load_campaigns(path: Path) -> dict:
    with screening_statements() as statements:
        seconds, report = timed(importers.campaigns_import, path=path)
    if not report.ok:
        raise SystemExit("campaign import failed:\n" + "\n".join(map(str, report.errors[:20])))
    return {"seconds": seconds, "created": report.created, "phases": dict(report.timings),
            "statements": dict(statements.seconds)}


def import_visits(path: Path, explain: str | None) -> dict:
    """The real importer end to end, by phase and by SQL statement."""
    with screening_statements(explain) as statements:
        seconds, report = timed(importers.screening_import, path=path)
    if not report.ok:
        raise SystemExit("screening import failed:\n" + "\n".join(map(str, report.errors[:20])))
    return {"how": "screening_import", "seconds": seconds, "created": report.created,
            "phases": dict(report.timings), "statements": dict(statements.seconds),
            "stats": dict(report.stats), "plans": statements.plans}


COPY_INSERT = """
    INSERT INTO cases_visit (campaign_id, household_id, visited_at, worker_id, geom, result, screened)
    SELECT c.id, h.id, s.visited_at, NULL, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), s.result, false
    FROM bench_visits s
    JOIN cases_campaign c ON c.code = s.campaign_code
    JOIN gridmap_household h ON h.code = s.household_code
"""


def copy_visits(path: Path) -> dict:
    """COPY the file into a stage (its wall times read as Asia/Shanghai) and one INSERT."""
    phases = {}
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL timezone = 'Asia/Shanghai'")
        cursor.execute("CREATE TEMP TABLE bench_visits (campaign_code text, household_code text, "
                       "visited_at timestamptz, worker text, lon float8, lat float8, result text) "
                       "ON COMMIT DROP")
        with cursor.cursor.copy("COPY bench_visits FROM STDIN (FORMAT csv, HEADER)") as copy, \
                path.open("rb") as file:
            while chunk := file.read(1 << 20):
                copy.write(chunk)
        phases["stage: COPY"] = time.perf_counter() - start
        mark = time.perf_counter()
        cursor.execute(COPY_INSERT)
        created = cursor.rowcount
        phases["write: INSERT … SELECT"] = time.perf_counter() - mark
        mark = time.perf_counter()
    phases["commit"] = time.perf_counter() - mark
    return {"how": "COPY + INSERT … SELECT", "seconds": time.perf_counter() - start, "created": created,
            "phases": phases, "statements": {}, "stats": {}, "plans": []}


def derive_and_rebuild(ids: list[int], one: int, township: int) -> dict[str, float]:
    """R31–R33 on their own, for every campaign at once, then rebuilds of single campaigns."""
    out = {}
    for name, function, args in [
        ("visits_derive, every campaign", coverage.visits_derive, (ids,)),
        ("suspected_cases_open, every campaign", coverage.suspected_cases_open, (ids,)),
        ("coverage_rebuild, every campaign (all levels)", coverage.coverage_rebuild, (ids,)),
        ("coverage_rebuild, one county campaign (all levels)", coverage.coverage_rebuild, ([one],)),
        ("coverage_rebuild, one township campaign (all levels)", coverage.coverage_rebuild, ([township],)),
    ]:
        with transaction.atomic():
            out[name], _ = timed(function, *args)
    return out


def _best(function, *args, **kwargs) -> tuple[float, float, object]:
    """(first, best of READS) seconds and the result."""
    times, result = [], None
    for _ in range(READS):
        seconds, result = timed(function, *args, **kwargs)
        times.append(seconds)
    return times[0], min(times), result


class SqlClock:
    """Seconds spent in SQL (connection.execute_wrapper) while a view runs."""

    def __init__(self) -> None:
        self.seconds, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1


def call_view(view_class, user, code: str, params: dict) -> tuple[float, float, int, dict]:
    """One GET of an API view, rendered: (seconds, seconds in SQL, statements, data)."""
    from rest_framework.test import APIRequestFactory, force_authenticate

    request = APIRequestFactory().get("/", params)
    force_authenticate(request, user=user)
    clock = SqlClock()
    start = time.perf_counter()
    with connection.execute_wrapper(clock):
        response = view_class.as_view()(request, code=code)
        response.render()
    seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"{view_class.__name__} {params}: HTTP {response.status_code} {response.data}")
    return seconds, clock.seconds, clock.count, response.data


def bench_user():
    from gridmap.models import User

    user, _ = User.objects.get_or_create(username="bench_admin", defaults={"is_superuser": True,
                                                                          "is_staff": True})
    return user


def reads(campaign: Campaign, counties: list[Campaign], township: GridUnit) -> dict:
    """Reading stored coverage: every level of one campaign, the API view, one township by
    grid, the province rollup (level 1 of every county campaign)."""
    from cases.screening.api import CampaignCoverage

    user = bench_user()
    out = {"levels": {}, "api": {}}
    for level in range(campaign.scope.level, 6):
        first, best, rows = _best(selectors.coverage_at_level, campaign, level)
        out["levels"][level] = (first, best, len(rows))
        out["api"][level] = call_view(CampaignCoverage, user, campaign.code, {"level": level})[:3]
    first, best, rows = _best(lambda: [selectors.coverage_at_level(c, 1) for c in counties])
    out["rollup"] = (first, best, sum(len(r) for r in rows))
    first, best, rows = _best(lambda: list(
        CoverageCount.objects.filter(campaign=campaign, level=4, unit__township_id=township.pk)
        .select_related("unit").order_by("unit__code")))
    out["township_orm"] = (first, best, len(rows))
    out["township_api"] = call_view(CampaignCoverage, user, campaign.code,
                                    {"level": 4, "parent": township.code})[:3]
    return out


def hexagons(campaign: Campaign, size: int = 250) -> dict:
    """HEX_SQL for the unvisited households of one county campaign (scope = the county)."""
    from cases.screening.api import CampaignHexagons
    from cases.screening.selectors import hexagon_query

    sql, params = hexagon_query(campaign, kind="unvisited", size=size)

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    first, best, rows = _best(run)
    view = call_view(CampaignHexagons, bench_user(), campaign.code, {"kind": "unvisited", "size": size})
    return {"first": first, "best": best, "cells": len(rows), "households": sum(n for _, n in rows),
            "view": view[:3], "size": size}


def naive_unit(campaign: Campaign, unit: GridUnit) -> tuple[int, int]:
    """R31 for one unit the way a first draft would: two ORM counts from the raw visits."""
    scope = {f"{LEVEL_FIELDS[campaign.scope.level]}_id": campaign.scope_id}
    under = {f"{LEVEL_FIELDS[unit.level]}_id": unit.pk}
    both = {**scope, **under}  # the same column when the unit is the scope
    households = Household.objects.filter(**both).count()
    screened = (Visit.objects.filter(campaign=campaign, visited_at__date__gte=campaign.starts_on,
                                     visited_at__date__lte=campaign.ends_on,
                                     **{f"household__{k}": v for k, v in both.items()})
                .exclude(result=Visit.Result.NOBODY_HOME).values("household_id").distinct().count())
    return households, screened


def naive_loop(campaign: Campaign, seed: int = 11) -> dict:
    """The naive loop on a sample of each level's units under the scope, extrapolated to
    them all; and to every unit of the level in the county campaigns (the province)."""
    rng = np.random.default_rng(seed)
    column = f"{LEVEL_FIELDS[campaign.scope.level]}_id"
    levels, results = {}, {}
    for level in range(campaign.scope.level, 6):
        units = list(GridUnit.objects.filter(level=level, **{column: campaign.scope_id}).order_by("code"))
        sample = [units[i] for i in np.sort(rng.choice(len(units), min(NAIVE_SAMPLE[level], len(units)),
                                                       replace=False))]
        start = time.perf_counter()
        for unit in sample:
            results[unit.pk] = naive_unit(campaign, unit)
        seconds = time.perf_counter() - start
        every = GridUnit.objects.filter(level=level).count()
        levels[level] = {"sampled": len(sample), "units": len(units), "seconds": seconds,
                         "campaign": seconds / len(sample) * len(units),
                         "province": seconds / len(sample) * every}
    return {"levels": levels, "results": results}


def pick(data: ScreeningData) -> tuple[Campaign, list[Campaign], Campaign, GridUnit]:
    """The measured campaign (the first county's), all county campaigns, a township campaign
    and a township of the measured county that has its own campaign, if any."""
    campaigns = list(Campaign.objects.select_related("scope").order_by("code"))
    counties = [c for c in campaigns if c.kind == Campaign.Kind.ANNUAL_FULL]
    townships = [c for c in campaigns if c.kind == Campaign.Kind.TOWNSHIP_HALF_YEARLY]
    main = counties[0]
    township = next((c for c in townships if c.scope.county_id == main.scope_id), townships[0])
    return main, counties, township, township.scope


def bench_screening(scale: str, visits_load: str, explain: str | None = None) -> dict:
    truncate(SCREENING_TABLES)
    seconds, data = timed(generate_screening, scale)
    files = write_files(scale, data)
    out = {"generate_seconds": seconds, "visits": len(data.visits), "campaigns": len(data.campaigns),
           "households": len(data.households), "kinds": np.bincount(data.visits["kind"], minlength=5)}
    print(f"{len(data.campaigns)} campaigns, {len(data.visits):,} visits generated in {seconds:.1f} s")
    out["campaign_import"] = load_campaigns(files["campaigns"])
    out["load"] = import_visits(files["visits"], explain) if visits_load == "import" \
        else copy_visits(files["visits"])
    print(f"visits loaded ({out['load']['how']}) in {out['load']['seconds']:.1f} s")
    vacuum_analyze("cases_visit")  # as autovacuum would after a large load
    main, counties, township_campaign, township = pick(data)
    ids = list(Campaign.objects.order_by("pk").values_list("pk", flat=True))
    out["derive"] = derive_and_rebuild(ids, main.pk, township_campaign.pk)
    print("derive and rebuild:", {k: round(v, 2) for k, v in out["derive"].items()})
    vacuum_analyze("cases_coveragecount")
    out["reads"] = reads(main, counties, township)
    out["hexagons"] = hexagons(main)
    out["naive"] = naive_loop(main)
    out["main"] = {"code": main.code, "scope": main.scope.code, "township": township.code,
                   "counties": len(counties)}
    print(f"naive loop: {sum(v['seconds'] for v in out['naive']['levels'].values()):.1f} s on the sample")
    seconds, out["checks"] = timed(screening_checks, data, main, out)
    out["check_seconds"] = seconds
    return out


def level_name(level: int) -> str:
    return LEVEL_COLUMNS[level - 1].removesuffix("_id").replace("_", "-")
