"""Screening data for maps (R31): aggregates only. A leader's map never receives an
individual household or patient point; every count below the configured minimum (5)
is sent as "<5", and a share computed from such counts is withheld."""

from django.conf import settings
from django.db import connection
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import coverage, selectors
from cases.models import Campaign
from gridmap.models import LEVEL_FIELDS, GridUnit

SMALL = "<5"


def masked(count: int) -> int | str:
    """A count as a leader may see it (R35 with the issue's "<5" rule)."""
    return SMALL if count < settings.GRIDCARE_SCREENING["min_cell_count"] else count


def campaigns_visible_to(user):
    """Campaigns over the user's units or over units above them."""
    if user.is_superuser:
        return Campaign.objects.all()
    ids = set()
    for unit in selectors.scope_units(user):
        column = LEVEL_FIELDS[unit.level]
        ancestors = [unit.ancestor_id(level) for level in LEVEL_FIELDS if level <= unit.level]
        ids |= set(Campaign.objects.filter(scope_id__in=ancestors).values_list("pk", flat=True))
        ids |= set(Campaign.objects.filter(**{f"scope__{column}_id": unit.pk}).values_list("pk", flat=True))
    return Campaign.objects.filter(pk__in=ids)


def household_in_scope(user, household) -> bool:
    """Whether a household lies under one of the user's units (any, for superusers)."""
    allowed = _allowed_units(user)
    return allowed is None or any(
        getattr(household, f"{LEVEL_FIELDS[u.level]}_id") == u.pk for u in allowed)


def _campaign(request, code: str) -> Campaign:
    return get_object_or_404(campaigns_visible_to(request.user), code=code)


def _allowed_units(user):
    """Units whose aggregates the user may see: their own subtrees (all for superusers)."""
    if user.is_superuser:
        return None
    return selectors.scope_units(user)


class CoverageQuery(serializers.Serializer):
    level = serializers.IntegerField(min_value=1, max_value=5)
    parent = serializers.CharField(required=False)


class CampaignCoverage(APIView):
    @extend_schema(parameters=[CoverageQuery])
    def get(self, request, code: str):
        """R31 coverage of every unit of a level under the campaign (optionally under a
        parent unit, for drill-down), as GeoJSON polygons with masked counts."""
        campaign = _campaign(request, code)
        query = CoverageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        level = query.validated_data["level"]
        if level < campaign.scope.level:
            raise ValidationError({"level": [f"the campaign's scope is at level {campaign.scope.level}"]})
        rows = coverage.coverage_at_level(campaign, level)
        parent = query.validated_data.get("parent")
        if parent:
            unit = GridUnit.objects.filter(code=parent).first()
            if unit is None:
                raise ValidationError({"parent": ["no such unit"]})
            rows = [r for r in rows if r.unit.ancestor_id(unit.level) == unit.pk]
        allowed = _allowed_units(request.user)
        if allowed is not None:
            rows = [r for r in rows if any(r.unit.ancestor_id(u.level) == u.pk or
                                           u.ancestor_id(r.unit.level) == r.unit.pk for u in allowed)]
        shapes = dict(GridUnit.objects.filter(pk__in=[r.unit.pk for r in rows])
                      .values_list("pk", "geom"))
        features = []
        for r in rows:
            small = r.households < settings.GRIDCARE_SCREENING["min_cell_count"]
            share = None if small else r.share
            features.append({
                "type": "Feature", "id": r.unit.code,
                "geometry": _geojson(shapes[r.unit.pk].simplify(0.0002, preserve_topology=True)),
                "properties": {
                    "code": r.unit.code, "name": r.unit.name, "level": level,
                    "households": masked(r.households), "screened": masked(r.screened),
                    "coverage": None if share is None else float(share),
                    "colour": "suppressed" if small and r.households else coverage.coverage_colour(share),
                    "target": float(campaign.target),
                },
            })
        return Response({"type": "FeatureCollection", "features": features,
                         "legend": _legend()})


def _geojson(geom) -> dict:
    import json

    return json.loads(geom.geojson)


def _legend() -> list[dict]:
    colours = settings.GRIDCARE_SCREENING["colours"]
    bands = []
    upper = None
    for threshold, colour in colours:
        bands.append({"colour": colour, "from": threshold, "to": upper})
        upper = threshold
    return bands


class HexQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["unvisited", "suspected"], default="unvisited")
    size = serializers.IntegerField(min_value=100, max_value=5000, default=250)


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
            FROM gridmap_household h
            WHERE h.{scope_column} = %(scope)s AND {condition}
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
    SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_Hexagon(%(size)s, i, j), 3857), 4326), 6), n FROM cells
