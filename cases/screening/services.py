"""Writes of screening, set-based: what counts (R31), on-site checks (R32), suspected
cases (R33) and the stored coverage.

After every visit import `visits_derive` marks, in one UPDATE, which visits count
and which were on site, `suspected_cases_open` opens a case per suspected visit,
and `coverage_rebuild` stores per unit, at every level under the campaign's scope,
how many households there are and how many were screened: a leader's map then
reads one indexed row per unit.
"""

from datetime import date

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from cases.screening.models import Campaign, CoverageCount, SuspectedCase, Visit
from cases.screening.rules import VisitResult
from cases.screening.selectors import screening_rules
from geodata.report import ImportReport
from gridmap.calendar import deadlines, local_today, working_day_deadline
from gridmap.models import LEVEL_FIELDS, GridUnit, Household
from gridmap.selectors import calendar_overrides

VISIT, CAMPAIGN, COVERAGE = (m._meta.db_table for m in (Visit, Campaign, CoverageCount))
UNIT, HOUSEHOLD = GridUnit._meta.db_table, Household._meta.db_table


# R31: the household lies under the campaign's scope (aliases sc and h): its ancestor
# column of the scope's level names the scope. Levels and columns come from code.
IN_SCOPE_SQL = " OR ".join(
    f"(sc.level = {level} AND h.{name}_id = sc.id)" for level, name in LEVEL_FIELDS.items())


def visits_derive(campaign_ids: list[int], *, visit_ids: list[int] | None = None) -> None:
    """R31/R32 for every visit of these campaigns: screened = a household of the scope,
    inside the window (local dates, inclusive), and not 无人在家; the distance from the
    GPS fix to the household point, and on site within the configured distance.

    Why raw SQL: one UPDATE joining campaigns, scopes and households; the scope test
    is an equality on the household's ancestor column of the scope's level.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {VISIT} v SET screened = d.screened, distance_m = d.distance_m, on_site = d.on_site
            FROM (
                SELECT v2.id,
                       v2.result <> %(nobody_home)s
                       AND (v2.visited_at AT TIME ZONE %(tz)s)::date BETWEEN c.starts_on AND c.ends_on
                       AND coalesce(({IN_SCOPE_SQL}), false) AS screened,  -- in no unit: false
                       CASE WHEN v2.geom IS NULL THEN NULL
                            ELSE ST_Distance(v2.geom::geography, h.geom::geography) END AS distance_m,
                       CASE WHEN v2.geom IS NULL THEN NULL
                            ELSE ST_DWithin(v2.geom::geography, h.geom::geography, %(metres)s) END AS on_site
                FROM {VISIT} v2
                JOIN {CAMPAIGN} c ON c.id = v2.campaign_id
                JOIN {UNIT} sc ON sc.id = c.scope_id
                JOIN {HOUSEHOLD} h ON h.id = v2.household_id
                WHERE c.id = ANY(%(campaigns)s) AND (%(visits)s::bigint[] IS NULL OR v2.id = ANY(%(visits)s))
            ) d
            -- Only rows whose derivation changed are rewritten (a re-derive is cheap).
            WHERE v.id = d.id AND (v.screened, v.distance_m, v.on_site)
                  IS DISTINCT FROM (d.screened, d.distance_m, d.on_site)
        """, {"nobody_home": VisitResult.NOBODY_HOME, "tz": settings.TIME_ZONE,
              "metres": screening_rules().on_site_metres, "campaigns": list(campaign_ids),
              "visits": visit_ids})


def suspected_cases_open(campaign_ids: list[int]) -> int:
    """R33: every visit that found a suspected case opens one, to be diagnosed within
    10 working days of the visit (a guessed calendar is flagged); a visit whose result
    is no longer 发现疑似患者 has its still-open case excluded. Returns cases opened."""
    SuspectedCase.objects.filter(
        visit__campaign_id__in=campaign_ids, status=SuspectedCase.Status.REFERRED,
    ).exclude(visit__result=Visit.Result.SUSPECTED).update(
        status=SuspectedCase.Status.EXCLUDED, closed_at=timezone.now())
    pending = list(Visit.objects.filter(campaign_id__in=campaign_ids, result=Visit.Result.SUSPECTED,
                                        suspected_case__isnull=True).values_list("pk", "household_id",
                                                                                 "visited_at"))
    if not pending:
        return 0
    overrides, days = calendar_overrides(), deadlines().diagnosis_working_days
    cases = []
    for visit_id, household_id, visited_at in pending:
        due, fallback = working_day_deadline(visited_at, days, overrides)
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
            cursor.execute(f"DELETE FROM {COVERAGE} WHERE campaign_id = %s", [campaign.pk])
            # Identifiers come from code (LEVEL_FIELDS), values are bound.
            cursor.execute(f"""
                INSERT INTO {COVERAGE} (campaign_id, unit_id, level, households, screened)
                SELECT %s, unit_id, level, households, screened FROM (
                    SELECT {unit_expr} AS unit_id, {level_of} AS level, count(*) AS households,
                           count(*) FILTER (WHERE EXISTS (
                               SELECT 1 FROM {VISIT} v WHERE v.campaign_id = %s
                                 AND v.household_id = h.id AND v.screened)) AS screened
                    FROM {HOUSEHOLD} h
                    WHERE h.{scope_column} = %s
                    GROUP BY GROUPING SETS ({grouping})
                ) t
                WHERE unit_id IS NOT NULL AND level >= %s
            """, [campaign.pk, campaign.pk, campaign.scope_id, campaign.scope.level])
            cursor.execute(f"""
                INSERT INTO {COVERAGE} (campaign_id, unit_id, level, households, screened)
                SELECT %s, u.id, u.level, 0, 0 FROM {UNIT} u
                WHERE u.{scope_column} = %s
                ON CONFLICT (campaign_id, unit_id) DO NOTHING
            """, [campaign.pk, campaign.scope_id])
        Campaign.objects.filter(pk__in=campaign_ids).update(coverage_at=timezone.now())


@transaction.atomic
def visit_record(*, user, campaign: Campaign, household, visited_at, result: str, point=None):
    """One visit from the API or the field form: derived at once (R31, R32), a suspected
    case opened (R33), and the stored coverage of the household's units adjusted when the
    household's screened state changes (locked rows; no rebuild of the whole campaign)."""
    units = [u for u in household.placement() if u]
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


def coverage_after_households(report: ImportReport) -> None:
    """What a households import hands on (config.importers): the coverage of the campaigns
    still running, whose denominators the households are (R31)."""
    report.stats["campaigns_rebuilt"] = coverage_rebuild_current(today=local_today())
