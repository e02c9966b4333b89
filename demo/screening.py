"""Screening campaigns and visits for the demo county (geodata/demo.py), loaded through
the real importers: campaigns.csv (formats.md §6) with `campaigns_import`, then
screening.csv (§5, Chinese headers) with `screening_import` (R30–R33).

The campaigns, as of the demo's `today`:

- 西淮坝镇, the demo staff's township: the half-yearly special screening of the
  current half-year, whose grids show all four R31 colours (grid A green, grid B
  orange, one red and one yellow; the others drawn); the whole-area screening of
  the year; the current quarter's screening of the staff village (grids A and B)
  and of a neighbouring village; and a special screening of the staff village
  before the last Spring Festival or National Day that ended five weeks ago or more.
- Two other townships: one runs its half-yearly screening and two villages'
  quarterly ones, the other its annual screening and one village's quarterly one.
- Every other township and village lacks its campaign of the period: the R30 gaps.

The visits: working days (the official calendar) from the window's start to the
day before `today`, in the morning and afternoon rounds. A worker goes through a
grid micro-grid by micro-grid, so each grid is screened up to a share drawn in its
colour's band (or as far as CAPACITY a working day allows: in a period's first
weeks fewer colours show). Some households are visited again (after 无人在家, or to check), some
are only ever found empty; a few visits are recorded in the days before a window
opens (kept, not counted: R31). Most GPS fixes lie a few metres to about 100 m from
the household, a few several hundred metres away (not on site: R32), some visits
have none. A handful find a suspected case (R33) in the last working days, so their
diagnosis is due after `today`; the one in the special screening is overdue. Grids
A and B are visited by their grid workers, the staff village's other grids by the
village doctor, the staff township's by the health centre now and then; every other
visit has a blank worker (the demo has no users there; the importer rejects unknown
usernames).

Deterministic: the fixes are WGS84 (a phone's GPS; the households are converted
from GCJ-02 the same way the importer does) and each campaign's visits come from a
Generator seeded with (seed, 5, crc32 of its code), so the same seed and `today`
give the same bytes. Idempotent: the importers upsert by code and by (campaign,
household, time). A load on a later day writes other visits (more of each window
has passed) and `demo_screening_prune` deletes those of the file's campaigns that
the new file no longer holds, dated before `today` (visits recorded in the app on
that day stay). `demo_screening_clear` deletes every campaign under the county; the
visits, suspected cases and stored coverage go with them.
"""

import math
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from cases.screening import selectors as coverage
from cases.screening.importers import CAMPAIGN_COLUMNS, VISIT_COLUMNS
from cases.screening.models import Campaign, CoverageCount, SuspectedCase, Visit
from config.importers import campaigns_import, screening_import
from geodata import crs
from geodata.readers import read_table
from gridmap import calendar as deadlines
from gridmap.calendar import local_zone, quarter_of
from gridmap.models import GridUnit

CAMPAIGN_FILE = "campaigns.csv"
VISIT_FILE = "screening.csv"
NORMAL, SUSPECTED, NOBODY_HOME = "无异常", "发现疑似患者", "无人在家"
KIND_LABELS = {"township_half_yearly": "乡镇半年专项排查", "village_quarterly": "村季度排查",
               "annual_full": "全域排查", "special": "专项排查"}
COLOURS = ("green", "orange", "red", "yellow")
# Screened shares drawn per grid, well inside the R31 colour bands (≥ 90, 75–90, 20–75, < 20 %).
_BANDS = {"green": (0.91, 0.99), "orange": (0.77, 0.88), "red": (0.25, 0.72), "yellow": (0.02, 0.16)}
_ROUNDS = ((8 * 60 + 30, 11 * 60 + 50), (14 * 60, 17 * 60 + 50))  # working hours, minutes of the day
AWAY_FIRST = 0.06  # of screened households: found empty first, screened on a later round
REVISIT = 0.05  # of screened households: visited again to check
TRIED = 0.05  # of a grid's households: tried but only ever found empty (if not screened)
NO_FIX = 0.04  # visits without a GPS fix
FAR = 0.015  # visits whose fix is 300–1500 m away: recorded at the village office (R32)
NEAR_MAX_M = 120.0  # the farthest an on-site fix lies (R32 flags > 200 m)
CAPACITY = 30  # households a grid's workers screen in a working day, at most
EARLY_DAYS = 10  # visits before a window opens fall in the days before it
# Special screenings before the holidays: (tag, name, month/day start, end). The demo's
# is the latest that ended SPECIAL_ENDED_DAYS before `today`: its suspected case is overdue.
_SPECIALS = ((1, "春节前", (1, 12), (2, 6)), (2, "国庆前", (9, 1), (9, 26)))
SPECIAL_ENDED_DAYS = 35
_SPECIAL_CREW = ("health_staff", "police", "village_committee")  # a joint special screening


