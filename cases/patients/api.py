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
    EventReportSerializer,
    FollowUpSerializer,
    PatientFilterSerializer,
    PatientSerializer,
    PatientUpdateSerializer,
    visible_fields,
)
from gridmap import access
from gridmap.calendar import local_today

PAGE_SIZE = 50


def _context(request, patients) -> dict:
    return {"visible": visible_fields(request.user), "teams": selectors.teams_for(list(patients)),
            "as_of": local_today()}


def _require(request, group: str) -> None:
    if group not in access.field_groups(request.user):
        raise PermissionDenied("your role does not give access to these fields")


class PatientList(APIView):
    @extend_schema(parameters=[PatientFilterSerializer, OpenApiParameter("page", int)],
                   responses=PatientSerializer(many=True))
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
        page = Paginator(patients.select_related(
            "guardian", "county", "township", "village", "grid", "micro_grid"), PAGE_SIZE
        ).get_page(request.query_params.get("page"))
        access.log(
            user=request.user, action="list", patient_ids=[p.pk for p in page],
            query={k: str(v) for k, v in filters.validated_data.items() if k != "reason"},
            reason=filters.validated_data.get("reason", ""))
        body = {"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
                "results": PatientSerializer(page, many=True, context=_context(request, page)).data}
        if access.RISK in groups:
            body["key_group_counts"] = selectors.key_group_counts(patients)
        return Response(body)


class PatientDetail(APIView):
    # A new lon/lat is a move (R23), decided above the register: cases.transfers routes
    # this view with its move detection (PatientDetail.as_view(move=…)).
    move = None

    def _get(self, request, pk, action="view"):
        return selectors.patient_get_for_user(user=request.user, pk=pk, action=action,
                                              reason=request.query_params.get("reason", ""))

    @extend_schema(responses=PatientSerializer)
    def get(self, request, pk: int):
        patient = self._get(request, pk)
        return Response(PatientSerializer(patient, context=_context(request, [patient])).data)

    @extend_schema(request=PatientUpdateSerializer, responses=PatientSerializer)
    def patch(self, request, pk: int):
        patient = self._get(request, pk, action="update")
        changes = PatientUpdateSerializer(
            data=request.data, context={"groups": access.field_groups(request.user)})
        changes.is_valid(raise_exception=True)
        services.patient_update(user=request.user, patient=patient, data=dict(changes.validated_data),
                                move=self.move)
        patient.refresh_from_db()
        return Response(PatientSerializer(patient, context=_context(request, [patient])).data)


class FollowUpList(APIView):
    @extend_schema(responses=FollowUpSerializer(many=True))
    def get(self, request, pk: int):
        _require(request, access.MEDICAL)
        patient = selectors.patient_get_for_user(user=request.user, pk=pk)
        return Response(FollowUpSerializer(patient.followups.all(), many=True).data)

    @extend_schema(request=FollowUpSerializer, responses=PatientSerializer)
    def post(self, request, pk: int):
        """Record a follow-up; R5–R10 are applied at once and the patient returned."""
        _require(request, access.MEDICAL)
        patient = selectors.patient_get_for_user(user=request.user, pk=pk, action="update")
        entry = FollowUpSerializer(data=request.data)
        entry.is_valid(raise_exception=True)
        services.followup_record(user=request.user, patient=patient, **entry.validated_data)
        patient.refresh_from_db()
        return Response(PatientSerializer(patient, context=_context(request, [patient])).data,
                        status=status.HTTP_201_CREATED)


class BBoxSerializer(serializers.Serializer):
    bbox = serializers.RegexField(r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$", required=False)


class PatientPoints(APIView):
    @extend_schema(parameters=[BBoxSerializer])
    def get(self, request):
        """GeoJSON points of the user's patients (minimal properties), logged as a list (R35)."""
        params = BBoxSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        patients = selectors.patients_visible_to(request.user).filter(geom__isnull=False)
        if params.validated_data.get("bbox"):
            x0, y0, x1, y1 = (float(v) for v in params.validated_data["bbox"].split(","))
            patients = patients.filter(geom__intersects=Polygon.from_bbox((x0, y0, x1, y1)))
        risk = access.RISK in access.field_groups(request.user)
        rows = list(patients.values_list("pk", "patient_no", "name", "geom", "key_groups")[:5000])
        access.log(user=request.user, action="list", patient_ids=[r[0] for r in rows],
                                   query={"points": params.validated_data.get("bbox", "all")})
        features = [{
            "type": "Feature", "id": pk,
            "geometry": {"type": "Point", "coordinates": [round(geom.x, 6), round(geom.y, 6)]},
            "properties": {"patient_no": no, "name": name, **({"key_groups": groups} if risk else {})},
        } for pk, no, name, geom, groups in rows]
        return Response({"type": "FeatureCollection", "features": features})


class PatientEvents(APIView):
    @extend_schema(responses=EventReportSerializer(many=True))
    def get(self, request, pk: int):
        patient = selectors.patient_get_for_user(user=request.user, pk=pk)
        return Response(EventReportSerializer(patient.event_reports.all(), many=True).data)

    @extend_schema(request=EventReportSerializer, responses=EventReportSerializer)
    def post(self, request, pk: int):
        """Report an event (R28: due at the township group within 6 hours of discovery;
        R27 likely to leave: 24 hours). The answer says whether it was late."""
        patient = selectors.patient_get_for_user(user=request.user, pk=pk, action="update")
        entry = EventReportSerializer(data=request.data)
        entry.is_valid(raise_exception=True)
        event = services.event_report_record(user=request.user, patient=patient, **entry.validated_data)
        return Response(EventReportSerializer(event).data, status=status.HTTP_201_CREATED)
