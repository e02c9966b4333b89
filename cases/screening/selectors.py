"""Reads of screening: the campaigns a person may see, stored coverage per unit as masked
aggregates (R31, R35), hexagons of unvisited households or suspected cases, units missing
their campaign (R30), mop-up lists and open suspected cases (R33). What lies in a
person's scope is decided by gridmap.access; a leader's map never receives a point.
"""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON, GeomOutputGeoFunc
from django.db import connection
from django.db.models import QuerySet

from cases.screening import rules
from cases.screening.models import Campaign, CoverageCount, SuspectedCase, Visit
from gridmap import access
from gridmap.models import LEVEL_FIELDS, GridUnit, Household

VISIT, SUSPECTED = Visit._meta.db_table, SuspectedCase._meta.db_table
HOUSEHOLD = Household._meta.db_table
MAP_TOLERANCE = 0.0002  # degrees (~20 m): what a coverage map at unit level can show
GAP_TOLERANCE = 0.0005


def screening_rules() -> rules.ScreeningRules:
    """The configurable numbers of R31, R32 and the masking (settings.GRIDCARE_SCREENING)."""
    configured = dict(getattr(settings, "GRIDCARE_SCREENING", {}))
    if "colours" in configured:
        configured["colours"] = tuple(tuple(band) for band in configured["colours"])
    return rules.ScreeningRules(**configured)


class SimplifyPreserveTopology(GeomOutputGeoFunc):
    """PostGIS's ST_SimplifyPreserveTopology (GEOS), which GeoDjango has no function for."""

    function = "ST_SimplifyPreserveTopology"


class CollectionHomogenize(GeomOutputGeoFunc):
    """ST_CollectionHomogenize: a one-part multipolygon becomes a polygon."""

    function = "ST_CollectionHomogenize"


def _outline(field: str, tolerance: float) -> AsGeoJSON:
    """A unit's boundary simplified for a map by PostGIS, as GeoJSON text."""
    return AsGeoJSON(CollectionHomogenize(SimplifyPreserveTopology(field, tolerance)), precision=6)


def campaigns_visible_to(user) -> QuerySet[Campaign]:
    """Campaigns over the user's units, over units under them, or over units above them."""
    return access.scope_of(user).visible_or_above(Campaign.objects.all(), via="scope__")


@dataclass(frozen=True)
class Coverage:
    """R31 for one unit: its households in the campaign's scope and how many were screened."""

    unit: GridUnit
    households: int
    screened: int

    @property
    def share(self) -> Decimal | None:
        """R31: None for a unit without households (no coverage, not 0 %)."""
        return rules.coverage_share(self.screened, self.households)

    @property
    def colour(self) -> str:
        return rules.coverage_colour(self.share, screening_rules())


def coverage_at_level(campaign: Campaign, level: int) -> list[Coverage]:
    """The stored coverage of every unit of a level under the campaign's scope."""
    # The unit's boundary is not needed here; loading 8,100 micro-grid polygons cost most
    # of a level-5 read (bench/).
    rows = (CoverageCount.objects.filter(campaign=campaign, level=level).select_related("unit")
            .defer("unit__geom", "unit__extra").order_by("unit__code"))
    return [Coverage(r.unit, r.households, r.screened) for r in rows]


def coverage_features(*, user, campaign: Campaign, level: int, parent: GridUnit | None = None) -> dict:
    """R31 coverage of every unit of a level under the campaign (under `parent` when given)
    that the user may see (their units, and units above them), as GeoJSON with masked
    counts (R35): a count below the minimum is "<5"; a share is shown only when neither of
    its counts is masked (coverage 0.0 of 60 households would tell that "<5" is 0); and a
    lone masked count among siblings takes the smallest shown one with it ("—"), so that
    the parent's total less the others does not give it back. Outlines by PostGIS."""
    shown = screening_rules()
    rows = access.scope_of(user).visible_or_above(
        CoverageCount.objects.filter(campaign=campaign, level=level), via="unit__")
    if parent is not None:
        rows = rows.under_any([parent], via="unit__")
    rows = list(rows.select_related("unit").defer("unit__geom", "unit__extra")
                .annotate(outline=_outline("unit__geom", MAP_TOLERANCE)).order_by("unit__code"))
    hidden = _withheld_among_siblings(rows, shown)
    features = []
    for row in rows:
        small = row.households < shown.min_cell_count
        masked = small or row.screened < shown.min_cell_count or row.pk in hidden
        share = None if masked else rules.coverage_share(row.screened, row.households)
        band = rules.coverage_colour(rules.coverage_share(row.screened, row.households), shown)
        features.append({
            "type": "Feature", "id": row.unit.code, "geometry": json.loads(row.outline),
            "properties": {
                "code": row.unit.code, "name": row.unit.name, "level": level,
                "households": rules.masked(row.households, shown),
                "screened": rules.WITHHELD if row.pk in hidden else rules.masked(row.screened, shown),
                "coverage": None if share is None else float(share),
                "colour": "suppressed" if small and row.households else band,  # a band, not a figure
                "target": float(campaign.target),
            },
        })
    return {"type": "FeatureCollection", "features": features, "legend": rules.legend(shown)}


