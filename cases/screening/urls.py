"""The screening pages (mounted under /screening/) and API endpoints (under /api/)."""

from django.urls import path

from cases.screening import api, views

app_name = "screening"
urlpatterns = [
    path("", views.coverage_map, name="map"),
    path("visit/", views.visit_form, name="visit"),
    path("suspected/", views.suspected_cases, name="suspected"),
    path("<code:code>/mop-up.csv", views.mop_up_download, name="mop-up"),
]
api_urlpatterns = [
    path("campaigns/", api.CampaignList.as_view(), name="campaigns"),
    path("campaigns/gaps/", api.CadenceGaps.as_view(), name="cadence-gaps"),
    path("campaigns/<code:code>/coverage/", api.CampaignCoverage.as_view(), name="campaign-coverage"),
    path("campaigns/<code:code>/hexagons/", api.CampaignHexagons.as_view(), name="campaign-hexagons"),
    path("campaigns/<code:code>/visits/", api.CampaignVisits.as_view(), name="campaign-visits"),
]
