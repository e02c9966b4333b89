"""Schemathesis over the OpenAPI schema (security issue): every operation, as a signed-in
township mental-health worker (and every read as a grid worker, whose answers R35 trims),
through the real WSGI application (session, CSRF, second factor and refusal middleware),
on seeded rows, seeded and bounded. No answer is a 500, and every answer's status, content
type and body are ones the schema documents. Below, what the run found, one test each."""

import copy
import json
from datetime import UTC, timedelta

import pytest
import schemathesis
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug import Client as WerkzeugClient

from cases.patients import services as patients
from cases.patients.models import Patient
from cases.patients.serializers import FIELD_GROUPS
from cases.screening import services as coverage
from cases.screening.models import Campaign
from cases.transfers import services as transfers
from config.wsgi import application
from gridmap import access
from gridmap.models import GridUnit
from tests.conftest import MICRO_1, TOWNSHIP_1, sign_in
from tests.helpers import run_import
from tests.ledgers import write_table

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SEED = 20260630
EXAMPLES = 20  # per operation (half that for the grid worker): the file runs in 1-2 minutes


def generated_schema() -> dict:
    """The schema drf-spectacular generates (what /api/schema/ serves), as JSON."""
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


config = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": EXAMPLES},
    "phases": {"stateful": {"enabled": False}},
})
SCHEMA = generated_schema()
schema = schemathesis.openapi.from_dict(copy.deepcopy(SCHEMA), config=config)
schema.app = application  # requests go to the WSGI application, in this process


