"""The root URLs: each app's pages under its prefix (in the user's language) and every
app's API endpoints under /api/ in one namespace."""

import django_rq.urls
from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, JsonResponse
from django.urls import URLPattern, include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView
from rest_framework.exceptions import NotFound
from rq.exceptions import NoSuchJobError

from cases.patients import urls as patient_urls
from cases.screening import urls as screening_urls
from cases.transfers import urls as transfer_urls
from gridmap import accounts
from gridmap import urls as grid_urls

api_urlpatterns = [
    *grid_urls.api_urlpatterns,
    *patient_urls.api_urlpatterns,
    *transfer_urls.api_urlpatterns,
    *screening_urls.api_urlpatterns,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]


def not_found(request, exception):
    """A path under /api/ that names nothing (/api/patients/abc/) is answered like every
    other API 404, in JSON as the schema says; pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(NotFound.default_detail)}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found


def superusers_only(patterns: list[URLPattern]) -> list[URLPattern]:
    """The same URLs, refused (403) to anyone but a superuser: the job dashboard shows job
    arguments and can delete or requeue jobs."""

    def guard(view):
        def guarded(request, *args, **kwargs):
            if not request.user.is_superuser:
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NoSuchJobError as exc:  # a job gone (or never there): not a server error
                raise Http404 from exc
            except ImproperlyConfigured as exc:  # a dashboard of a part not installed (rq-scheduler)
                raise Http404 from exc
        return guarded

    return [URLPattern(p.pattern, guard(p.callback), p.default_args, p.name) for p in patterns]


urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-rq/", include((superusers_only(django_rq.urls.urlpatterns), "django_rq"))),
    path("api/", include((api_urlpatterns, "api"))),
    path("tiles/", include((grid_urls.tile_urlpatterns + patient_urls.tile_urlpatterns, "tiles"))),
]
urlpatterns += i18n_patterns(
    path("", include(grid_urls)),
    path("patients/", include(patient_urls)),
    path("patients/", include(transfer_urls)),
    path("screening/", include(screening_urls)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", accounts.two_factor, name="two-factor"),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)
if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
