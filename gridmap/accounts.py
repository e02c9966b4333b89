"""Signing in: the second factor (a TOTP authenticator app, django-otp) that administrators
and the county office give after their password, and the page a locked-out person sees
(django-axes). docs/security.md, "Accounts"."""

import base64

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from gridmap.security import needs_second_factor


class TokenForm(forms.Form):
    token = forms.RegexField(label=_("Six-digit code"), regex=r"^\d{6}$", max_length=6,
                             error_messages={"invalid": _("Enter the six digits your app shows.")},
                             widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                           "autocomplete": "one-time-code",
                                                           "autofocus": True}))


def _qr_data_uri(text: str) -> str:
    """The enrolment QR code as an SVG data URI (allowed by the page's img-src)."""
    svg = segno.make(text, error="m").svg_inline(scale=5)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return "/"
    return target


@login_required
def two_factor(request):
    """Give the code of the authenticator app; the first time, add the app by its QR code."""
    user = request.user
    if not needs_second_factor(user) or user.is_verified():
        return redirect(_next(request))
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    enrolling = device is None
    if enrolling:  # one pending device per person, until its first code confirms it
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or \
            TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(_next(request))
        form.add_error("token", _("Wrong or expired code, or too many tries: wait a moment and "
                                  "try the code your app shows now."))
    context = {"form": form, "enrolling": enrolling, "next": _next(request)}
    if enrolling:
        context["qr"] = _qr_data_uri(device.config_url)
        context["secret"] = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "registration/two_factor.html", context)


def locked_out(request, credentials=None, *args, **kwargs):
    """django-axes: too many failed sign-ins for this username (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked.html", {"minutes": minutes}, status=429)