"""
CONDITIONS = {
    "unvisited": """NOT EXISTS (SELECT 1 FROM cases_visit v WHERE v.campaign_id = %(campaign)s
                                AND v.household_id = h.id AND v.screened)""",
    "suspected": """EXISTS (SELECT 1 FROM cases_suspectedcase sc JOIN cases_visit v ON v.id = sc.visit_id
                            WHERE v.campaign_id = %(campaign)s AND sc.household_id = h.id)""",
}


class CampaignHexagons(APIView):
    @extend_schema(parameters=[HexQuery])
    def get(self, request, code: str):
        """Hexagons (metres across, Web Mercator) of unvisited households or suspected
        cases under the campaign's scope, limited to the user's units; counts masked."""
        import json

        campaign = _campaign(request, code)
        query = HexQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        scope = campaign.scope
        allowed = _allowed_units(request.user)
        if allowed is not None:
            inside = [u for u in allowed if u.ancestor_id(scope.level) == scope.pk]
            scope = min(inside, key=lambda u: u.level) if inside else scope
            if not inside and not any(scope.ancestor_id(u.level) == u.pk for u in allowed):
                return Response({"type": "FeatureCollection", "features": []})
        sql = HEX_SQL.format(scope_column=f"{LEVEL_FIELDS[scope.level]}_id",
                             condition=CONDITIONS[query.validated_data["kind"]])
        with connection.cursor() as cursor:
            cursor.execute(sql, {"scope": scope.pk, "campaign": campaign.pk,
                                 "size": query.validated_data["size"]})
            rows = cursor.fetchall()
        features = [{"type": "Feature", "geometry": json.loads(geometry), "properties": {"count": masked(n)}}
                    for geometry, n in rows]
        return Response({"type": "FeatureCollection", "features": features})


class CampaignList(APIView):
    def get(self, request):
        """Campaigns over the user's units, with their windows and targets."""
        rows = campaigns_visible_to(request.user).select_related("scope")
        return Response([{"code": c.code, "name": c.name, "kind": c.kind, "kind_label": c.get_kind_display(),
                          "scope": c.scope.code, "scope_name": c.scope.name, "scope_level": c.scope.level,
                          "starts_on": c.starts_on, "ends_on": c.ends_on, "target": float(c.target)}
                         for c in rows])


class VisitSerializer(serializers.Serializer):
    """One screening visit with its GPS fix (formats.md §5)."""

    household_code = serializers.CharField(max_length=64)
    visited_at = serializers.DateTimeField()
    result = serializers.ChoiceField(choices=["无异常", "发现疑似患者", "无人在家"])
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)

    def validate_household_code(self, value: str):
        from gridmap.models import Household

        household = Household.objects.filter(code=value).first()
        if household is None:
            raise serializers.ValidationError("unknown household")
        return household

    def validate_visited_at(self, value):
        from django.utils import timezone

        if value > timezone.now():
            raise serializers.ValidationError("cannot be in the future")
        return value

    def validate(self, attrs):
        from django.contrib.gis.geos import Point

        errors = {}
        household = attrs.pop("household_code")
        if ("lon" in attrs) != ("lat" in attrs):
            errors["lat" if "lon" in attrs else "lon"] = ["give both lon and lat"]
        elif "lon" in attrs:
            lon0, lat0, lon1, lat1 = settings.GRIDCARE_IMPORT["china_extent"]
            if not (lon0 <= attrs["lon"] <= lon1 and lat0 <= attrs["lat"] <= lat1):
                errors["lon"] = ["the fix lies outside China: are lon and lat swapped?"]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["household"] = household
        attrs["point"] = Point(attrs.pop("lon"), attrs.pop("lat"), srid=4326) if "lon" in attrs else None
        return attrs


class CampaignVisits(APIView):
    @extend_schema(request=VisitSerializer)
    def post(self, request, code: str):
        """Record one visit in the user's units; returns whether it counts (R31), whether it
        was on site (R32) and the suspected case it opened (R33)."""
        from cases import services

        campaign = _campaign(request, code)
        entry = VisitSerializer(data=request.data)
        entry.is_valid(raise_exception=True)
        data = entry.validated_data
        household = data["household"]
        if not household_in_scope(request.user, household):
            raise ValidationError({"household_code": ["not in your units"]})
        visit = coverage.visit_record(user=request.user, campaign=campaign, household=household,
                                      visited_at=data["visited_at"], result=data["result"],
                                      point=data["point"])
        services.access_log_record(user=request.user, action="update",
                                   query={"visit": visit.pk, "campaign": campaign.code})
        case = getattr(visit, "suspected_case", None)
        return Response({"id": visit.pk, "screened": visit.screened, "on_site": visit.on_site,
                         "distance_m": None if visit.distance_m is None else round(visit.distance_m, 1),
                         "suspected_case": case.pk if case else None,
                         "diagnose_by": case.diagnose_by if case else None}, status=201)


class CadenceGaps(APIView):
    def get(self, request):
        """R30: the townships and villages (in the user's units) missing this period's
        campaign, as unit outlines with what is missing — shown on the leaders' map."""
        import json

        from cases import services

        units = _allowed_units(request.user)
        under = None if units is None else (min(units, key=lambda u: u.level) if units else None)
        if units is not None and under is None:
            return Response({"type": "FeatureCollection", "features": []})
        gaps: dict[int, list[str]] = {}
        found: dict[int, GridUnit] = {}
        for unit, kind, start, end in coverage.cadence_gaps(as_of=services.today(), under=under):
            label = f"{Campaign.Kind(kind).label} ({start:%Y-%m-%d}–{end:%Y-%m-%d})"
            gaps.setdefault(unit.pk, []).append(label)
            found[unit.pk] = unit
        features = [{"type": "Feature", "id": unit.code,
                     "geometry": json.loads(unit.geom.simplify(0.0005, preserve_topology=True).geojson),
                     "properties": {"code": unit.code, "name": unit.name, "level": unit.level,
                                    "missing": gaps[pk]}}
                    for pk, unit in found.items()]
        return Response({"type": "FeatureCollection", "features": features})
