"""The role × endpoint matrix (docs/security.md), generated from the URL patterns.

Every URL pattern of the project has an entry in MATRIX (or falls under one of the
RULES for whole families: the administration, RQ's dashboards), so an endpoint added
later without one fails `test_every_url_pattern_has_a_matrix_entry`. Each entry says
what the endpoint is about (a patient, a list, a transfer, a campaign, nothing personal)
and, for a patient, which field group a reader's role must give on that patient's units
for the answer to be given at all (R35).

The personas are the small grid's (tests/conftest.py STAFF) and a person with two
roles in two townships (`mixed`); who sees which patient is written here by hand from
R22 (residence and registration place), not read from gridmap.access. For every
persona × patient entry × patient: in scope and allowed → answered and access-logged;
in scope without the field group → 403; out of scope → 404 and a denied row. For every
answer of every entry: no out-of-scope patient's number, name or ID number anywhere in
it (pages, JSON, XLSX, DOCX), no field beyond what the reader's roles on that patient
give (the API), and a log row for every read.
"""

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from cases.patients.models import Patient
from cases.patients.serializers import visible_fields
from gridmap import access, crypto
from gridmap.models import AccessLog, GridUnit, StaffAssignment, User
from tests.conftest import GRID_1, MICRO_1, SMALL_GRID, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_2, sign_in
from tests.screening.conftest import campaign, households  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

IDENTITY, ID_NUMBER, RISK, MEDICAL = access.IDENTITY, access.ID_NUMBER, access.RISK, access.MEDICAL

# --- The field matrix (docs/security.md, R35): role → field groups ----------------------------
FIELD_MATRIX = {
    "county_office": {IDENTITY, ID_NUMBER, RISK, MEDICAL},
    "township_office": {IDENTITY, ID_NUMBER, RISK},
    "health_staff": {IDENTITY, ID_NUMBER, RISK, MEDICAL},
    "police": {IDENTITY, ID_NUMBER, RISK},
    "village_committee": {IDENTITY, RISK},
    "liaison_leader": {IDENTITY, RISK},
    "village_doctor": {IDENTITY, RISK, MEDICAL},
    "grid_worker": {IDENTITY},
    "micro_grid_leader": {IDENTITY},
}

# --- Who sees which patient (R22), by hand --------------------------------------------------
# P01 lives in micro-grid 1 (grid A); P02 in grid B; P03 in the other township; P04 lives
# outside every unit, registered in village 1; P05 lives in the other township (village 2),
# registered in grid A. persona → {patient: the roles that place it in the persona's scope}.
SEES = {
    "grid_a": {"P01": {"grid_worker"}, "P05": {"grid_worker"}},
    "grid_b": {"P02": {"grid_worker"}},
    "village_doc": {p: {"village_doctor"} for p in ("P01", "P02", "P04", "P05")},
    "committee": {p: {"village_committee"} for p in ("P01", "P02", "P04", "P05")},
    "police": {p: {"police"} for p in ("P01", "P02", "P04", "P05")},
    "health": {p: {"health_staff"} for p in ("P01", "P02", "P04", "P05")},
    "office": {p: {"township_office"} for p in ("P01", "P02", "P04", "P05")},
    "micro_doc": {"P01": {"village_doctor"}},
    "outsider": {"P03": {"grid_worker"}, "P05": {"grid_worker"}},
    # Two roles in two townships: grid worker of grid A, village doctor of village 2.
    "mixed": {"P01": {"grid_worker"}, "P03": {"village_doctor"},
              "P05": {"grid_worker", "village_doctor"}},
    "county": {p: {"county_office"} for p in ("P01", "P02", "P03", "P04", "P05")},
    "nobody": {},  # signed in, responsible for nothing
    "clerk": {},  # the staff flag and no permission (probe finding 1)
}
PATIENT_NOS = ("P01", "P02", "P03", "P04", "P05")


def groups_of(persona: str, patient_no: str) -> set[str]:
    return set().union(*(FIELD_MATRIX[r] for r in SEES[persona].get(patient_no, ())))


