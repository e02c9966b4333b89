"""The patient API (DRF). Which patients and fields a caller sees is decided by
gridmap.access (R22, R35), and every read, search and change is logged there. Invalid
input is a 400 with field errors."""

from django.contrib.gis.geos import Polygon
from django.core.paginator import Paginator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.patients import selectors, services
from cases.patients.serializers import (
    READS,
    UNIT_CODES,
    EventReportSerializer,
    FollowUpSerializer,
    IdentifiersSerializer,
    PatientFilterSerializer,
    PatientSerializer,
    PatientUpdateSerializer,
)
from gridmap import access
from gridmap.calendar import local_today
from gridmap.models import LEVEL_FIELDS, Purpose
from gridmap.schema import feature_collection, page_of

PAGE_SIZE = 50
POINTS_SHOWN = 5000
PLACEMENT = [f"{name}_id" for name in LEVEL_FIELDS.values()]


def _context(request, patients) -> dict:
    """What PatientSerializer needs: each patient's field groups for this reader (R35)."""
    patients = list(patients)
    return {"groups": selectors.field_groups_by_patient(access.scope_of(request.user), patients),
            "teams": selectors.teams_for(patients), "as_of": local_today()}


def _require(request, patient, group: str) -> frozenset[str]:
    """The reader's field groups on this patient, which must include `group`."""
    groups = selectors.patient_field_groups(request.user, patient)
    if group not in groups:
        raise PermissionDenied("your role does not give access to these fields")
    return groups


class PatientList(APIView):
    @extend_schema(operation_id="patients_list",
                   parameters=[PatientFilterSerializer, OpenApiParameter("page", int)],
                   responses=page_of("PatientPage", PatientSerializer(many=True), extra={
                       # only for readers who may see risk (R35)
                       "key_group_counts": serializers.DictField(child=serializers.IntegerField(),
                                                                 required=False)}))
    def get(self, request):
        """Patients in the user's scope, filtered; counts per key group (R13–R19)."""
        filters = PatientFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        groups = access.field_groups(request.user)
        hidden = {name: ["your role cannot filter on this"] for name, group in selectors.FILTER_NEEDS.items()
                  if name in filters.validated_data and group not in groups}
        if hidden:
            raise ValidationError(hidden)
        as_of = local_today()
        patients = selectors.patients_filtered(request.user, filters.validated_data, as_of=as_of)
        paginator = Paginator(patients.only(*READS).with_coordinates().with_guardian_contact()
                              .with_unit_naming(*UNIT_CODES).with_other_chains(), PAGE_SIZE)
        counts = None
        if access.RISK in groups:  # with the list's count, where it is the same set
            counts = selectors.key_group_counts(request.user, filters.validated_data, as_of=as_of, total=True)
            if "total" in counts:
                paginator.count = counts.pop("total")
        page = paginator.get_page(request.query_params.get("page"))
        access.log(
            user=request.user, action="list", purpose=Purpose.CARE, patient_ids=[p.pk for p in page],
            query={k: str(v) for k, v in filters.validated_data.items() if k != "reason"},
            reason=filters.validated_data.get("reason", ""), request=request)
        body = {"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
                "results": PatientSerializer(page, many=True, context=_context(request, page)).data}
        if counts is not None:
            body["key_group_counts"] = counts
        return Response(body)


class PatientDetail(APIView):
    # A new lon/lat is a move (R23), decided above the register: cases.transfers routes
    # this view with its move detection (PatientDetail.as_view(move=…)).
    move = None

    def _get(self, request, pk, action="view"):
        return selectors.patient_get_for_user(user=request.user, pk=pk, action=action,
                                              reason=request.query_params.get("reason", ""),
                                              request=request)

    @extend_schema(responses=PatientSerializer)
    def get(self, request, pk: int):
        patient = self._get(request, pk)
        return Response(PatientSerializer(patient, context=_context(request, [patient])).data)

    @extend_schema(request=PatientUpdateSerializer, responses=PatientSerializer)
    def patch(self, request, pk: int):
        patient = self._get(request, pk, action="update")
        changes = PatientUpdateSerializer(
            data=request.data, context={"groups": selectors.patient_field_groups(request.user, patient),
                                        "current_status": patient.status})
        changes.is_valid(raise_exception=True)
        services.patient_update(user=request.user, patient=patient, data=dict(changes.validated_data),
                                move=self.move)
        patient.refresh_from_db()
        return Response(PatientSerializer(patient, context=_context(request, [patient])).data)