@dataclass(frozen=True)
class _Plan:
    """One campaign (a row of campaigns.csv) and how its visits are drawn."""

    code: str
    name: str
    kind: str
    scope: str  # unit code
    starts: date
    ends: date
    target: str
    mix: tuple[float, float, float, float]  # chance of green, orange, red, yellow per grid
    bands: dict[str, str] = field(default_factory=dict)  # grid code -> colour, fixed
    crew: str = ""  # "staff", "special", or "" (blank worker)
    early: int = 0  # visits in the days before the window opens
    suspected: tuple[str, ...] = ()  # grids where a visit finds a suspected case


@dataclass(frozen=True)
class _Homes:
    """The households as arrays, in household order."""

    codes: np.ndarray
    lonlat: np.ndarray  # (n, 2) WGS84: where a phone's GPS puts them
    micro: np.ndarray  # micro-grid code of each household
    grid: np.ndarray  # grid code of each household


@dataclass(frozen=True)
class _Crew:
    """Who visits: the demo users where they serve (demo.county's personas)."""

    township: str
    village: str
    grid_a: str
    grid_b: str
    micro: str

    def worker(self, crew: str, grid: str, micro: str, rng) -> str:
        if not crew:
            return ""
        if grid == self.grid_a:
            return "micro_grid_leader" if micro == self.micro and rng.random() < 0.3 else "grid_worker_a"
        if grid == self.grid_b:
            return "grid_worker_b"
        if crew == "special":
            return _SPECIAL_CREW[int(rng.integers(len(_SPECIAL_CREW)))]
        if grid.startswith(self.village):
            return "village_doctor"
        if grid.startswith(self.township) and rng.random() < 0.25:
            return "health_staff"
        return ""


# --- the campaigns ------------------------------------------------------------------------


def _half_year(day: date) -> tuple[int, date, date]:
    if day.month <= 6:
        return 1, date(day.year, 1, 1), date(day.year, 6, 30)
    return 2, date(day.year, 7, 1), date(day.year, 12, 31)


def _special(today: date) -> tuple[str, str, date, date]:
    """(code part, name part, start, end) of the latest holiday special screening that
    ended SPECIAL_ENDED_DAYS or more before today."""
    latest = today - timedelta(days=SPECIAL_ENDED_DAYS)
    for year in (today.year, today.year - 1):
        for tag, name, start, end in reversed(_SPECIALS):
            if date(year, *end) <= latest:
                return f"{year}ZX{tag}", f"{year}年{name}", date(year, *start), date(year, *end)
    raise AssertionError("unreachable: last year's specials have ended")


