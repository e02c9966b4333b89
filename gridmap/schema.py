"""OpenAPI descriptions of the answers that are not one model serializer: GeoJSON layers
and small summaries (drf-spectacular). The schema is what schemathesis checks every
answer against (tests/test_api_schema.py), so it says exactly what is sent."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

# A GeoJSON geometry: {"type": ..., "coordinates": ...}; its nesting depends on the type.
Geometry = serializers.DictField


def feature_collection(name: str, properties: dict[str, serializers.Field] | None = None,
                       extra: dict[str, serializers.Field] | None = None):
    """A FeatureCollection whose features carry these properties (any object when None)."""
    feature = inline_serializer(f"{name}Feature", many=True, fields={
        "type": serializers.ChoiceField(["Feature"]),
        "id": serializers.IntegerField(required=False),
        "geometry": Geometry(allow_null=True),
        "properties": (inline_serializer(f"{name}Properties", fields=properties)
                       if properties is not None else serializers.DictField()),
    })
    return inline_serializer(f"{name}Collection", fields={
        "type": serializers.ChoiceField(["FeatureCollection"]), "features": feature, **(extra or {})})


def page_of(name: str, serializer, extra: dict[str, serializers.Field] | None = None):
    """A page of results: {count, page, pages, results: [...]}."""
    return inline_serializer(name, fields={
        "count": serializers.IntegerField(), "page": serializers.IntegerField(),
        "pages": serializers.IntegerField(), "results": serializer, **(extra or {})})


UnitDetail = inline_serializer("UnitDetail", fields={
    "code": serializers.CharField(), "name": serializers.CharField(),
    "level": serializers.IntegerField(), "level_name": serializers.CharField(),
    "parents": inline_serializer("UnitParent", many=True, fields={
        "code": serializers.CharField(), "name": serializers.CharField(),
        "level": serializers.IntegerField()}),
    "households": serializers.IntegerField(), "population": serializers.IntegerField(),
    "children": serializers.IntegerField(),
    "bbox": serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4),
})
