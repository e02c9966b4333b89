"""The root URLs: each app's pages under its prefix (in the user's language) and every
app's API endpoints under /api/ in one namespace."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from cases.patients import urls as patient_urls
from cases.screening import urls as screening_urls
from cases.transfers import urls as transfer_urls
from gridmap import urls as grid_urls

api_urlpatterns = [
    *grid_urls.api_urlpatterns,
    *patient_urls.api_urlpatterns,
    *transfer_urls.api_urlpatterns,
    *screening_urls.api_urlpatterns,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-rq/", include("django_rq.urls")),
    path("api/", include((api_urlpatterns, "api"))),
]
urlpatterns += i18n_patterns(
    path("", include(grid_urls)),
    path("patients/", include(patient_urls)),
    path("patients/", include(transfer_urls)),
    path("screening/", include(screening_urls)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)
if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