def _plans(micro: list, personas: dict, today: date) -> list[_Plan]:
    """The campaigns of the module docstring, the staff township's half-yearly one first."""
    villages = {u.parent.parent.code: u.parent.parent for u in micro}
    townships = {v.parent.code: v.parent for v in villages.values()}
    grids = sorted({u.parent.code for u in micro})
    town, village = personas["township"], personas["village"]
    grid_a, grid_b = personas["grid_a"].code, personas["grid_b"].code
    half, hs, he = _half_year(today)
    qs, qe = quarter_of(today)
    quarter, year = (qs.month - 1) // 3 + 1, today.year
    ys, ye = date(year, 1, 1), date(year, 12, 31)
    rest = [g for g in grids if g.startswith(town.code) and g not in (grid_a, grid_b)]
    fixed = {grid_a: "green", grid_b: "orange"} | dict(zip(rest[:1] + rest[-1:], ("red", "yellow"),
                                                          strict=False))
    neighbours = sorted(c for c in villages if c.startswith(town.code) and c != village.code)
    tag, label, ss, se = _special(today)

    def half_yearly(unit, **kw) -> _Plan:
        return _Plan(f"PC{year}H{half}-{unit.code}", f"{year}年{'上下'[half - 1]}半年{unit.name}严重精神障碍"
                     "专项排查", "township_half_yearly", unit.code, hs, he, "0.9", **kw)

    def quarterly(unit, **kw) -> _Plan:
        return _Plan(f"PC{year}Q{quarter}-{unit.code}", f"{year}年第{quarter}季度{unit.name}排查",
                     "village_quarterly", unit.code, qs, qe, "0.9", **kw)

    def annual(unit, **kw) -> _Plan:
        return _Plan(f"PC{year}QY-{unit.code}", f"{year}年{unit.name}全域排查（逐村逐户逐人）",
                     "annual_full", unit.code, ys, ye, "1", **kw)

    plans = [
        half_yearly(town, mix=(0.3, 0.3, 0.25, 0.15), bands=fixed, crew="staff", early=8,
                    suspected=(grid_a, grid_b, *rest[:1])),
        annual(town, mix=(0.15, 0.3, 0.45, 0.1), crew="staff"),
        quarterly(village, mix=(0.35, 0.45, 0.2, 0.0), crew="staff", early=4),
        *[quarterly(villages[c], mix=(0.0, 0.3, 0.7, 0.0), crew="staff") for c in neighbours[:1]],
        _Plan(f"PC{tag}-{village.code}", f"{label}{village.name}专项排查", "special", village.code, ss, se,
              "0.95", mix=(0.85, 0.15, 0.0, 0.0), crew="special", suspected=(grid_a,)),
    ]
    others = sorted((t for t in townships.values() if t is not town),
                    key=lambda t: (t.name.endswith("街道"), t.code))
    for n, other in enumerate(others[:2]):
        own = sorted(c for c in villages if c.startswith(other.code))
        if n == 0:
            first = next(g for g in grids if g.startswith(other.code))
            plans.append(half_yearly(other, mix=(0.2, 0.25, 0.4, 0.15), suspected=(first,)))
            plans += [quarterly(villages[c], mix=(0.0, 0.3, 0.5, 0.2)) for c in own[:2]]
        else:
            plans.append(annual(other, mix=(0.05, 0.15, 0.5, 0.3)))
            plans += [quarterly(villages[c], mix=(0.5, 0.5, 0.0, 0.0)) for c in own[:1]]
    return plans


# --- the visits ---------------------------------------------------------------------------


def _working_days(first: date, last: date) -> list[date]:
    """Working days in first..last by the official calendar (no administrator overrides:
    the files do not depend on the database)."""
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if deadlines.is_working_day(d)[0]]


