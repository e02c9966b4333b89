"""JSON endpoints of the grid map. HTTP only: parsing, one selector call, response."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from gridmap import selectors
from gridmap.schema import UnitDetail, feature_collection, unit_code_id


class UnitsQuery(serializers.Serializer):
    level = serializers.IntegerField(min_value=1, max_value=5)
    bbox = serializers.CharField(required=False)
    zoom = serializers.IntegerField(required=False, min_value=0, max_value=22, default=12)

    def validate_bbox(self, value: str) -> tuple[float, float, float, float]:
        try:
            west, south, east, north = (float(part) for part in value.split(","))
        except ValueError as exc:
            raise serializers.ValidationError("bbox is west,south,east,north in degrees") from exc
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise serializers.ValidationError("bbox is west,south,east,north in degrees")
        return west, south, east, north


@extend_schema(operation_id="units_list", parameters=[UnitsQuery],
               responses={(200, "application/geo+json"): feature_collection("Unit", {
                   "code": serializers.CharField(), "name": serializers.CharField(),
                   "level": serializers.IntegerField(), "households": serializers.IntegerField(),
                   "population": serializers.IntegerField()}, feature_id=unit_code_id())})
@api_view(["GET"])
def units_geojson(request):
    query = UnitsQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    # About a third of a screen pixel at this zoom: invisible, and far fewer vertices.
    tolerance = 360 / (256 * 2 ** query.validated_data["zoom"]) / 3
    body = selectors.grid_units_geojson(
        level=query.validated_data["level"],
        bbox=query.validated_data.get("bbox"),
        tolerance=tolerance,
    )
    return HttpResponse(body, content_type="application/geo+json")


@extend_schema(responses=UnitDetail)
@api_view(["GET"])
def unit_detail(request, code: str):
    detail = selectors.grid_unit_detail(code=code)
    if detail is None:
        raise NotFound()
    return Response(detail)
