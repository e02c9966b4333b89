"""The transfers' API: open moves as arrows on the map (R24). The patient endpoint's moves
are routed in cases.transfers.urls."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.transfers import selectors
from gridmap import access
from gridmap.models import Purpose
from gridmap.schema import feature_collection

ARROWS_SHOWN = 2000


class TransferArrows(APIView):
    @extend_schema(responses=feature_collection("TransferArrow", {
        "patient_no": serializers.CharField(), "kind": serializers.CharField(),
        "kind_label": serializers.CharField(), "state": serializers.CharField(),
        "state_label": serializers.CharField(), "late": serializers.BooleanField()}))
    def get(self, request):
        """Open moves of the user's patients as GeoJSON lines, origin to destination (R24)."""
        items = list(selectors.open_transfers_of_visible_patients(request.user)[:ARROWS_SHOWN])
        now = timezone.now()
        features = []
        for t in items:
            due = selectors.next_deadline(t)
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
        access.log(user=request.user, action="list", purpose=Purpose.TRANSFER,
                   patient_ids=sorted({t.patient_id for t in items}), query={"transfer_arrows": True},
                   request=request)
        return Response({"type": "FeatureCollection", "features": features})
