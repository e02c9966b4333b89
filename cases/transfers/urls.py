"""Pages of moves and transfers (mounted under /patients/) and their API endpoints."""

from django.urls import path

from cases.patients.api import PatientDetail
from cases.transfers import api, services, views

app_name = "transfers"
urlpatterns = [
    path("<int:pk>/residence/", views.residence_change, name="residence"),
    path("transfers/", views.transfer_list, name="transfers"),
    path("transfers/<int:pk>/letter.docx", views.transfer_letter, name="transfer-letter"),
    path("transfers/<int:pk>/<str:action>/", views.transfer_action, name="transfer-action"),
]
api_urlpatterns = [
    # The register's record endpoint, whose new lon/lat is a move (R23).
    path("patients/<int:pk>/", PatientDetail.as_view(move=services.patient_move), name="patient-detail"),
    path("transfers/arrows/", api.TransferArrows.as_view(), name="transfer-arrows"),
]
