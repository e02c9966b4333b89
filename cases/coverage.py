"""Screening coverage (R31), on-site checks (R32), suspected cases (R33) and campaign
cadence (R30), set-based.

After every visit import `visits_derive` marks, in one UPDATE, which visits count
and which were on site, `suspected_cases_open` opens a case per suspected visit,
and `coverage_rebuild` stores per unit, at every level under the campaign's scope,
how many households there are and how many were screened: a leader's map then
reads one indexed row per unit.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from cases import deadlines, rules
from cases.models import Campaign, CoverageCount
from gridmap.models import LEVEL_FIELDS, GridUnit


def visits_derive(campaign_ids: list[int], *, visit_ids: list[int] | None = None) -> None:
    """R31/R32 for every visit of these campaigns: screened = a household of the scope,
    inside the window (local dates, inclusive), and not 无人在家; the distance from the
    GPS fix to the household point, and on site within the configured distance.

    Why raw SQL: one UPDATE joining campaigns, scopes and households; the scope test
    is an equality on the household's ancestor column of the scope's level.
    """
    scope_tests = " OR ".join(
        f"(s.level = {level} AND h.{name}_id = s.id)" for level, name in LEVEL_FIELDS.items())
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE cases_visit v SET screened = d.screened, distance_m = d.distance_m, on_site = d.on_site
            FROM (
                SELECT v2.id,
                       v2.result <> '无人在家'
                       AND (v2.visited_at AT TIME ZONE 'Asia/Shanghai')::date
                           BETWEEN c.starts_on AND c.ends_on
                       AND coalesce(({scope_tests}), false) AS screened,  -- in no unit: false
                       CASE WHEN v2.geom IS NULL THEN NULL
                            ELSE ST_Distance(v2.geom::geography, h.geom::geography) END AS distance_m,
                       CASE WHEN v2.geom IS NULL THEN NULL
                            ELSE ST_DWithin(v2.geom::geography, h.geom::geography, %s) END AS on_site
                FROM cases_visit v2
                JOIN cases_campaign c ON c.id = v2.campaign_id
                JOIN gridmap_gridunit s ON s.id = c.scope_id
                JOIN gridmap_household h ON h.id = v2.household_id
                WHERE c.id = ANY(%s) AND (%s::bigint[] IS NULL OR v2.id = ANY(%s))
            ) d
            -- Only rows whose derivation changed are rewritten (a re-derive is cheap).
            WHERE v.id = d.id AND (v.screened, v.distance_m, v.on_site)
                  IS DISTINCT FROM (d.screened, d.distance_m, d.on_site)
        """, [settings.GRIDCARE_SCREENING["on_site_metres"], list(campaign_ids), visit_ids, visit_ids])


def suspected_cases_open(campaign_ids: list[int]) -> int:
    """R33: every visit that found a suspected case opens one, to be diagnosed within
    10 working days of the visit (a guessed calendar is flagged); a visit whose result
    is no longer 发现疑似患者 has its still-open case excluded. Returns cases opened."""
    from cases.models import SuspectedCase, Visit
    from cases.transfers import calendar_overrides

    SuspectedCase.objects.filter(
        visit__campaign_id__in=campaign_ids, status=SuspectedCase.Status.REFERRED,
    ).exclude(visit__result=Visit.Result.SUSPECTED).update(
        status=SuspectedCase.Status.EXCLUDED, closed_at=timezone.now())
    pending = list(Visit.objects.filter(campaign_id__in=campaign_ids, result=Visit.Result.SUSPECTED,
                                        suspected_case__isnull=True).values_list("pk", "household_id",
                                                                                 "visited_at"))
    if not pending:
        return 0
    overrides = calendar_overrides()
    cases = []
    for visit_id, household_id, visited_at in pending:
        due, fallback = deadlines.working_day_deadline(visited_at, 10, overrides)
        cases.append(SuspectedCase(visit_id=visit_id, household_id=household_id, found_at=visited_at,
                                   diagnose_by=due, calendar_fallback_years=sorted(fallback)))
    before = SuspectedCase.objects.filter(visit_id__in=[c.visit_id for c in cases]).count()
    SuspectedCase.objects.bulk_create(cases, ignore_conflicts=True)
    return SuspectedCase.objects.filter(visit_id__in=[c.visit_id for c in cases]).count() - before


