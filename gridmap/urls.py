"""The grid map's page and its API endpoints (mounted by config.urls)."""

from django.urls import path

from gridmap import api, views

app_name = "gridmap"
urlpatterns = [
    path("", views.map_page, name="map"),
]
api_urlpatterns = [
    path("units/", api.units_geojson, name="units"),
    path("units/<code:code>/", api.unit_detail, name="unit-detail"),
]