def _withheld_among_siblings(rows: list[CoverageCount], shown: rules.ScreeningRules) -> set[int]:
    """The rows whose screened count is hidden with a lone masked sibling (rules.withheld_with)."""
    siblings: dict[int | None, list[CoverageCount]] = {}
    for row in rows:
        siblings.setdefault(row.unit.parent_id, []).append(row)
    hidden = set()
    for group in siblings.values():
        hidden |= {group[i].pk for i in rules.withheld_with([r.screened for r in group], shown)}
    return hidden


# Why raw SQL: the points are counted per hexagon (i, j) of PostGIS's hexagon grid
# (flat-topped, anchored at the origin: the centre of (i, j) is at x = 1.5·s·i,
# y = √3·s·(j + ½ if i is odd)), and only the hexagons come back, never the points. A
# point's hexagon is the nearest centre among the two columns its x falls between,
# found by arithmetic (building a small ST_HexagonGrid per point was 2× slower, bench/);
# a tie on an edge goes to the lowest (i, j).
HEX_SQL = """
    WITH pts AS MATERIALIZED (
        SELECT ST_X(g) AS x, ST_Y(g) AS y FROM (
            SELECT ST_Transform(h.geom, 3857) AS g
            FROM {households} h
            WHERE h.{scope_column} = %(scope)s AND {in_reach} AND {condition}
        ) projected
    ), cells AS (
        SELECT hx.i, hx.j, count(*) AS n FROM pts
        CROSS JOIN LATERAL (
            SELECT c.i, c.j FROM (
                SELECT k.i, round(pts.y / (sqrt(3) * %(size)s) - (abs(k.i) %% 2) * 0.5)::int AS j
                FROM (VALUES (floor(pts.x / (1.5 * %(size)s))::int),
                             (floor(pts.x / (1.5 * %(size)s))::int + 1)) k(i)
            ) c
            ORDER BY (pts.x - 1.5 * %(size)s * c.i) ^ 2
                     + (pts.y - sqrt(3) * %(size)s * (c.j + (abs(c.i) %% 2) * 0.5)) ^ 2, c.i, c.j
            LIMIT 1
        ) hx
        GROUP BY hx.i, hx.j
    )
    SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_Hexagon(%(size)s, i, j), 3857), %(srid)s), 6), n
    FROM cells
"""
CONDITIONS = {
    "unvisited": f"""NOT EXISTS (SELECT 1 FROM {VISIT} v WHERE v.campaign_id = %(campaign)s
                                 AND v.household_id = h.id AND v.screened)""",
    "suspected": f"""EXISTS (SELECT 1 FROM {SUSPECTED} sc JOIN {VISIT} v ON v.id = sc.visit_id
                             WHERE v.campaign_id = %(campaign)s AND sc.household_id = h.id)""",
}


def hexagon_query(campaign: Campaign, *, kind: str, size: int,
                  reach: tuple[str, dict] = ("TRUE", {})) -> tuple[str, dict]:
    """HEX_SQL for one campaign and its parameters; `reach` limits the households
    (gridmap.access.Scope.placement_sql, everything by default)."""
    in_reach, params = reach
    sql = HEX_SQL.format(households=HOUSEHOLD, scope_column=f"{LEVEL_FIELDS[campaign.scope.level]}_id",
                         in_reach=in_reach, condition=CONDITIONS[kind])
    return sql, {**params, "scope": campaign.scope_id, "campaign": campaign.pk, "size": size,
                 "srid": settings.GRIDCARE_SRID}


