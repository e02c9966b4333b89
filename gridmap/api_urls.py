from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from cases import api as cases_api
from cases import screening_api
from gridmap import api

app_name = "api"
urlpatterns = [
    path("units/", api.units_geojson, name="units"),
    path("units/<str:code>/", api.unit_detail, name="unit-detail"),
    path("patients/", cases_api.PatientList.as_view(), name="patients"),
    path("patients/points/", cases_api.PatientPoints.as_view(), name="patient-points"),
    path("patients/<int:pk>/", cases_api.PatientDetail.as_view(), name="patient-detail"),
    path("patients/<int:pk>/followups/", cases_api.FollowUpList.as_view(), name="patient-followups"),
    path("patients/<int:pk>/events/", cases_api.PatientEvents.as_view(), name="patient-events"),
    path("transfers/arrows/", cases_api.TransferArrows.as_view(), name="transfer-arrows"),
    path("campaigns/", screening_api.CampaignList.as_view(), name="campaigns"),
    path("campaigns/gaps/", screening_api.CadenceGaps.as_view(), name="cadence-gaps"),
    path("campaigns/<str:code>/coverage/", screening_api.CampaignCoverage.as_view(),
         name="campaign-coverage"),
    path("campaigns/<str:code>/hexagons/", screening_api.CampaignHexagons.as_view(),
         name="campaign-hexagons"),
    path("campaigns/<str:code>/visits/", screening_api.CampaignVisits.as_view(), name="campaign-visits"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]
