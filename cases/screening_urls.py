from django.urls import path

from cases import screening_views

app_name = "screening"
urlpatterns = [
    path("", screening_views.coverage_map, name="map"),
    path("visit/", screening_views.visit_form, name="visit"),
    path("suspected/", screening_views.suspected_cases, name="suspected"),
    path("<str:code>/mop-up.csv", screening_views.mop_up_download, name="mop-up"),
]