@pytest.fixture
def in_process_requests():
    """The WSGI application ends each request by closing an old or broken database
    connection (close_old_connections), which would end the test's transaction; Django's
    own test client holds those signals off in the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(register, tmp_path):
    """The small grid's staff and patients, with households, a township campaign, a
    follow-up, an event and an open transfer, so that every endpoint has rows to show:
    the real ids and codes that requests name besides generated ones."""
    health = register["health"]
    # Close together (about 10 m apart): one hexagon holds them all, an unmasked count.
    rows = [(f"{MICRO_1[0]}-{i:02d}", f"西淮坝村{i}号", "3", f"{106.02 + 0.0001 * i:.4f}", "33.05")
            for i in range(8)]
    ok, text = run_import("function", "import_households",
                          write_table(tmp_path / "households.csv", [dict(zip(
                              ("code", "address", "residents", "lon", "lat"), row, strict=True)) for row in rows]))
    assert ok, text
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        code="C1", name="西淮坝镇专项排查", kind="township_half_yearly",
        scope=GridUnit.objects.get(code=TOWNSHIP_1[0]), starts_on=today - timedelta(days=20),
        ends_on=today + timedelta(days=10), target=0.9)
    coverage.visits_derive([campaign.pk])
    coverage.coverage_rebuild([campaign.pk])
    p01, p02 = Patient.objects.get(patient_no="P01"), Patient.objects.get(patient_no="P02")
    patients.followup_record(user=health, patient=p01, followed_at=timezone.now() - timedelta(days=2),
                             method="面访", reached=True, risk_level=1)
    patients.event_report_record(user=health, patient=p01, kind="relapse",
                                 discovered_at=timezone.now() - timedelta(hours=1), note="复发")
    # To the other township: an open transfer, an arrow on the map (R24).
    assert transfers.patient_move(user=health, patient=p02, point=Point(106.3, 33.1, srid=settings.GRIDCARE_SRID))
    return {"users": register, "patients": list(Patient.objects.order_by("pk").values_list("pk", flat=True)),
            "campaigns": [campaign.code], "households": [row[0] for row in rows],
            "units": list(GridUnit.objects.order_by("code").values_list("code", flat=True))}


def signed_in(user) -> dict:
    """What a browser holds for a signed-in person: the session cookie (the second factor
    given when they need one) and the CSRF cookie of the first page, sent back as a header."""
    session = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    browser = WerkzeugClient(application)
    browser.set_cookie(settings.SESSION_COOKIE_NAME, session)
    assert browser.get("/login/").status_code == 200
    token = browser.get_cookie(settings.CSRF_COOKIE_NAME).value
    return {"browser": browser, "headers": {"X-CSRFToken": token},
            "cookies": {settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: token}}


@pytest.fixture
def health(seeded, in_process_requests):
    """The township's 卫生院精防人员: every field group on the township's patients, records
    follow-ups, events and screening visits."""
    return signed_in(seeded["users"]["health"])


@pytest.fixture
def grid_worker(seeded, in_process_requests):
    """Grid A's 网格员: names, addresses and teams of grid A's patients, nothing medical (R35)."""
    return signed_in(seeded["users"]["grid_a"])


def recent(data, label: str) -> str:
    """A moment of the past month (what a follow-up, an event or a visit records)."""
    now = timezone.now()
    moment = data.draw(st.datetimes(min_value=(now - timedelta(days=30)).replace(tzinfo=None),
                                    max_value=(now - timedelta(minutes=5)).replace(tzinfo=None)), label=label)
    return moment.replace(tzinfo=UTC).isoformat()


def with_seeded_values(case, data, seeded) -> None:
    """Most requests name a seeded patient, campaign, unit or household and record a recent
    moment; the rest keep what was generated (no such row, someone else's, invalid)."""
    real = {"id": seeded["patients"],
            "code": seeded["campaigns"] if case.path.startswith("/api/campaigns/") else seeded["units"]}
    for name, value in (case.path_parameters or {}).items():
        if name in real:
            case.path_parameters[name] = data.draw(st.sampled_from([*real[name], value]), label=name)
    if isinstance(case.body, dict):
        if "household_code" in case.body:
            case.body["household_code"] = data.draw(
                st.sampled_from([*seeded["households"], case.body["household_code"]]), label="household")
        for name in ("followed_at", "discovered_at", "visited_at"):
            if name in case.body and data.draw(st.booleans(), label=f"recent {name}"):
                case.body[name] = recent(data, name)


def test_the_served_schema_is_the_one_tested(health):
    served = health["browser"].get("/api/schema/", query_string={"format": "json"})
    assert served.status_code == 200
    assert served.get_json() == SCHEMA


BOUNDED = hypothesis_settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@schema.parametrize()
@schema.given(data=st.data())
@BOUNDED
def test_every_answer_to_a_township_health_worker_is_documented(case, data, seeded, health):
    with_seeded_values(case, data, seeded)
    case.call_and_validate(headers=health["headers"], cookies=health["cookies"], checks=CHECKS)


@schema.include(method="GET").parametrize()
@schema.given(data=st.data())
@hypothesis_settings(BOUNDED, max_examples=EXAMPLES // 2)
def test_every_answer_to_a_grid_worker_is_documented(case, data, seeded, grid_worker):
    """The same API trimmed to a grid worker's field groups (R35) still answers as documented."""
    with_seeded_values(case, data, seeded)
    case.call_and_validate(headers=grid_worker["headers"], cookies=grid_worker["cookies"], checks=CHECKS)


# --- What the run found, pinned down one by one -------------------------------------------------

def component(name: str) -> dict:
    return SCHEMA["components"]["schemas"][name]


def operations():
    for path, methods in SCHEMA["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_error_answers_are_documented_where_they_can_be_given():
    """400 where a query string or a body is read, 403 everywhere, 404 where the path names
    an object: each a documented JSON body (they were undocumented)."""
    for path, method, operation in operations():
        located = {p["in"] for p in operation.get("parameters", [])}
        answers = operation["responses"]
        assert answers["403"] == {"$ref": "#/components/responses/Forbidden"}, (method, path)
        assert ("404" in answers) == ("path" in located), (method, path)
        assert ("400" in answers) == ("query" in located or "requestBody" in operation), (method, path)
    forbidden = SCHEMA["components"]["responses"]["Forbidden"]["content"]["application/json"]["schema"]
    assert forbidden == {"$ref": "#/components/schemas/ErrorDetail"}
    assert component("ErrorDetail")["required"] == ["detail"]


def test_every_operation_refuses_a_visitor_who_is_not_signed_in(seeded, in_process_requests):
    visitor = WerkzeugClient(application)
    for path, method, _ in operations():
        url = path.replace("{id}", str(seeded["patients"][0])).replace(
            "{code}", seeded["campaigns"][0] if path.startswith("/api/campaigns/") else seeded["units"][0])
        answer = visitor.open(url, method=method.upper())
        assert answer.status_code == 403, (method, path)
        assert answer.content_type == "application/json" and answer.get_json()["detail"]


def test_unit_layers_are_documented_with_the_unit_code_as_feature_id(health):
    """Units, coverage and R30 gaps are features identified by the unit's code (a string: the
    schema said integer); patients' points and transfers' arrows by their row's id."""
    for layer in ("UnitFeature", "CoverageFeature", "CadenceGapFeature"):
        assert component(layer)["properties"]["id"]["type"] == "string", layer
        assert "id" in component(layer)["required"], layer
    for layer in ("PatientPointFeature", "TransferArrowFeature"):
        assert component(layer)["properties"]["id"]["type"] == "integer", layer
    units = health["browser"].get("/api/units/", query_string={"level": 1})
    assert units.status_code == 200 and units.get_json()["features"][0]["id"] == "610727"
    assert set(component("UnitProperties")["properties"]) == set(units.get_json()["features"][0]["properties"])


def test_recording_a_follow_up_or_an_event_is_documented_as_the_201_it_answers(seeded, health):
    """The two POSTs answered 201 where the schema said 200."""
    for path in ("/api/patients/{id}/followups/", "/api/patients/{id}/events/"):
        assert "201" in SCHEMA["paths"][path]["post"]["responses"]
        assert "200" not in SCHEMA["paths"][path]["post"]["responses"]
    answer = health["browser"].post(
        f"/api/patients/{seeded['patients'][0]}/events/", headers=health["headers"],
        json={"kind": "relapse", "discovered_at": (timezone.now() - timedelta(hours=1)).isoformat()})
    assert answer.status_code == 201


def test_R35_a_patient_is_documented_with_only_the_fields_every_role_sees_as_required(seeded, grid_worker):
    """A grid worker's answer has no diagnosis nor days overdue, which the schema required."""
    required = set(component("Patient")["required"])
    assert required == set(FIELD_GROUPS[access.IDENTITY])
    answer = grid_worker["browser"].get("/api/patients/").get_json()["results"][0]
    assert required <= set(answer) and not {"diagnosis", "days_overdue", "risk_level"} & set(answer)


def test_an_unmasked_hexagon_count_is_documented_as_the_number_it_is(seeded, health):
    """A hexagon's count is a number from the minimum up, "<5" below it (the schema said a
    string): the seeded campaign's eight unvisited households share one hexagon."""
    kinds = {alternative["type"] for alternative in component("HexagonProperties")["properties"]["count"]["oneOf"]}
    assert kinds == {"integer", "string"}
    answer = health["browser"].get(f"/api/campaigns/{seeded['campaigns'][0]}/hexagons/").get_json()
    assert [f["properties"]["count"] for f in answer["features"]] == [8]
