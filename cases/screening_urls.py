from django.urls import path

from cases import screening_api, screening_views

app_name = "screening"
urlpatterns = [
    path("", screening_views.coverage_map, name="map"),
    path("visit/", screening_views.visit_form, name="visit"),
    path("suspected/", screening_views.suspected_cases, name="suspected"),
    path("<str:code>/mop-up.csv", screening_views.mop_up_download, name="mop-up"),
]
api_urlpatterns = [
    path("campaigns/", screening_api.CampaignList.as_view(), name="campaigns"),
    path("campaigns/gaps/", screening_api.CadenceGaps.as_view(), name="cadence-gaps"),
    path("campaigns/<str:code>/coverage/", screening_api.CampaignCoverage.as_view(),
         name="campaign-coverage"),
    path("campaigns/<str:code>/hexagons/", screening_api.CampaignHexagons.as_view(),
         name="campaign-hexagons"),
    path("campaigns/<str:code>/visits/", screening_api.CampaignVisits.as_view(), name="campaign-visits"),
]
