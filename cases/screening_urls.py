from django.urls import path

from cases import screening_views

app_name = "screening"
urlpatterns = [
    path("", screening_views.coverage_map, name="map"),
    path("<str:code>/mop-up.csv", screening_views.mop_up_download, name="mop-up"),
]