def coverage_rebuild(campaign_ids: list[int]) -> None:
    """Store R31's numerator and denominator for every unit under each campaign's scope,
    at every level, in two statements per campaign (households by unit with GROUPING
    SETS, then units without households)."""
    levels = list(LEVEL_FIELDS.items())
    grouping = ", ".join(f"({name}_id)" for _, name in levels)
    level_of = "CASE " + " ".join(
        f"WHEN GROUPING({name}_id) = 0 THEN {level}" for level, name in levels) + " END"
    unit_expr = "CASE " + " ".join(
        f"WHEN GROUPING({name}_id) = 0 THEN {name}_id" for _, name in levels) + " END"
    with transaction.atomic(), connection.cursor() as cursor:
        for campaign in Campaign.objects.filter(pk__in=campaign_ids).select_related("scope"):
            scope_column = f"{LEVEL_FIELDS[campaign.scope.level]}_id"
            cursor.execute("DELETE FROM cases_coveragecount WHERE campaign_id = %s", [campaign.pk])
            # Identifiers come from code (LEVEL_FIELDS), values are bound.
            cursor.execute(f"""
                INSERT INTO cases_coveragecount (campaign_id, unit_id, level, households, screened)
                SELECT %s, unit_id, level, households, screened FROM (
                    SELECT {unit_expr} AS unit_id, {level_of} AS level, count(*) AS households,
                           count(*) FILTER (WHERE EXISTS (
                               SELECT 1 FROM cases_visit v WHERE v.campaign_id = %s
                                 AND v.household_id = h.id AND v.screened)) AS screened
                    FROM gridmap_household h
                    WHERE h.{scope_column} = %s
                    GROUP BY GROUPING SETS ({grouping})
                ) t
                WHERE unit_id IS NOT NULL AND level >= %s
            """, [campaign.pk, campaign.pk, campaign.scope_id, campaign.scope.level])
            cursor.execute(f"""
                INSERT INTO cases_coveragecount (campaign_id, unit_id, level, households, screened)
                SELECT %s, u.id, u.level, 0, 0 FROM gridmap_gridunit u
                WHERE u.{scope_column} = %s
                ON CONFLICT (campaign_id, unit_id) DO NOTHING
            """, [campaign.pk, campaign.scope_id])
        Campaign.objects.filter(pk__in=campaign_ids).update(coverage_at=timezone.now())


@dataclass(frozen=True)
class Coverage:
    unit: GridUnit
    households: int
    screened: int

    @property
    def share(self) -> Decimal | None:
        """R31: None for a unit without households (no coverage, not 0 %)."""
        if not self.households:
            return None
        return (Decimal(self.screened) / Decimal(self.households)).quantize(Decimal("0.0001"))

    @property
    def colour(self) -> str:
        return coverage_colour(self.share)


def coverage_colour(share: Decimal | float | None) -> str:
    """R31 colours (configurable): ≥ 90 % green, 75–90 % orange, 20–75 % red, < 20 % yellow."""
    if share is None:
        return "none"
    for threshold, colour in settings.GRIDCARE_SCREENING["colours"]:
        if share >= Decimal(str(threshold)):
            return colour
    return settings.GRIDCARE_SCREENING["colours"][-1][1]


def coverage_at_level(campaign: Campaign, level: int) -> list[Coverage]:
    """The stored coverage of every unit of a level under the campaign's scope."""
    # The unit's boundary is not needed here (the map endpoint simplifies it separately);
    # loading 8,100 micro-grid polygons cost most of a level-5 read (bench/).
    rows = (CoverageCount.objects.filter(campaign=campaign, level=level).select_related("unit")
            .defer("unit__geom", "unit__extra").order_by("unit__code"))
    return [Coverage(r.unit, r.households, r.screened) for r in rows]


