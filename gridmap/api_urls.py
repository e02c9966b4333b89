from django.urls import path

from gridmap import api

app_name = "api"
urlpatterns = [
    path("units/", api.units_geojson, name="units"),
    path("units/<str:code>/", api.unit_detail, name="unit-detail"),
]