def hexagons(*, user, campaign: Campaign, kind: str, size: int) -> dict:
    """Hexagons (`size` metres across, Web Mercator) counting the unvisited households or
    the suspected cases under the campaign's scope and in the user's units; counts masked."""
    sql, params = hexagon_query(campaign, kind=kind, size=size,
                                reach=access.scope_of(user).placement_sql("h"))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    shown = screening_rules()
    features = [{"type": "Feature", "geometry": json.loads(geometry),
                 "properties": {"count": rules.masked(n, shown)}} for geometry, n in rows]
    return {"type": "FeatureCollection", "features": features}


Gap = tuple[GridUnit, str, date, date]  # a unit, the kind it lacks, the period


def cadence_gaps(*, as_of: date, units: list[GridUnit] | None = None) -> list[Gap]:
    """R30: the townships and villages (under any of `units`, all when None) missing their
    campaign for the current period: no campaign of that kind whose scope is the unit or
    above it and whose window meets the period."""
    gaps = []
    for kind, level, period in rules.CADENCE:
        start, end = period(as_of)
        owing = GridUnit.objects.at_level(level).defer("geom", "extra")
        if units is not None:
            owing = owing.under_any(units)
        campaigns = Campaign.objects.filter(kind=kind, starts_on__lte=end, ends_on__gte=start)
        covered = set()
        for scope_id, scope_level in campaigns.values_list("scope_id", "scope__level"):
            column = f"{LEVEL_FIELDS[scope_level]}_id"
            covered |= set(owing.filter(**{column: scope_id}).values_list("pk", flat=True))
        gaps += [(u, kind, start, end) for u in owing.exclude(pk__in=covered).order_by("code")]
    return gaps


def cadence_gaps_for(user, *, as_of: date) -> list[Gap]:
    """R30 gaps in the user's units (every unit for a superuser, none without units)."""
    scope = access.scope_of(user)
    return cadence_gaps(as_of=as_of, units=None if scope.everything else list(scope.units))


def cadence_gap_features(*, user, as_of: date) -> dict:
    """R30 gaps in the user's units as outlines with what is missing, for the leaders' map."""
    missing: dict[int, list[str]] = {}
    for unit, kind, start, end in cadence_gaps_for(user, as_of=as_of):
        label = f"{Campaign.Kind(kind).label} ({start:%Y-%m-%d}–{end:%Y-%m-%d})"
        missing.setdefault(unit.pk, []).append(label)
    units = (GridUnit.objects.filter(pk__in=missing).defer("geom", "extra")
             .annotate(outline=_outline("geom", GAP_TOLERANCE)).order_by("code"))
    features = [{"type": "Feature", "id": unit.code, "geometry": json.loads(unit.outline),
                 "properties": {"code": unit.code, "name": unit.name, "level": unit.level,
                                "missing": missing[unit.pk]}}
                for unit in units]
    return {"type": "FeatureCollection", "features": features}


def mop_up_households(campaign: Campaign, unit: GridUnit) -> QuerySet[Household]:
    """Households under the unit (and the campaign's scope) not yet screened: the
    mop-up list (补漏), ordered for the field by grid and code."""
    scope_column = f"{LEVEL_FIELDS[campaign.scope.level]}_id"
    return (Household.objects.under_any([unit]).filter(**{scope_column: campaign.scope_id})
            .exclude(visits__campaign=campaign, visits__screened=True)
            .select_related("grid").order_by("grid__code", "code"))


def suspected_cases_for(user) -> QuerySet[SuspectedCase]:
    """R33: the suspected cases in the user's units, the earliest deadline first."""
    cases = SuspectedCase.objects.select_related("household", "visit__campaign").order_by("diagnose_by")
    return access.visible(user, cases)


def registered_patient(user, patient_no: str):
    """The patient registered for a suspected case, among those the user may see, or None.
    The register is reached through the case's own relation to it (SuspectedCase.patient),
    not by importing it: screening stands beside the register."""
    patients = SuspectedCase._meta.get_field("patient").related_model.objects.all()
    return access.visible(user, patients).filter(patient_no=patient_no.strip()).first()