# --- R30: campaign cadence -------------------------------------------------------------------

def _half_year(day: date) -> tuple[date, date]:
    return (date(day.year, 1, 1), date(day.year, 6, 30)) if day.month <= 6 else (
        date(day.year, 7, 1), date(day.year, 12, 31))


CADENCE = [  # (kind, level of the units that owe it, period)
    (Campaign.Kind.TOWNSHIP_HALF_YEARLY, 2, _half_year),
    (Campaign.Kind.VILLAGE_QUARTERLY, 3, rules.quarter_of),
    (Campaign.Kind.ANNUAL_FULL, 2, lambda day: (date(day.year, 1, 1), date(day.year, 12, 31))),
]


def cadence_gaps(*, as_of: date, under: GridUnit | None = None) -> list[tuple[GridUnit, str, date, date]]:
    """R30: the townships and villages missing their campaign for the current period: no
    campaign of that kind whose scope is the unit or above it and whose window meets the period."""
    gaps = []
    for kind, level, period in CADENCE:
        start, end = period(as_of)
        units = GridUnit.objects.at_level(level)
        if under is not None:
            units = units.under(under)
        campaigns = Campaign.objects.filter(kind=kind, starts_on__lte=end, ends_on__gte=start)
        covered = set()
        for scope_id, scope_level in campaigns.values_list("scope_id", "scope__level"):
            column = f"{LEVEL_FIELDS[scope_level]}_id"
            covered |= set(units.filter(**{column: scope_id}).values_list("pk", flat=True))
        gaps += [(u, kind, start, end) for u in units.exclude(pk__in=covered).order_by("code")]
    return gaps


@transaction.atomic
def visit_record(*, user, campaign: Campaign, household, visited_at, result: str, point=None):
    """One visit from the API or the field form: derived at once (R31, R32), a suspected
    case opened (R33), and the stored coverage of the household's units adjusted when the
    household's screened state changes (locked rows; no rebuild of the whole campaign)."""
    from cases.models import Visit

    units = [u for u in (getattr(household, f"{name}_id") for name in LEVEL_FIELDS.values()) if u]
    counts = list(CoverageCount.objects.select_for_update().filter(campaign=campaign, unit_id__in=units))
    if not counts:
        coverage_rebuild([campaign.pk])  # never built (e.g. a campaign entered by hand)
    before = Visit.objects.filter(campaign=campaign, household=household, screened=True).exists()
    visit, _ = Visit.objects.update_or_create(
        campaign=campaign, household=household, visited_at=visited_at,
        defaults={"worker": user, "result": result, "geom": point})
    visits_derive([campaign.pk], visit_ids=[visit.pk])
    visit.refresh_from_db()
    after = Visit.objects.filter(campaign=campaign, household=household, screened=True).exists()
    if counts and before != after:
        CoverageCount.objects.filter(pk__in=[c.pk for c in counts]).update(
            screened=models.F("screened") + (1 if after else -1))
    suspected_cases_open([campaign.pk])
    return visit


@transaction.atomic
def suspected_case_close(*, case, patient=None, excluded: bool = False) -> None:
    """R33: a suspected case is confirmed (linked to the patient registered for it) or
    excluded; conditional, so it is closed once."""
    from cases.models import SuspectedCase

    status = SuspectedCase.Status.EXCLUDED if excluded else SuspectedCase.Status.CONFIRMED
    SuspectedCase.objects.filter(pk=case.pk, status=SuspectedCase.Status.REFERRED).update(
        status=status, patient=patient, closed_at=timezone.now())
    case.refresh_from_db()


def coverage_rebuild_current(*, today: date) -> int:
    """After the households change: rebuild the campaigns not yet ended, whose
    denominators (households in scope) move with the register; ended campaigns keep
    the figures they closed with. Returns how many were rebuilt."""
    ids = list(Campaign.objects.filter(ends_on__gte=today).values_list("pk", flat=True))
    if ids:
        coverage_rebuild(ids)
    return len(ids)
