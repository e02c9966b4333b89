"""The grid map's page and its API endpoints (mounted by config.urls)."""

from django.urls import path

from gridmap import api, views

app_name = "gridmap"
urlpatterns = [
    path("", views.map_page, name="map"),
]
# Outside the language prefix: a tile is the same in every language.
tile_urlpatterns = [
    path("units/<int:z>/<int:x>/<int:y>.pbf", views.unit_tile, name="unit-tile"),
]
api_urlpatterns = [
    path("units/", api.units_geojson, name="units"),
    path("units/<code:code>/", api.unit_detail, name="unit-detail"),
]
