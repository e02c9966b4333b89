"""Sessions: read from the cache, kept in the database; a cache that is down costs speed,
not the sign-in (config/sessions.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

UNREACHABLE = {"default": {"BACKEND": "config.cache.KeptClientRedisCache",
                           "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "nowhere",
                           "OPTIONS": {"socket_connect_timeout": 0.2}}}


@pytest.fixture
def signed_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-1234567890ab"))
    return client


def session_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]


def test_a_signed_in_request_reads_its_session_from_the_cache(signed_in):
    signed_in.get("/patients/")  # the first read after the sign-in fills the cache
    with CaptureQueriesContext(connection) as queries:
        assert signed_in.get("/patients/").status_code == 200
    assert session_queries(queries) == []


def test_with_the_cache_down_the_session_comes_from_the_database(signed_in, settings):
    settings.CACHES = UNREACHABLE
    with CaptureQueriesContext(connection) as queries:
        answer = signed_in.get("/patients/")
    assert answer.status_code == 200 and b'id="patients"' in answer.content  # still signed in
    assert session_queries(queries)  # read from the database instead
    assert signed_in.post("/logout/").status_code == 302  # signing out works too
    assert signed_in.get("/patients/").status_code == 302  # and holds
