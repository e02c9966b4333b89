"""The register's pages (mounted under /patients/) and API endpoints (under /api/).

/api/patients/<pk>/ (GET, PATCH) is routed by cases.transfers.urls, which hands the view
its move detection: a new lon/lat there is a move (R23)."""

from django.urls import path

from cases.patients import api, views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="patients"),
    path("<int:pk>/", views.patient_detail, name="patient"),
    path("<int:pk>/events/", views.event_report, name="event-report"),
    path("<int:pk>/identifiers/", views.identifiers_reveal, name="identifiers"),
    path("ledgers/<str:kind>.xlsx", views.ledger_download, name="ledger"),
    path("break-glass/", views.break_glass, name="break-glass"),
    path("audit/", views.audit_log, name="audit"),
]
api_urlpatterns = [
    path("patients/", api.PatientList.as_view(), name="patients"),
    path("patients/points/", api.PatientPoints.as_view(), name="patient-points"),
    path("patients/<int:pk>/followups/", api.FollowUpList.as_view(), name="patient-followups"),
    path("patients/<int:pk>/events/", api.PatientEvents.as_view(), name="patient-events"),
    path("patients/<int:pk>/identifiers/", api.PatientIdentifiers.as_view(), name="patient-identifiers"),
]
# Mounted under /tiles/ beside the unit tiles, outside the language prefix.
tile_urlpatterns = [
    path("patients/<int:z>/<int:x>/<int:y>.pbf", views.patient_tile, name="patient-tile"),
]