class _Visits:
    """Draws one campaign's visits as rows of screening.csv."""

    def __init__(self, plan: _Plan, homes: _Homes, crew: _Crew, seed: int, today: date):
        self.plan, self.homes, self.crew = plan, homes, crew
        self.rng = np.random.default_rng([seed, 5, zlib.crc32(plan.code.encode())])
        self.days = _working_days(plan.starts, min(plan.ends, today - timedelta(days=1)))
        self.current = plan.ends >= today
        self.rows: list[tuple] = []

    def draw(self) -> list[tuple]:
        if not self.days:
            return []  # the window opens today or later: nobody has been yet
        plan, homes, rng = self.plan, self.homes, self.rng
        scope = np.flatnonzero(np.strings.startswith(homes.micro, plan.scope))
        for grid in sorted(set(homes.grid[scope])):
            colour = plan.bands.get(grid) or COLOURS[int(rng.choice(4, p=plan.mix))]
            suspect = plan.suspected.index(grid) if grid in plan.suspected else None
            self._grid(scope[homes.grid[scope] == grid], colour, suspect)
        before = _working_days(plan.starts - timedelta(days=EARLY_DAYS), plan.starts - timedelta(days=1))
        early = rng.choice(scope, size=min(plan.early, len(scope)), replace=False) if before else []
        for i in early:  # recorded before the window opens: kept, not counted (R31)
            self._visit(i, before[int(rng.integers(len(before)))], NORMAL)
        return self.rows

    def _grid(self, households: np.ndarray, colour: str, suspect: int | None) -> None:
        """Screen a share in the colour's band along the route; try some of the rest."""
        rng, days = self.rng, self.days
        route = self._route(households)
        share = rng.uniform(*_BANDS[colour])
        k = max(1, min(round(share * len(households)), CAPACITY * len(days)))
        when = np.sort(rng.integers(0, len(days), size=k))
        chosen = int(rng.integers(k)) if suspect is not None else -1
        for n, (i, d) in enumerate(zip(route[:k], when, strict=True)):
            if n == chosen:  # R33: recent in a running campaign (due after today)
                day = days[max(0, len(days) - 1 - suspect)] if self.current else days[d]
                self._visit(i, day, SUSPECTED)
                continue
            if d > 0 and rng.random() < AWAY_FIRST:
                self._visit(i, days[int(rng.integers(d))], NOBODY_HOME)
            self._visit(i, days[d], NORMAL)
            if d < len(days) - 1 and rng.random() < REVISIT:
                self._visit(i, days[int(rng.integers(d + 1, len(days)))], NORMAL)
        for i in route[k:k + round(TRIED * len(households))]:
            tries = 2 if len(days) > 1 and rng.random() < 0.25 else 1
            for d in sorted(rng.choice(len(days), size=tries, replace=False)):
                self._visit(i, days[d], NOBODY_HOME)

    def _route(self, households: np.ndarray) -> np.ndarray:
        """The order a worker goes in: micro-grid by micro-grid, households shuffled within."""
        micro = self.homes.micro[households]
        names = np.unique(micro)
        rank = dict(zip(names, self.rng.permutation(len(names)), strict=True))
        key = np.array([rank[m] for m in micro]) + self.rng.random(len(households))
        return households[np.argsort(key, kind="stable")]

    def _visit(self, i: int, day: date, result: str) -> None:
        rng, homes = self.rng, self.homes
        start, end = _ROUNDS[int(rng.integers(len(_ROUNDS)))]
        minute = int(rng.integers(start, end + 1))
        worker = self.crew.worker(self.plan.crew, str(homes.grid[i]), str(homes.micro[i]), rng)
        self.rows.append((self.plan.code, str(homes.codes[i]),
                          f"{day:%Y-%m-%d} {minute // 60:02d}:{minute % 60:02d}", worker,
                          *self._fix(i), result))

    def _fix(self, i: int) -> tuple[str, str]:
        """A GPS fix near the household, or far away (R32), or none."""
        rng = self.rng
        u = rng.random()
        if u < NO_FIX:
            return "", ""
        if u < NO_FIX + FAR:
            metres = rng.uniform(300.0, 1500.0)
        else:
            metres = min(NEAR_MAX_M, 2.0 + rng.lognormal(math.log(15.0), 0.8))
        angle = rng.uniform(0.0, 2 * math.pi)
        lon, lat = self.homes.lonlat[i]
        lon += metres * math.cos(angle) / (111_320.0 * math.cos(math.radians(lat)))
        lat += metres * math.sin(angle) / 110_574.0
        return f"{lon:.7f}", f"{lat:.7f}"


def _homes(micro: list, households: pd.DataFrame) -> _Homes:
    which = np.repeat(np.arange(len(micro)), [u.households for u in micro])
    lon, lat = crs.gcj02_to_wgs84(households["经度"].to_numpy(float), households["纬度"].to_numpy(float))
    return _Homes(codes=households["地址编码"].to_numpy(), lonlat=np.column_stack([lon, lat]),
                  micro=np.array([u.code for u in micro])[which],
                  grid=np.array([u.parent.code for u in micro])[which])


def demo_screening_write(*, micro: list, households: pd.DataFrame, personas: dict, campaigns: Path,
                         visits: Path, seed: int, today: date) -> int:
    """Write campaigns.csv (§6) and screening.csv (§5) for demo.county's micro-grids (in
    household order), its household table (§2 columns, GCJ-02) and persona units.
    Returns the number of visits written."""
    plans = _plans(micro, personas, today)
    homes = _homes(micro, households)
    crew = _Crew(personas["township"].code, personas["village"].code, personas["grid_a"].code,
                 personas["grid_b"].code, personas["micro_grid"].code)
    pd.DataFrame(
        [(p.code, p.name, KIND_LABELS[p.kind], p.scope, p.starts.isoformat(), p.ends.isoformat(), p.target)
         for p in plans],
        columns=[CAMPAIGN_COLUMNS[c] for c in ("code", "name", "kind", "scope_code", "starts_on", "ends_on",
                                               "target")],
    ).to_csv(campaigns, index=False, lineterminator="\n")
    rows = sorted(row for plan in plans for row in _Visits(plan, homes, crew, seed, today).draw())
    keys = Counter(row[:3] for row in rows)
    if keys and keys.most_common(1)[0][1] > 1:
        raise AssertionError(f"the same visit twice: {keys.most_common(1)[0][0]}")
    columns = [VISIT_COLUMNS[c] for c in ("campaign_code", "household_code", "visited_at", "worker", "lon",
                                          "lat", "result")]
    pd.DataFrame(rows, columns=columns).to_csv(visits, index=False, lineterminator="\n")
    return len(rows)


