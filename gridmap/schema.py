"""OpenAPI descriptions of the answers that are not one model serializer: GeoJSON layers
and small summaries (drf-spectacular), and the refusals every operation can answer. The
schema is what schemathesis checks every answer against (tests/security/test_api_schema.py),
so it says exactly what is sent."""

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

# A GeoJSON geometry: {"type": ..., "coordinates": ...}; its nesting depends on the type.
Geometry = serializers.DictField


def feature_collection(name: str, properties: dict[str, serializers.Field] | None = None,
                       extra: dict[str, serializers.Field] | None = None,
                       feature_id: serializers.Field | None = None):
    """A FeatureCollection whose features carry these properties (any object when None)
    and this id (a row's integer id unless `feature_id` says otherwise, e.g. a unit's code)."""
    feature = inline_serializer(f"{name}Feature", many=True, fields={
        "type": serializers.ChoiceField(["Feature"]),
        "id": feature_id or serializers.IntegerField(required=False),
        "geometry": Geometry(allow_null=True),
        "properties": (inline_serializer(f"{name}Properties", fields=properties)
                       if properties is not None else serializers.DictField()),
    })
    return inline_serializer(f"{name}Collection", fields={
        "type": serializers.ChoiceField(["FeatureCollection"]), "features": feature, **(extra or {})})


def unit_code_id() -> serializers.Field:
    """The id of a feature that is a grid unit: its code (codes are strings of digits)."""
    return serializers.CharField(help_text="the unit's code")


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


# --- Refusals and errors, documented once for every operation -------------------------------

# DRF's error bodies: {"detail": message} for a refusal or a missing object; for invalid input
# each field's messages (a list; an object for a nested field; `non_field_errors` for the
# whole), or {"detail": message} when the body cannot be read at all.
ERROR_SCHEMAS = {
    "ErrorDetail": {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    "FieldErrors": {"type": "object", "minProperties": 1, "additionalProperties": {"anyOf": [
        {"type": "array", "items": {"type": "string"}}, {"type": "object"}, {"type": "string"}]}},
}
ERROR_RESPONSES = {
    "400": ("BadRequest", "FieldErrors", "Invalid input: the messages of each invalid field."),
    "403": ("Forbidden", "ErrorDetail", "Not signed in, the second factor not given, or not "
                                        "something the caller's roles allow."),
    "404": ("NotFound", "ErrorDetail", "No such object among those the caller may see (another "
                                       "unit's patient is not found either, R22)."),
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema with the error answers declared for every operation that can
    give them: 403 everywhere (the API is for signed-in users, gridmap.access refuses), 400
    where a query string or a body is read, 404 where the path names an object."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        located = {parameter["in"] for parameter in operation.get("parameters", [])}
        codes = ["403"]
        if "query" in located or "requestBody" in operation:
            codes.append("400")
        if "path" in located:
            codes.append("404")
        for code in codes:
            operation["responses"].setdefault(code, self._error_response(code))
        return operation

    def _error_response(self, code: str) -> dict:
        name, body, description = ERROR_RESPONSES[code]
        schema = ResolvedComponent(name=body, type=ResolvedComponent.SCHEMA, object=body,
                                   schema=ERROR_SCHEMAS[body])
        self.registry.register_on_missing(schema)
        response = ResolvedComponent(name=name, type=ResolvedComponent.RESPONSE, object=name, schema={
            "description": description, "content": {"application/json": {"schema": schema.ref}}})
        self.registry.register_on_missing(response)
        return response.ref