def any_groups(persona: str) -> set[str]:
    return set().union(set(), *(groups_of(persona, p) for p in SEES[persona]))


# --- The endpoint matrix ----------------------------------------------------------------------
PATIENT, LIST, TRANSFER, CAMPAIGN, UNIT, SIGNED_IN, OPEN, SUPERUSER, ADMIN, COUNTY = (
    "patient", "list", "transfer", "campaign", "unit", "signed-in", "open", "superuser", "admin",
    "county office")


@dataclass(frozen=True)
class Entry:
    about: str  # what the endpoint is about (the constants above)
    method: str = "get"
    needs: str = IDENTITY  # PATIENT: the field group the reader's roles on the patient must give
    data: dict = field(default_factory=dict)
    reads: bool = False  # an answer is a read of patients: an access-log row
    answered: tuple[int, ...] = (200,)  # the statuses of an allowed request


MATRIX = {
    # The patient record, its parts and its actions.
    "patients/<int:pk>/": Entry(PATIENT, reads=True),
    "patients/<int:pk>/events/": Entry(PATIENT, "post", answered=(302,)),
    # The small grid's guardians have no telephone: only an ID-number reader has a number to
    # reveal; the others are refused (403), as they would be for a number not theirs.
    "patients/<int:pk>/identifiers/": Entry(PATIENT, "post", needs=ID_NUMBER, reads=True),
    "patients/<int:pk>/residence/": Entry(PATIENT, "post", answered=(302,)),
    "api/patients/<int:pk>/": Entry(PATIENT, reads=True),
    "api/patients/<int:pk>/followups/": Entry(PATIENT, needs=MEDICAL, reads=True),
    "api/patients/<int:pk>/events/": Entry(PATIENT, reads=True),
    "api/patients/<int:pk>/identifiers/": Entry(PATIENT, "post", needs=ID_NUMBER, reads=True),
    # Lists, searches, exports.
    "patients/": Entry(LIST, reads=True),
    "api/patients/": Entry(LIST, reads=True),
    "api/patients/points/": Entry(LIST, reads=True),
    "patients/ledgers/<str:kind>.xlsx": Entry(LIST, data={"purpose": "care"}, reads=True),
    "patients/transfers/": Entry(LIST),
    "api/transfers/arrows/": Entry(LIST),
    "patients/break-glass/": Entry(SIGNED_IN),
    "patients/audit/": Entry(COUNTY),
    # Transfers (R23–R26).
    "patients/transfers/<int:pk>/letter.docx": Entry(TRANSFER),
    "patients/transfers/<int:pk>/<str:action>/": Entry(TRANSFER, "post", answered=(302,)),
    # Units and screening: aggregates and households, never a patient (R31, R35).
    "": Entry(SIGNED_IN),
    "api/units/": Entry(UNIT),
    "api/units/<code:code>/": Entry(UNIT),
    "tiles/units/<int:z>/<int:x>/<int:y>.pbf": Entry(UNIT),
    # Counts and ids only (no name, number or address): tests/patients/test_patient_tiles.py
    # holds its scope, fields, logging and the aggregate-only refusal.
    "tiles/patients/<int:z>/<int:x>/<int:y>.pbf": Entry(UNIT),
    "api/campaigns/": Entry(CAMPAIGN),
    "api/campaigns/gaps/": Entry(CAMPAIGN),
    "api/campaigns/<code:code>/coverage/": Entry(CAMPAIGN),
    "api/campaigns/<code:code>/hexagons/": Entry(CAMPAIGN),
    "api/campaigns/<code:code>/visits/": Entry(CAMPAIGN, "post"),
    "screening/": Entry(CAMPAIGN),
    "screening/visit/": Entry(CAMPAIGN),
    "screening/suspected/": Entry(CAMPAIGN),
    "screening/<code:code>/mop-up.csv": Entry(CAMPAIGN),
    "api/schema/": Entry(SIGNED_IN),
    # Accounts.
    "login/": Entry(OPEN),
    "logout/": Entry(OPEN, "post", answered=(302,)),
    "i18n/setlang/": Entry(OPEN, "post", answered=(302,)),
    "account/two-factor/": Entry(SIGNED_IN),
}
# Families of patterns: every pattern under these prefixes follows the family's rule.
RULES = {"admin/django_rq/": SUPERUSER, "django-rq/": SUPERUSER, "admin/": ADMIN}


