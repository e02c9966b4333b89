"""Headers and deployment checks (probe finding 11; issue 10 Deliver 4): a Content-Security-
Policy with no inline script but the page's own nonce, nothing stored by a browser or a
proxy, HTTPS settings from the environment, `check --deploy` clean, the API schema for
signed-in users only."""

import base64
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

from cases.patients.models import Patient
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

KEY = base64.b64encode(secrets.token_bytes(32)).decode()
PRODUCTION = {"GRIDCARE_HTTPS": "true", "GRIDCARE_ALLOWED_HOSTS": "gridcare.example.cn",
              "GRIDCARE_DEBUG": "false", "GRIDCARE_FIELD_KEYS": f"k1:{KEY}", "GRIDCARE_INDEX_KEYS": f"i1:{KEY}"}


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE belongs to this test process only.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR,
                          env={**base, "GRIDCARE_SECRET_KEY": secrets.token_urlsafe(60), **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_under_production_settings():
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNINGS" not in done.stderr + done.stdout


def test_check_deploy_names_what_plain_http_lacks():
    done = manage("check", "--deploy", env={"GRIDCARE_HTTPS": "false"})
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016", "gridmap.W001"):
        assert warning in done.stderr + done.stdout


def test_https_hsts_and_cookies_come_from_the_environment():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
            "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}

    def read(**extra):
        return subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env={**env, **extra},
                              capture_output=True, text=True, timeout=60, check=True).stdout.split(maxsplit=5)

    assert read(GRIDCARE_HTTPS="true", GRIDCARE_BEHIND_PROXY="true") == [
        "True", "31536000", "True", "True", "True", "('HTTP_X_FORWARDED_PROTO', 'https')\n"]
    assert read(GRIDCARE_HTTPS="true", GRIDCARE_HSTS_SECONDS="600", GRIDCARE_SSL_REDIRECT="false")[:2] == [
        "False", "600"]
    assert read(GRIDCARE_HTTPS="false")[:5] == ["False", "0", "True", "False", "False"]


def test_plain_http_is_redirected_and_hsts_sent_when_enabled(client, settings):
    settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS = True, 31536000
    response = client.get("/login/")
    assert response.status_code == 301 and response.url.startswith("https://")
    response = client.get("/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def login(client, register, name):
    client.force_login(register[name])
    return client


def scripts_without_src(html: str) -> list[str]:
    return [tag for tag in re.findall(r"<script\b[^>]*>", html)
            if "src=" not in tag and 'type="application/json"' not in tag]


@pytest.mark.parametrize("name", ["map", "patient", "coverage", "patients", "transfers", "admin"])
def test_every_inline_script_carries_the_nonce_of_a_strict_policy(client, register, name):
    pages = {"map": reverse("gridmap:map"), "patients": reverse("patients:patients"),
             "patient": reverse("patients:patient", args=[Patient.objects.get(patient_no="P01").pk]),
             "coverage": reverse("screening:map"), "transfers": reverse("transfers:transfers"),
             "admin": reverse("admin:gridmap_gridunit_change", args=[1])}
    user = register["health"]
    if name == "admin":
        user.is_staff = user.is_superuser = True
        user.save()
        from gridmap.models import GridUnit

        pages["admin"] = reverse("admin:gridmap_gridunit_change", args=[GridUnit.objects.first().pk])
    sign_in(client, user)
    response = client.get(pages[name])
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    html = response.content.decode()
    inline = scripts_without_src(html)
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"])
    if inline:
        assert nonce, policy
        assert all(f'nonce="{nonce.group(1)}"' in tag for tag in inline), inline
    assert not re.search(r"\son(click|load|change|submit|input)=", html)  # no inline handlers


def test_nothing_personal_is_stored_by_a_browser_or_a_proxy(client, register):
    client.force_login(register["health"])
    p01 = Patient.objects.get(patient_no="P01")
    for url in [reverse("patients:patient", args=[p01.pk]), reverse("patients:patients"),
                reverse("api:patients"), reverse("api:patient-detail", args=[p01.pk]),
                reverse("patients:ledger", args=["key-groups"]) + "?purpose=report", reverse("gridmap:map"), "/login/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        cache = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"no-store", "private", "no-cache"} <= cache, (url, cache)
        assert response["Pragma"] == "no-cache"


def test_static_files_stay_cacheable(client):
    response = client.get(settings.STATIC_URL + "js/import_progress.js")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_the_api_schema_is_for_signed_in_users_only(client, register):
    assert client.get(reverse("api:schema")).status_code in (401, 403)
    client.force_login(register["grid_a"])
    response = client.get(reverse("api:schema"))
    assert response.status_code == 200 and b"/api/patients/" in response.content
