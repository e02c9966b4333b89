"""Accounts (probe finding 6; issue 10 Deliver 4): sign-in is throttled, passwords are
Django's full validators with 12 characters at least, sessions end with the browser, after
idling and after a working day, and administrators and the county office give a TOTP
second factor, enrolled on first sign-in."""

import base64
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from gridmap.models import GridUnit, Role, StaffAssignment
from gridmap.security import SEEN, SINCE
from tests.conftest import COUNTY

pytestmark = pytest.mark.django_db
PASSWORD = "moss-lantern-river-42"


def sign_in_form(client, username, password, next_url="/"):
    return client.post(f"/login/?next={next_url}", {"username": username, "password": password,
                                                   "next": next_url})


@pytest.fixture
def worker(register):
    user = register["grid_a"]
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def county_office(register):
    user = register["office"]  # the township office, made county office as well
    StaffAssignment.objects.create(user=user, role=Role.COUNTY_OFFICE,
                                   unit=GridUnit.objects.get(code=COUNTY[0]))
    user.set_password(PASSWORD)
    user.save()
    return user


def code_for(device: TOTPDevice) -> str:
    """What the person's authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"


# --- Throttling ---------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_username_even_against_the_right_one(client, worker):
    for _ in range(4):
        assert sign_in_form(client, "grid_a", "wrong-password-000").status_code == 200
    assert sign_in_form(client, "grid_a", "wrong-password-000").status_code == 429  # the fifth
    response = sign_in_form(client, "grid_a", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "15" in response.content.decode()  # says for how long
    # From another address too: the username is locked, not the machine.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert sign_in_form(other, "grid_a", PASSWORD).status_code == 429


def test_the_lock_lifts_after_the_cooling_off_time(client, worker):
    for _ in range(5):
        sign_in_form(client, "grid_a", "wrong-password-000")
    AccessAttempt.objects.update(attempt_time=time_ago(minutes=16))
    response = sign_in_form(client, "grid_a", PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(worker.pk)


def test_one_address_trying_many_usernames_is_locked_too(client, register):
    for name in ["grid_a", "grid_b", "police", "health", "committee"]:
        sign_in_form(client, name, "Spring-2026-password")
    assert sign_in_form(client, "village_doc", "Spring-2026-password").status_code == 429


def time_ago(**delta):
    from django.utils import timezone

    return timezone.now() - timedelta(**delta)


# --- Passwords ----------------------------------------------------------------------------------

@pytest.mark.parametrize("weak", ["12345678", "123456789012", "password1234", "gridcare", "grid_a-2026"])
def test_weak_passwords_are_refused(worker, weak):
    with pytest.raises(ValidationError):
        validate_password(weak, user=worker)


def test_a_long_uncommon_password_is_accepted(worker):
    validate_password(PASSWORD, user=worker)


def test_the_password_change_page_applies_the_validators(client, worker):
    sign_in_form(client, "grid_a", PASSWORD)
    from django.contrib.auth.forms import PasswordChangeForm

    form = PasswordChangeForm(worker, {"old_password": PASSWORD, "new_password1": "12345678",
                                       "new_password2": "12345678"})
    assert not form.is_valid() and len(form.errors["new_password2"]) >= 2


# --- Sessions -----------------------------------------------------------------------------------

def test_the_session_cookie_ends_with_the_browser(client, worker):
    response = sign_in_form(client, "grid_a", PASSWORD)
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and not cookie["expires"] and not cookie["max-age"]


def test_thirty_idle_minutes_sign_a_person_out(client, worker):
    sign_in_form(client, "grid_a", PASSWORD)
    assert client.get(reverse("patients:patients")).status_code == 200
    session = client.session
    session[SEEN] = int(time.time()) - 31 * 60
    session.save()
    response = client.get(reverse("patients:patients"))
    assert response.status_code == 302 and "/login/" in response.url
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("api:patients")).status_code == 403


def test_activity_keeps_a_session_alive_but_not_past_a_working_day(client, worker):
    sign_in_form(client, "grid_a", PASSWORD)
    session = client.session
    session[SEEN] = int(time.time()) - 29 * 60
    session.save()
    assert client.get(reverse("patients:patients")).status_code == 200
    assert time.time() - client.session[SEEN] < 5  # the request counted as activity
    session = client.session
    session[SINCE] = int(time.time()) - 11 * 3600
    session.save()
    assert client.get(reverse("patients:patients")).status_code == 302


# --- Second factor ------------------------------------------------------------------------------

def test_the_county_office_enrols_an_authenticator_at_first_sign_in(client, county_office):
    response = sign_in_form(client, "office", PASSWORD, next_url="/patients/")
    assert response.status_code == 302
    page = client.get(response.url, follow=True)
    assert page.redirect_chain[-1][0].startswith(reverse("two-factor"))
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code
    device = TOTPDevice.objects.get(user=county_office, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert secret in html  # the key to type in by hand
    # Until then, nothing but the two-factor page.
    assert client.get(reverse("patients:patients")).status_code == 302
    assert client.get(reverse("api:patients")).status_code == 403
    bad = client.post(reverse("two-factor"), {"token": "12345", "next": "/patients/"})
    assert bad.status_code == 200 and bad.context["form"].errors  # not six digits
    done = client.post(reverse("two-factor"), {"token": code_for(device), "next": "/patients/"})
    assert done.status_code == 302 and done.url == "/patients/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("api:patients")).status_code == 200


def test_the_next_sign_in_asks_for_the_code_and_shows_no_key(client, county_office):
    device = TOTPDevice.objects.create(user=county_office, name="authenticator", confirmed=True)
    sign_in_form(client, "office", PASSWORD)
    page = client.get(reverse("two-factor"))
    html = page.content.decode()
    assert "data:image/svg+xml" not in html
    assert base64.b32encode(device.bin_key).decode().rstrip("=") not in html
    assert client.post(reverse("two-factor"), {"token": code_for(device)}).status_code == 302
    assert client.get(reverse("patients:patients")).status_code == 200


def test_repeated_wrong_codes_are_throttled(client, county_office):
    device = TOTPDevice.objects.create(user=county_office, name="authenticator", confirmed=True)
    sign_in_form(client, "office", PASSWORD)
    for _ in range(3):
        client.post(reverse("two-factor"), {"token": "000000"})
    refused = client.post(reverse("two-factor"), {"token": code_for(device)})
    assert refused.status_code == 200 and refused.context["form"].errors  # must wait now


def test_administrators_give_a_second_factor_and_field_staff_do_not(client, worker, admin_user):
    sign_in_form(client, "grid_a", PASSWORD)
    assert client.get(reverse("patients:patients")).status_code == 200  # no second factor
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get("/admin/").url.startswith(reverse("two-factor"))
    assert admin.get("/django-rq/").status_code == 403


def test_the_two_factor_page_sends_nowhere_else(client, county_office):
    device = TOTPDevice.objects.create(user=county_office, name="authenticator", confirmed=True)
    sign_in_form(client, "office", PASSWORD)
    response = client.post(reverse("two-factor"), {"token": code_for(device),
                                                   "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/"
