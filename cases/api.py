"""The patient API (DRF). Every patient comes through cases.selectors (scope, R22) and
every read, search and change is logged (R35). Invalid input is a 400 with field errors."""

from django.core.paginator import Paginator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors, services
from cases.serializers import (
    EventReportSerializer,
    FollowUpSerializer,
    PatientFilterSerializer,
    PatientSerializer,
    PatientUpdateSerializer,
    visible_fields,
)

PAGE_SIZE = 50


def _context(request, patients) -> dict:
    return {"visible": visible_fields(request.user), "teams": selectors.teams_for(list(patients)),
            "as_of": services.today()}


def _require(request, group: str) -> None:
    if group not in selectors.field_groups_for(request.user):
        raise PermissionDenied("your role does not give access to these fields")


class PatientList(APIView):
    @extend_schema(parameters=[PatientFilterSerializer, OpenApiParameter("page", int)],
                   responses=PatientSerializer(many=True))
    def get(self, request):
        """Patients in the user's scope, filtered; counts per key group (R13–R19)."""
        filters = PatientFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        groups = selectors.field_groups_for(request.user)
        hidden = {name: ["your role cannot filter on this"] for name, group in selectors.FILTER_NEEDS.items()
                  if name in filters.validated_data and group not in groups}
        if hidden:
            raise ValidationError(hidden)
        as_of = services.today()
        patients = selectors.patients_filtered(request.user, filters.validated_data, as_of=as_of)
        page = Paginator(patients.select_related(
            "guardian", "county", "township", "village", "grid", "micro_grid"), PAGE_SIZE
        ).get_page(request.query_params.get("page"))
        services.access_log_record(
            user=request.user, action="list", patient_ids=[p.pk for p in page],
            query={k: str(v) for k, v in filters.validated_data.items() if k != "reason"},
            reason=filters.validated_data.get("reason", ""))
        body = {"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
                "results": PatientSerializer(page, many=True, context=_context(request, page)).data}
        if selectors.RISK in groups:
            body["key_group_counts"] = selectors.key_group_counts(patients)
        return Response(body)


class PatientDetail(APIView):
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
            data=request.data, context={"groups": selectors.field_groups_for(request.user)})
        changes.is_valid(raise_exception=True)
        services.patient_update(user=request.user, patient=patient, data=dict(changes.validated_data))
        patient.refresh_from_db()
        return Response(PatientSerializer(patient, context=_context(request, [patient])).data)


class FollowUpList(APIView):
    @extend_schema(responses=FollowUpSerializer(many=True))
    def get(self, request, pk: int):
        _require(request, selectors.MEDICAL)
        patient = selectors.patient_get_for_user(user=request.user, pk=pk)
        return Response(FollowUpSerializer(patient.followups.all(), many=True).data)

    @extend_schema(request=FollowUpSerializer, responses=PatientSerializer)
    def post(self, request, pk: int):
        """Record a follow-up; R5–R10 are applied at once and the patient returned."""
        _require(request, selectors.MEDICAL)
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
        from django.contrib.gis.geos import Polygon

        params = BBoxSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        patients = selectors.patients_visible_to(request.user).filter(geom__isnull=False)
        if params.validated_data.get("bbox"):
            x0, y0, x1, y1 = (float(v) for v in params.validated_data["bbox"].split(","))
            patients = patients.filter(geom__intersects=Polygon.from_bbox((x0, y0, x1, y1)))
        risk = selectors.RISK in selectors.field_groups_for(request.user)
        rows = list(patients.values_list("pk", "patient_no", "name", "geom", "key_groups")[:5000])
        services.access_log_record(user=request.user, action="list", patient_ids=[r[0] for r in rows],
                                   query={"points": params.validated_data.get("bbox", "all")})
        features = [{
            "type": "Feature", "id": pk,
            "geometry": {"type": "Point", "coordinates": [round(geom.x, 6), round(geom.y, 6)]},
            "properties": {"patient_no": no, "name": name, **({"key_groups": groups} if risk else {})},
        } for pk, no, name, geom, groups in rows]
        return Response({"type": "FeatureCollection", "features": features})


class TransferArrows(APIView):
    def get(self, request):
        """Open moves of the user's patients as GeoJSON lines, origin to destination (R24)."""
        from django.utils import timezone

        from cases import transfers
        from cases.models import Transfer

        visible = selectors.patients_visible_to(request.user)
        items = (Transfer.objects.filter(state__in=Transfer.OPEN_STATES, patient__in=visible,
                                         from_point__isnull=False, to_point__isnull=False)
                 .select_related("patient")[:2000])
        now = timezone.now()
        features = []
        for t in items:
            due = transfers.next_deadline(t)
            features.append({
                "type": "Feature", "id": t.pk,
                "geometry": {"type": "LineString", "coordinates": [
                    [round(t.from_point.x, 6), round(t.from_point.y, 6)],
                    [round(t.to_point.x, 6), round(t.to_point.y, 6)]]},
                "properties": {"patient_no": t.patient.patient_no, "kind": t.kind,
                               "kind_label": t.get_kind_display(), "state": t.state,
                               "state_label": t.get_state_display(),
                               "late": due is not None and due < now},
            })
        services.access_log_record(user=request.user, action="list",
                                   patient_ids=sorted({t.patient_id for t in items}),
                                   query={"transfer_arrows": True})
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
