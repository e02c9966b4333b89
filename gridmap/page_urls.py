from django.urls import path

from gridmap import views

app_name = "gridmap"
urlpatterns = [
    path("", views.map_page, name="map"),
]