def url_patterns(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def rule_of(route: str) -> str | None:
    return next((rule for start, rule in RULES.items() if route.startswith(start)), None)


def test_every_url_pattern_has_a_matrix_entry():
    routes = set(url_patterns())
    missing = sorted(r for r in routes if r not in MATRIX and rule_of(r) is None)
    assert not missing, f"URL patterns without a matrix entry (tests/security/test_endpoint_matrix.py): {missing}"
    assert not set(MATRIX) - routes, f"matrix entries for patterns that are gone: {set(MATRIX) - routes}"


def test_the_field_matrix_is_the_access_modules():
    assert {role: set(groups) for role, groups in access.ROLE_FIELD_GROUPS.items()} == FIELD_MATRIX


# --- The world: the small grid, its personas, a transfer, a campaign ---------------------------

@pytest.fixture
def world(register, campaign):  # noqa: F811 (the fixture)
    users = dict(register)
    mixed = User.objects.create_user("mixed", password="a-long-password-1")
    StaffAssignment.objects.create(user=mixed, role="grid_worker", unit=GridUnit.objects.get(code=GRID_1[0]))
    StaffAssignment.objects.create(user=mixed, role="village_doctor", unit=GridUnit.objects.get(code=VILLAGE_2[0]))
    county = User.objects.create_user("county", password="a-long-password-1")
    StaffAssignment.objects.create(user=county, role="county_office", unit=GridUnit.objects.get(code=SMALL_GRID[0][0]))
    users |= {"mixed": mixed, "county": county,
              "nobody": User.objects.create_user("nobody", password="a-long-password-1"),
              "clerk": User.objects.create_user("clerk", password="a-long-password-1", is_staff=True),
              "admin": User.objects.create_superuser("root", password="a-long-password-1")}
    patients = {p.patient_no: p for p in Patient.objects.all()}
    secrets = {no: (p.patient_no, p.name, p.id_number) for no, p in patients.items()}
    return {"users": users, "patients": patients, "secrets": secrets, "campaign": campaign}


def client_of(world, persona: str) -> Client:
    return sign_in(Client(), world["users"][persona])


def text_of(response) -> str:
    """Everything an answer carries, as text: XLSX and DOCX unzipped."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
                           if name.endswith(".xml"))
    # Random tokens (the CSRF token, a script nonce) may spell a patient number by chance.
    return RANDOM_TOKENS.sub(r"\1", body.decode("utf-8", "replace"))


RANDOM_TOKENS = re.compile(r'((?:name="csrfmiddlewaretoken" value|nonce)=")[^"]*')


def assert_no_leak(world, persona: str, response, *, where: str, sees=None):
    """No patient outside the persona's scope appears in the answer in any form."""
    body = text_of(response)
    sees = SEES[persona] if sees is None else sees
    for no, values in world["secrets"].items():
        if no in sees or persona == "admin":
            continue
        for value in values:
            assert value not in body, f"{where}: {persona} got {no}'s {value!r}"
    # Numbers in full are never in a page or list (masked: first 6 and last 4 digits).
    for no, (_, _, id_number) in world["secrets"].items():
        if no in SEES[persona] and where.startswith("GET /patients/"):
            assert id_number not in body, f"{where}: {no}'s ID number in full"


def new_rows(since: int, user) -> list[AccessLog]:
    return list(AccessLog.objects.filter(pk__gt=since, user_id=user.pk))


def last_row() -> int:
    return AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def call(client, entry: Entry, url: str):
    if entry.method == "get":
        return client.get(url, entry.data)
    if url.startswith("/api/"):
        return client.post(url, entry.data, content_type="application/json")
    return client.post(url, entry.data)


PATIENT_ROUTES = [r for r, e in MATRIX.items() if e.about == PATIENT]
PERSONAS = [p for p in SEES]


def test_patient_endpoints_answer_in_scope_refuse_the_rest_and_log_every_read(world):
    for persona in PERSONAS:
        client = client_of(world, persona)
        user = world["users"][persona]
        for route in PATIENT_ROUTES:
            entry = MATRIX[route]
            for no, patient in world["patients"].items():
                url = "/" + route.replace("<int:pk>", str(patient.pk))
                since = last_row()
                response = call(client, entry, url)
                where = f"{entry.method.upper()} {url} ({no})"
                rows = new_rows(since, user)
                if no not in SEES[persona]:
                    assert response.status_code == 404, f"{where}: {persona} got {response.status_code}"
                    assert any(r.action == AccessLog.Action.DENIED and patient.pk in r.patient_ids for r in rows), \
                        f"{where}: the refusal is not logged"
                    continue
                groups = groups_of(persona, no)
                if entry.needs not in groups:
                    assert response.status_code == 403, f"{where}: {persona} got {response.status_code}"
                    continue
                assert response.status_code in entry.answered, f"{where}: {persona} got {response.status_code}"
                assert_no_leak(world, persona, response, where=where)
                if entry.reads:
                    assert any(patient.pk in r.patient_ids and r.action != AccessLog.Action.DENIED for r in rows), \
                        f"{where}: the read is not logged"
                if route == "api/patients/<int:pk>/":
                    assert set(response.json()) <= visible_fields(frozenset(groups)), \
                        f"{where}: fields beyond the matrix: {set(response.json()) - visible_fields(frozenset(groups))}"
                if route == "patients/<int:pk>/":
                    page = response.content.decode()
                    assert ("精神分裂症" in page) == (MEDICAL in groups), f"{where}: diagnosis shown wrongly"
                    masked = crypto.mask_id(patient.id_number)
                    assert (masked in page) == (ID_NUMBER in groups), f"{where}: ID number shown wrongly"


LIST_ROUTES = [r for r, e in MATRIX.items() if e.about == LIST]


def list_urls(route: str) -> list[str]:
    if "<str:kind>" in route:
        return ["/" + route.replace("<str:kind>", kind) for kind in ("key-groups", "lost", "followups-due")]
    return ["/" + route]


def test_lists_and_exports_hold_the_persona_s_patients_only(world):
    for persona in PERSONAS:
        client = client_of(world, persona)
        user = world["users"][persona]
        for route in LIST_ROUTES:
            entry = MATRIX[route]
            for url in list_urls(route):
                since = last_row()
                response = call(client, entry, url)
                where = f"GET {url}"
                assert response.status_code in (200, 404), f"{where}: {persona} got {response.status_code}"
                if response.status_code == 404:  # a ledger the persona's roles do not give
                    assert "ledgers" in url and MEDICAL not in any_groups(persona), where
                    continue
                assert_no_leak(world, persona, response, where=where)
                if route == "api/patients/":
                    results = {r["patient_no"]: r for r in response.json()["results"]}
                    assert set(results) == set(SEES[persona]), f"{where}: {persona} listed {sorted(results)}"
                    for no, row in results.items():
                        allowed = visible_fields(frozenset(groups_of(persona, no)))
                        assert set(row) <= allowed, f"{where}: {no} has fields beyond the matrix: {set(row) - allowed}"
                if route == "patients/":
                    listed = set(re.findall(r">(P0\d)</a>", response.content.decode()))
                    assert listed == set(SEES[persona]), f"{where}: {persona} listed {sorted(listed)}"
                if entry.reads and SEES[persona]:
                    assert new_rows(since, user), f"{where}: the read is not logged"


A_TILE = "12/3254/1649"  # a unit tile over the small grid's first micro-grid


def test_unit_and_screening_endpoints_answer_no_patient(world):
    """Aggregates and households only: no patient of any scope in them (R31, R35)."""
    for persona in PERSONAS:
        client = client_of(world, persona)
        code = world["campaign"].code
        for route, entry in MATRIX.items():
            if entry.about not in (UNIT, CAMPAIGN, SIGNED_IN):
                continue
            url = "/" + route.replace("<int:z>/<int:x>/<int:y>", A_TILE) \
                .replace("<code:code>", code if "campaigns" in route or "screening" in route
                                      else TOWNSHIP_1[0])
            response = call(client, entry, url)
            assert response.status_code < 500, f"{url}: {response.status_code}"
            assert response.status_code in (200, 302, 400, 403, 404, 405), f"{url}: {response.status_code}"
            if response.status_code == 200 and entry.about != SIGNED_IN:
                body = text_of(response)
                for no, values in world["secrets"].items():
                    for value in values:
                        assert value not in body, f"{url}: {persona} got {no}'s {value!r}"


def test_a_unit_is_administrative_data_for_every_signed_in_person(world):
    """Units are the map's outlines: any signed-in person may read a unit's name, level,
    parents and counts, inside or outside their scope, and nothing about its people."""
    client = client_of(world, "health")
    for code in (TOWNSHIP_1[0], TOWNSHIP_2[0], MICRO_1[0]):
        answer = client.get(f"/api/units/{code}/")
        assert answer.status_code == 200
        assert set(answer.json()) == {"code", "name", "level", "level_name", "parents", "households",
                                      "population", "children", "bbox"}


# --- Transfers (R24): the origin and the destination, nobody else -------------------------------

@pytest.fixture
def transfer(world, tmp_path):
    """P01 moves to the other township: a transfer, open, kept with the origin (R25)."""
    from cases.transfers.models import Transfer
    from tests.conftest import AS_OF, PATIENTS
    from tests.helpers import run_import
    from tests.ledgers import write_table

    rows = [dict(r, residence_lon="106.3", residence_lat="33.05") if r["patient_no"] == "P01" else r
            for r in PATIENTS]
    ok, text = run_import("function", "import_patients", write_table(tmp_path / "moved.csv", rows), as_of=AS_OF)
    assert ok, text
    return Transfer.objects.get(patient__patient_no="P01", closed_at__isnull=True)


def test_transfer_endpoints_answer_the_origin_and_the_destination_only(world, transfer):
    for persona in PERSONAS:
        client = client_of(world, persona)
        involved = "P01" in SEES[persona] or persona in ("outsider", "mixed")  # township 2 is the destination
        for route, entry in MATRIX.items():
            if entry.about != TRANSFER:
                continue
            url = "/" + route.replace("<int:pk>", str(transfer.pk)).replace("<str:action>", "report")
            response = call(client, entry, url)
            assert response.status_code < 500, f"{url}: {response.status_code}"
            if not involved:
                assert response.status_code == 404, f"{url}: {persona} got {response.status_code}"
        # The destination finds it in its inbox, the origin in its outbox (R24).
        boxes = [client.get("/patients/transfers/", {"box": box}) for box in ("inbox", "outbox")]
        assert all(b.status_code == 200 for b in boxes)
        assert any("P01" in b.content.decode() for b in boxes) == involved, f"transfers pages of {persona}"
        # The destination sees the patient coming (R24: it verifies before accepting).
        sees = {**SEES[persona], "P01": set()} if involved else SEES[persona]
        for b in boxes:
            assert_no_leak(world, persona, b, where="GET /patients/transfers/", sees=sees)
        arrows = client.get("/api/transfers/arrows/").json()
        assert bool(arrows["features"]) == involved, f"arrows of {persona}"


# --- Families: accounts, administration, the job dashboards ------------------------------------

def concrete(route: str) -> str:
    """A URL for a pattern with parameters: values that exist or are harmless."""
    url = re.sub(r"\(\?P<[a-z_]+>([^|)]*)[^)]*\)", r"\1", route)  # a regex group: its first choice
    url = re.sub(r"\^|\$|\?|\[\\w\]\+", "", url)
    url = re.sub(r"<int:[a-z_]+>", "0", url)
    url = re.sub(r"<(?:str|path):[a-z_]+>", "x", url)
    return "/" + url


FAMILY_ROUTES = sorted(r for r in set(url_patterns()) if rule_of(r))


def test_the_administration_and_the_job_dashboards_refuse_everyone_but_their_owners(world):
    anonymous = Client()
    personas = {name: client_of(world, name) for name in ("grid_a", "county", "clerk")}
    root = client_of(world, "admin")
    for route in FAMILY_ROUTES:
        url = concrete(route)
        if url.endswith(("/logout/", "/login/", "/jsi18n/")):
            continue
        answer = anonymous.get(url)
        assert answer.status_code in (302, 403, 404), f"{url}: anonymous got {answer.status_code}"
        if answer.status_code == 302:
            assert "login" in answer["Location"], f"{url}: anonymous sent to {answer['Location']}"
        for name, client in personas.items():
            answer = client.get(url)
            # A staff member without permissions has the administration's index (empty) and
            # their own password; nothing else.
            allowed = name == "clerk" and rule_of(route) == ADMIN and url in (
                "/admin/", "/admin/password_change/", "/admin/password_change/done/")
            if not allowed:
                assert answer.status_code in (302, 403, 404), f"{url}: {name} got {answer.status_code}"
                # A redirect goes to the sign-in, or (the administration) to another of its
                # own pages, itself refused above.
                assert answer.status_code != 302 or "login" in answer["Location"] or (
                    rule_of(route) == ADMIN and answer["Location"].startswith("/admin/")), \
                    f"{url}: {name} sent to {answer['Location']}"
        # The superuser's own dashboards answer; RQ's pages for a made-up job or worker key
        # ("x") are RQ's business, not checked here.
        if rule_of(route) != SUPERUSER or "<" not in route:
            assert root.get(url).status_code < 500, f"{url}: the superuser got a server error"


def test_a_staff_member_without_permissions_sees_an_empty_administration(world):
    page = client_of(world, "clerk").get("/admin/")
    assert page.status_code == 200
    assert "gridmap/importrun" not in page.content.decode() and "django_rq" not in page.content.decode()


def test_open_pages_need_no_sign_in_and_everything_else_does(world):
    anonymous = Client()
    for route, entry in MATRIX.items():
        url = "/" + route.replace("<int:pk>", str(world["patients"]["P01"].pk)) \
            .replace("<code:code>", world["campaign"].code).replace("<str:kind>", "key-groups") \
            .replace("<str:action>", "report").replace("<int:z>/<int:x>/<int:y>", A_TILE)
        answer = call(anonymous, entry, url)
        if entry.about == OPEN:
            assert answer.status_code in (200, 302), f"{url}: {answer.status_code}"
            continue
        assert answer.status_code in (302, 403, 404), f"{url}: anonymous got {answer.status_code}"
        if answer.status_code == 302:
            assert "/login/" in answer["Location"], f"{url}: anonymous sent to {answer['Location']}"
        assert_no_leak({**world, "secrets": world["secrets"]}, "nobody", answer, where=url)


def test_the_county_office_alone_reads_the_access_log(world):
    for persona in PERSONAS:
        answer = client_of(world, persona).get("/patients/audit/")
        assert answer.status_code == (200 if persona == "county" else 403), persona


def test_the_matrix_knows_the_dates_it_was_checked_with():
    # The personas' scopes above are for the small grid's units; a changed grid breaks them.
    assert [u[0] for u in SMALL_GRID][:3] == ["610727", TOWNSHIP_1[0], TOWNSHIP_2[0]]
    assert date(2026, 6, 30)  # AS_OF of tests/conftest.py
