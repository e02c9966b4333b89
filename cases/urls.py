from django.urls import path

from cases import api, views

app_name = "cases"
urlpatterns = [
    path("", views.patient_list, name="patients"),
    path("<int:pk>/", views.patient_detail, name="patient"),
    path("<int:pk>/events/", views.event_report, name="event-report"),
    path("<int:pk>/residence/", views.residence_change, name="residence"),
    path("ledgers/<str:kind>.xlsx", views.ledger_download, name="ledger"),
    path("transfers/", views.transfer_list, name="transfers"),
    path("transfers/<int:pk>/letter.docx", views.transfer_letter, name="transfer-letter"),
    path("transfers/<int:pk>/<str:action>/", views.transfer_action, name="transfer-action"),
]
api_urlpatterns = [
    path("patients/", api.PatientList.as_view(), name="patients"),
    path("patients/points/", api.PatientPoints.as_view(), name="patient-points"),
    path("patients/<int:pk>/", api.PatientDetail.as_view(), name="patient-detail"),
    path("patients/<int:pk>/followups/", api.FollowUpList.as_view(), name="patient-followups"),
    path("patients/<int:pk>/events/", api.PatientEvents.as_view(), name="patient-events"),
    path("transfers/arrows/", api.TransferArrows.as_view(), name="transfer-arrows"),
]
