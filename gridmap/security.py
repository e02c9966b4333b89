"""Request-level protections that hold for every page, API answer and download
(docs/security.md). Who may see which rows and fields is decided in gridmap.access; this
module keeps what was shown from being kept anywhere it should not be."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _

from gridmap import access


class NoStoreMiddleware:
    """Nothing the application answers is stored by a browser or a proxy: patient pages,
    API answers and exports hold personal and medical data (seed 000 §三(二)). Static
    files are served before this (WhiteNoise) and stay cacheable, and so do the unit tiles
    (geography and household counts: a response marked `holds_no_personal_data`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "holds_no_personal_data", False):  # a unit tile: its own headers
            return response
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        response.headers.setdefault("Pragma", "no-cache")
        return response


# --- Sessions: idle timeout and a working day at most (probe finding 6) ---------------------

SEEN, SINCE = "gridcare_seen", "gridcare_since"  # session keys: last request, sign-in (epoch s)
TOUCH_EVERY = 60  # seconds: the session is saved at most once a minute for being used


class ScopeCacheMiddleware:
    """A person's scope (gridmap.access.scope_of) is read once per request, not once per
    selector that asks for it: a patient list asks five times (probe finding 12)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with access.scopes_cached():
            return self.get_response(request)


class IdleTimeoutMiddleware:
    """Sign a person out after GRIDCARE_IDLE_MINUTES without a request, and after
    SESSION_COOKIE_AGE in all; the request then goes on as an anonymous one (a page asks
    to sign in again, the API answers 403). The cookie itself ends with the browser
    (SESSION_EXPIRE_AT_BROWSER_CLOSE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(SEEN)
            since = request.session.setdefault(SINCE, now)
            idle = seen is not None and now - seen > settings.GRIDCARE_IDLE_MINUTES * 60
            if idle or now - since > settings.SESSION_COOKIE_AGE:
                logout(request)
                messages.info(request, _("You were signed out after a while without activity. "
                                         "Please sign in again."))
            elif seen is None or now - seen >= TOUCH_EVERY:
                request.session[SEEN] = now
        return self.get_response(request)


# --- A second factor for administrators and the county office (probe finding 6) -------------

# Pages a person who still owes their second factor may open.
SECOND_FACTOR_FREE = {"two-factor", "login", "logout", "set_language", "admin:login", "admin:logout",
                      "javascript-catalog"}


def needs_second_factor(user) -> bool:
    """Administrators (staff, superusers) and holders of the roles in
    GRIDCARE_SECOND_FACTOR_ROLES (the county office: it sees every patient of the county)."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    # From the person's scope, which the page reads anyway (once per request).
    wanted = set(settings.GRIDCARE_SECOND_FACTOR_ROLES)
    return any(held & wanted for held in access.scope_of(user).roles.values())


class SecondFactorMiddleware:
    """After the password, a person who needs a second factor and has not given it this
    session sees only the two-factor page (pages redirect there; the API answers 403)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in SECOND_FACTOR_FREE:
            return None
        if not needs_second_factor(user):
            return None
        if request.path.startswith(("/api/", "/django-rq/", "/tiles/")):
            return JsonResponse({"detail": str(_("A second factor is required: sign in on the "
                                                 "two-factor page first."))}, status=403)
        return redirect(f"{reverse('two-factor')}?{urlencode({'next': request.get_full_path()})}")


# --- Refusals are logged (probe finding 11) ---------------------------------------------------

class RefusalLogMiddleware:
    """Every 403 the application answers a signed-in person (a page, an API call, the
    administration, the job dashboard) is an access-log row: what was asked and refused.
    Patients out of a person's units answer 404 and are logged where that is decided
    (cases.patients.selectors.patient_get_for_user); failed sign-ins in `sign_in_failed`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403 and request.user.is_authenticated:
            access.log_denied(user=request.user, what=f"{request.method} refused (403)",
                              query={"method": request.method}, request=request)
        return response


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    """A wrong password (or a locked account) is a refusal too, under the name tried."""
    access.log_denied(user=None, username=str(credentials.get("username", ""))[:150],
                      what="sign-in refused", request=request)