# --- loading, reading and clearing --------------------------------------------------------


def demo_screening_load(*, campaigns: Path, visits: Path, county: str, today: date,
                        checked) -> tuple[dict, dict]:
    """Prune stale visits, then import the campaigns and the visits with the real
    importers. `checked` turns an ImportReport into a summary or raises
    (demo.county._checked). Returns (the two import summaries, demo_screening_summary with
    the visits pruned and the suspected cases opened by this load)."""
    pruned = demo_screening_prune(campaigns=campaigns, visits=visits, today=today)
    reports = {"campaigns": checked(campaigns_import(path=campaigns)),
               "screening": checked(screening_import(path=visits))}
    featured = read_table(campaigns)[CAMPAIGN_COLUMNS["code"]].iloc[0]
    opened = reports["screening"]["stats"].get("suspected_cases_opened", 0)
    return reports, {**demo_screening_summary(county=county, today=today, featured=featured),
                     "pruned": pruned, "opened": opened}


def demo_screening_prune(*, campaigns: Path, visits: Path, today: date) -> int:
    """Delete visits of the file's campaigns, dated before `today`, that the new visits
    file does not hold (written on another day); their suspected cases go with them.
    Returns the number of visits deleted."""
    codes = set(read_table(campaigns)[CAMPAIGN_COLUMNS["code"]])
    frame = read_table(visits)
    keep = set(zip(*(frame[VISIT_COLUMNS[c]] for c in ("campaign_code", "household_code", "visited_at")),
                   strict=True))
    start = datetime.combine(today, time.min, tzinfo=local_zone())
    stale = [pk for pk, code, household, at in Visit.objects.filter(
        campaign__code__in=codes, visited_at__lt=start,
    ).values_list("id", "campaign__code", "household__code", "visited_at")
        if (code, household, f"{at.astimezone(local_zone()):%Y-%m-%d %H:%M}") not in keep]
    return Visit.objects.filter(pk__in=stale).delete()[1].get(Visit._meta.label, 0)


def demo_screening_summary(*, county: str, today: date, featured: str) -> dict:
    """The demo's campaigns (every one under the county) by kind; their visits: counted
    (R31), outside the window, nobody home, not on site (R32); suspected cases and the
    open ones overdue on `today` (R33); the R31 coverage of campaign `featured` over its
    scope; and the R30 cadence gaps under the county on `today`."""
    campaigns = Campaign.objects.filter(scope__code__startswith=county)
    kinds = Counter(campaigns.values_list("kind", flat=True))
    outside = Q(day__lt=F("campaign__starts_on")) | Q(day__gt=F("campaign__ends_on"))
    visits = Visit.objects.filter(campaign__in=campaigns).annotate(
        day=TruncDate("visited_at", tzinfo=local_zone())).aggregate(
        total=Count("id"), counted=Count("id", filter=Q(screened=True)),
        outside_window=Count("id", filter=outside), nobody_home=Count("id", filter=Q(result=NOBODY_HOME)),
        not_on_site=Count("id", filter=Q(on_site=False)))
    cases = SuspectedCase.objects.filter(visit__campaign__in=campaigns)
    overdue = cases.filter(status=SuspectedCase.Status.REFERRED,
                           diagnose_by__lt=datetime.combine(today, time.min, tzinfo=local_zone()))
    campaign = campaigns.select_related("scope").filter(code=featured).first()
    row = campaign and CoverageCount.objects.filter(campaign=campaign, unit_id=campaign.scope_id).first()
    share = coverage.Coverage(campaign.scope, row.households, row.screened).share if row else None
    return {
        "campaigns": sum(kinds.values()),
        "kinds": {kind: kinds[kind] for kind in Campaign.Kind.values if kinds[kind]},
        "visits": visits,
        "suspected": cases.count(),
        "overdue": overdue.count(),
        "featured": {"code": featured, "name": campaign.name if campaign else "",
                     "unit": campaign.scope.name if campaign else "", "share": share},
        "cadence_gaps": len(coverage.cadence_gaps(as_of=today, units=[GridUnit.objects.get(code=county)])),
    }


def demo_screening_clear(*, county: str) -> None:
    """Delete every campaign under the county; visits, suspected cases and stored coverage
    cascade. Runs before the units go (a campaign's scope is protected)."""
    Campaign.objects.filter(scope__code__startswith=county).delete()