class FollowUpList(APIView):
    @extend_schema(responses=FollowUpSerializer(many=True))
    def get(self, request, pk: int):
        patient = selectors.patient_get_for_user(user=request.user, pk=pk, request=request)
        _require(request, patient, access.MEDICAL)
        return Response(FollowUpSerializer(patient.followups.all(), many=True).data)

    @extend_schema(request=FollowUpSerializer, responses={201: PatientSerializer})
    def post(self, request, pk: int):
        """Record a follow-up; R5–R10 are applied at once and the patient returned."""
        patient = selectors.patient_get_for_user(user=request.user, pk=pk, action="update", request=request)
        _require(request, patient, access.MEDICAL)
        entry = FollowUpSerializer(data=request.data)
        entry.is_valid(raise_exception=True)
        services.followup_record(user=request.user, patient=patient, **entry.validated_data)
        patient.refresh_from_db()
        return Response(PatientSerializer(patient, context=_context(request, [patient])).data,
                        status=status.HTTP_201_CREATED)


class PatientIdentifiers(APIView):
    @extend_schema(request=None, responses=IdentifiersSerializer)
    def post(self, request, pk: int):
        """The patient's ID and telephone numbers in full, of those the caller's roles on the
        patient may reveal: one logged action (R35). Every other answer masks them."""
        patient = selectors.patient_get_for_user(user=request.user, pk=pk, request=request)
        numbers = selectors.identifiers_reveal(user=request.user, patient=patient, request=request)
        if not numbers:
            raise PermissionDenied("your role does not reveal these numbers")
        return Response(IdentifiersSerializer(numbers).data)


class BBoxSerializer(serializers.Serializer):
    bbox = serializers.RegexField(r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$", required=False)


class PatientPoints(APIView):
    @extend_schema(parameters=[BBoxSerializer], responses=feature_collection("PatientPoint", {
        "patient_no": serializers.CharField(), "name": serializers.CharField(),
        "key_groups": serializers.ListField(child=serializers.CharField(), required=False)}))
    def get(self, request):
        """GeoJSON points of the user's patients (minimal properties), logged as a list (R35)."""
        params = BBoxSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        patients = selectors.patients_visible_to(request.user).filter(geom__isnull=False)
        if params.validated_data.get("bbox"):
            x0, y0, x1, y1 = (float(v) for v in params.validated_data["bbox"].split(","))
            patients = patients.filter(geom__intersects=Polygon.from_bbox((x0, y0, x1, y1)))
        rows = list(patients.only("patient_no", "name", "key_groups", *PLACEMENT)
                    .with_coordinates()[:POINTS_SHOWN])
        groups = selectors.field_groups_by_patient(access.scope_of(request.user), rows)
        access.log(user=request.user, action="list", purpose=Purpose.CARE, patient_ids=[p.pk for p in rows],
                   query={"points": params.validated_data.get("bbox", "all")}, request=request)
        features = [{
            "type": "Feature", "id": p.pk,
            "geometry": {"type": "Point", "coordinates": [round(p.geom_lon, 6), round(p.geom_lat, 6)]},
            "properties": {"patient_no": p.patient_no, "name": p.name,
                           **({"key_groups": p.key_groups} if access.RISK in groups[p.pk] else {})},
        } for p in rows]
        return Response({"type": "FeatureCollection", "features": features})


class PatientEvents(APIView):
    @extend_schema(responses=EventReportSerializer(many=True))
    def get(self, request, pk: int):
        patient = selectors.patient_get_for_user(user=request.user, pk=pk, request=request)
        context = {"groups": selectors.patient_field_groups(request.user, patient)}
        return Response(EventReportSerializer(patient.event_reports.all(), many=True, context=context).data)

    @extend_schema(request=EventReportSerializer, responses={201: EventReportSerializer})
    def post(self, request, pk: int):
        """Report an event (R28: due at the township group within 6 hours of discovery;
        R27 likely to leave: 24 hours). The answer says whether it was late."""
        patient = selectors.patient_get_for_user(user=request.user, pk=pk, action="update", request=request)
        entry = EventReportSerializer(data=request.data)
        entry.is_valid(raise_exception=True)
        event = services.event_report_record(user=request.user, patient=patient, **entry.validated_data)
        context = {"groups": selectors.patient_field_groups(request.user, patient)}
        return Response(EventReportSerializer(event, context=context).data, status=status.HTTP_201_CREATED)
