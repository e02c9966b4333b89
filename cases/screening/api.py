"""Screening data for maps (R31): aggregates only. A leader's map never receives an
individual household or patient point; every count below the configured minimum (5)
is sent as "<5", and a share computed from such counts is withheld. HTTP only: each
view parses its input and calls one selector or service."""

from django.conf import settings
from django.contrib.gis.geos import Point
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.screening import rules, selectors, services
from cases.screening.models import Campaign, Visit
from geodata.cells import plausible_date
from geodata.extent import SWAPPED_HINT, outside_china
from gridmap import access
from gridmap.calendar import local_today
from gridmap.models import GridUnit, Household, Purpose
from gridmap.schema import feature_collection, unit_code_id


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 0},
                                {"type": "string", "enum": [rules.SMALL, rules.WITHHELD]}]})
class MaskedCount(serializers.Field):
    """A count as a leader may see it (R31, R35): a whole number, "<5" below the minimum,
    or "—" when withheld so that a masked sibling cannot be recomputed."""


def _campaign(request, code: str) -> Campaign:
    return get_object_or_404(selectors.campaigns_visible_to(request.user).select_related("scope"), code=code)


class CoverageQuery(serializers.Serializer):
    level = serializers.IntegerField(min_value=1, max_value=5)
    parent = serializers.CharField(required=False)


class CampaignCoverage(APIView):
    @extend_schema(parameters=[CoverageQuery], responses=feature_collection("Coverage", {
        "code": serializers.CharField(), "name": serializers.CharField(), "level": serializers.IntegerField(),
        "households": MaskedCount(), "screened": MaskedCount(),
        "coverage": serializers.FloatField(allow_null=True, help_text="null: masked, or no households"),
        "colour": serializers.CharField(), "target": serializers.FloatField(),
    }, extra={"legend": serializers.ListField(child=serializers.DictField())}, feature_id=unit_code_id()))
    def get(self, request, code: str):
        """R31 coverage of every unit of a level under the campaign (optionally under a
        parent unit, for drill-down), as GeoJSON polygons with masked counts."""
        campaign = _campaign(request, code)
        query = CoverageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        level = query.validated_data["level"]
        if level < campaign.scope.level:
            raise ValidationError({"level": [f"the campaign's scope is at level {campaign.scope.level}"]})
        parent = None
        if query.validated_data.get("parent"):
            parent = GridUnit.objects.defer("geom").filter(code=query.validated_data["parent"]).first()
            if parent is None:
                raise ValidationError({"parent": ["no such unit"]})
        return Response(selectors.coverage_features(user=request.user, campaign=campaign, level=level,
                                                    parent=parent))


class HexQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(selectors.CONDITIONS), default="unvisited")
    size = serializers.IntegerField(min_value=100, max_value=5000, default=250)


class CampaignHexagons(APIView):
    @extend_schema(parameters=[HexQuery], responses=feature_collection("Hexagon", {
        "count": MaskedCount()}))
    def get(self, request, code: str):
        """Hexagons (metres across, Web Mercator) of unvisited households or suspected
        cases under the campaign's scope, limited to the user's units; counts masked."""
        campaign = _campaign(request, code)
        query = HexQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.hexagons(user=request.user, campaign=campaign, **query.validated_data))


class CampaignList(APIView):
    @extend_schema(responses=inline_serializer("Campaign", many=True, fields={
        "code": serializers.CharField(), "name": serializers.CharField(),
        "kind": serializers.CharField(), "kind_label": serializers.CharField(),
        "scope": serializers.CharField(), "scope_name": serializers.CharField(),
        "scope_level": serializers.IntegerField(), "starts_on": serializers.DateField(),
        "ends_on": serializers.DateField(), "target": serializers.FloatField()}))
    def get(self, request):
        """Campaigns over the user's units, with their windows and targets."""
        rows = selectors.campaigns_visible_to(request.user).select_related("scope")
        return Response([{"code": c.code, "name": c.name, "kind": c.kind, "kind_label": c.get_kind_display(),
                          "scope": c.scope.code, "scope_name": c.scope.name, "scope_level": c.scope.level,
                          "starts_on": c.starts_on, "ends_on": c.ends_on, "target": float(c.target)}
                         for c in rows])


class VisitSerializer(serializers.Serializer):
    """One screening visit with its GPS fix (formats.md §5)."""

    household_code = serializers.CharField(max_length=64)
    visited_at = serializers.DateTimeField()
    result = serializers.ChoiceField(choices=Visit.Result.choices)
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)

    def validate_household_code(self, value: str) -> Household:
        household = Household.objects.filter(code=value).first()
        if household is None:
            raise serializers.ValidationError("unknown household")
        return household

    def validate_visited_at(self, value):
        if value > timezone.now():
            raise serializers.ValidationError("cannot be in the future")
        plausible_date(value)
        return value

    def validate(self, attrs):
        errors = {}
        household = attrs.pop("household_code")
        if ("lon" in attrs) != ("lat" in attrs):
            errors["lat" if "lon" in attrs else "lon"] = ["give both lon and lat"]
        elif "lon" in attrs and outside_china(attrs["lon"], attrs["lat"]):
            errors["lon"] = [f"the fix lies outside China: {SWAPPED_HINT}"]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["household"] = household
        attrs["point"] = (Point(attrs.pop("lon"), attrs.pop("lat"), srid=settings.GRIDCARE_SRID)
                          if "lon" in attrs else None)
        return attrs


class CampaignVisits(APIView):
    @extend_schema(request=VisitSerializer, responses={201: inline_serializer("VisitRecorded", fields={
        "id": serializers.IntegerField(), "screened": serializers.BooleanField(),
        "on_site": serializers.BooleanField(allow_null=True),
        "distance_m": serializers.FloatField(allow_null=True),
        "suspected_case": serializers.IntegerField(allow_null=True),
        "diagnose_by": serializers.DateTimeField(allow_null=True)})})
    def post(self, request, code: str):
        """Record one visit in the user's units; returns whether it counts (R31), whether it
        was on site (R32) and the suspected case it opened (R33)."""
        campaign = _campaign(request, code)
        entry = VisitSerializer(data=request.data)
        entry.is_valid(raise_exception=True)
        data = entry.validated_data
        if not access.scope_of(request.user).holds(data["household"]):
            raise ValidationError({"household_code": ["not in your units"]})
        visit = services.visit_record(user=request.user, campaign=campaign, household=data["household"],
                                      visited_at=data["visited_at"], result=data["result"],
                                      point=data["point"])
        access.log(user=request.user, action="update", purpose=Purpose.SCREENING,
                   query={"visit": visit.pk, "campaign": campaign.code}, request=request)
        case = getattr(visit, "suspected_case", None)
        return Response({"id": visit.pk, "screened": visit.screened, "on_site": visit.on_site,
                         "distance_m": None if visit.distance_m is None else round(visit.distance_m, 1),
                         "suspected_case": case.pk if case else None,
                         "diagnose_by": case.diagnose_by if case else None}, status=201)


class CadenceGaps(APIView):
    @extend_schema(responses=feature_collection("CadenceGap", feature_id=unit_code_id()))
    def get(self, request):
        """R30: the townships and villages (in the user's units) missing this period's
        campaign, as unit outlines with what is missing — shown on the leaders' map."""
        return Response(selectors.cadence_gap_features(user=request.user, as_of=local_today()))
