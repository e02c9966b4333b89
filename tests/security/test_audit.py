"""The access log (probe finding 11; issue 10 Deliver 5-6): every read, search, export,
refusal and break-glass is a row saying who, when, what and why; the database keeps the
rows append-only and chained, the daily head is kept outside it, and `audit_verify`
finds any change; the county office reads the log and every break-glass."""

import stat
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.patients.models import Patient
from gridmap import access
from gridmap.audit import audit_head_write, audit_verify
from gridmap.models import AccessGrant, AccessLog, GridUnit, Role, StaffAssignment, User
from tests.conftest import COUNTY, sign_in

pytestmark = pytest.mark.django_db
TABLE = AccessLog._meta.db_table
CHAINED = pytest.mark.django_db(transaction=True)  # rows are chained when their transaction commits


def p(number: str) -> Patient:
    return Patient.objects.get(patient_no=number)


def client_for(user) -> Client:
    return sign_in(Client(), user)


@pytest.fixture
def county(register):
    """The township office made county office too: the auditor."""
    user = register["office"]
    StaffAssignment.objects.create(user=user, role=Role.COUNTY_OFFICE,
                                   unit=GridUnit.objects.get(code=COUNTY[0]))
    return user


def some_rows(register, n=3):
    for i in range(n):
        access.log(user=register["grid_a"], action="view", purpose="care", patient_ids=[p("P01").pk],
                   query={"i": i})


# --- Append-only --------------------------------------------------------------------------------

@CHAINED
def test_the_database_refuses_to_change_or_delete_a_row(register):
    some_rows(register)
    entry = AccessLog.objects.order_by("id").first()
    for attempt in (lambda: AccessLog.objects.filter(pk=entry.pk).update(reason="edited"),
                    lambda: AccessLog.objects.filter(pk=entry.pk).delete(),
                    lambda: entry.save()):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    for sql in (f"UPDATE {TABLE} SET username = 'x'", f"DELETE FROM {TABLE}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL gridcare.audit_truncate = 'off'")  # as in production
            cursor.execute(f"TRUNCATE {TABLE}")
    assert AccessLog.objects.count() == 3


def test_deleting_a_person_keeps_their_rows(register):
    some_rows(register)
    register["grid_a"].delete()
    assert AccessLog.objects.filter(username="grid_a").count() == 3


def test_every_row_says_why_or_the_database_refuses_it(register):
    with pytest.raises(ValueError):
        access.log(user=register["grid_a"], action="view", patient_ids=[1])
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessLog.objects.create(username="x", action="export", purpose="")
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessLog.objects.create(username="x", action="export", purpose="other", reason="")
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessLog.objects.create(username="x", action="break_glass", purpose="emergency")


# --- The chain and the heads outside the database -------------------------------------------------

@CHAINED
def test_rows_are_chained_and_the_chain_verifies_against_the_heads(register, tmp_path):
    some_rows(register, 5)
    heads = tmp_path / "audit" / "heads.log"
    line = audit_head_write(heads)
    assert stat.S_IMODE(heads.stat().st_mode) == 0o600
    rows = list(AccessLog.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0][1] == "" and all(b[1] == a[2] for a, b in zip(rows, rows[1:], strict=False))
    assert line.split()[1:3] == [str(rows[-1][0]), rows[-1][2]]
    some_rows(register, 2)  # rows after the last head are fine
    verdict = audit_verify(heads)
    assert verdict.ok, verdict.problems
    assert verdict.rows == 7 and verdict.heads == 1
    out = StringIO()
    call_command("audit_verify", "--heads", str(heads), stdout=out)
    assert "intact: 7 rows" in out.getvalue()


def tampered(sql: str, params=()) -> None:
    """What someone with the database owner's rights could do: switch the guard off."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER cases_accesslog_append_only")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER cases_accesslog_append_only")


@CHAINED
@pytest.mark.parametrize("how,found", [
    ("change", "no longer matches its hash"),
    ("remove", "does not follow the row before it"),
    ("cut", "which is gone"),
    ("rewrite", "has another hash now"),
])
def test_any_tampering_is_found(register, tmp_path, how, found):
    some_rows(register, 5)
    heads = tmp_path / "heads.log"
    audit_head_write(heads)
    if how == "change":
        tampered(f"UPDATE {TABLE} SET reason = 'nothing to see' WHERE seq = 3")
    elif how == "remove":
        tampered(f"DELETE FROM {TABLE} WHERE seq = 3")
    elif how == "cut":
        tampered(f"DELETE FROM {TABLE} WHERE seq >= 4")
    else:  # change a row and recompute the whole chain so that it holds in the database
        tampered(f"UPDATE {TABLE} SET reason = 'nothing to see' WHERE seq = 3")
        tampered(f"""DO $$ DECLARE r {TABLE}; prev text := '';
                     BEGIN FOR r IN SELECT * FROM {TABLE} ORDER BY seq LOOP
                       UPDATE {TABLE} SET prev_hash = prev, hash = cases_accesslog_digest(prev, r)
                       WHERE id = r.id;
                       prev := cases_accesslog_digest(prev, r);
                     END LOOP; END $$""")
    verdict = audit_verify(heads)
    assert not verdict.ok and any(found in problem for problem in verdict.problems), verdict.problems
    with pytest.raises(CommandError):
        call_command("audit_verify", "--heads", str(heads), stdout=StringIO(), stderr=StringIO())


def test_a_row_is_chained_only_when_it_commits(register):
    some_rows(register, 1)  # this test's transaction never commits
    assert AccessLog.objects.get().seq is None
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS cases_accesslog_chain IMMEDIATE")  # as a commit would
    entry = AccessLog.objects.get()
    assert entry.seq == 1 and entry.prev_hash == "" and len(entry.hash) == 64
    # Whatever a writer sends, the database chains the row itself.
    forged = AccessLog.objects.create(username="x", action="view", purpose="care", hash="f" * 64,
                                      prev_hash="0" * 64)
    forged.refresh_from_db()
    assert forged.seq == 2 and forged.prev_hash == entry.hash and forged.hash != "f" * 64


@CHAINED
def test_without_heads_the_check_fails(register, tmp_path):
    some_rows(register)
    verdict = audit_verify(tmp_path / "none.log")
    assert not verdict.ok and "no heads" in verdict.problems[0]


@pytest.mark.django_db(transaction=True)
def test_writers_at_once_still_make_one_chain(register, tmp_path):
    user = register["grid_a"]

    def write(n):
        try:
            for i in range(n):
                access.log(user=user, action="list", purpose="care", query={"i": i})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(25,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert AccessLog.objects.count() == 100
    audit_head_write(tmp_path / "heads.log")
    verdict = audit_verify(tmp_path / "heads.log")
    assert verdict.ok, verdict.problems


# --- Why: every read, export and refusal ------------------------------------------------------------

def test_every_page_and_api_read_says_why(register):
    client = client_for(register["health"])
    p01 = p("P01")
    for url in [reverse("patients:patients"), reverse("patients:patient", args=[p01.pk]),
                reverse("api:patients"), reverse("api:patient-detail", args=[p01.pk]),
                reverse("api:patient-points"), reverse("transfers:transfers"),
                reverse("api:transfer-arrows"), reverse("screening:suspected")]:
        assert client.get(url).status_code == 200, url
    rows = list(AccessLog.objects.all())
    assert len(rows) >= 8
    assert all(r.purpose and r.path for r in rows), [(r.action, r.path) for r in rows if not r.purpose]


def test_a_stated_purpose_is_logged(register):
    client = client_for(register["health"])
    client.get(reverse("api:patients") + "?purpose=verify")
    assert AccessLog.objects.get().purpose == "verify"


def test_an_export_needs_its_purpose(register):
    client = client_for(register["health"])
    url = reverse("patients:ledger", args=["key-groups"])
    assert client.get(url).status_code == 302  # back to the list, asking why
    assert client.get(url + "?purpose=other").status_code == 302  # "other" needs words
    assert not AccessLog.objects.filter(action="export").exists()
    response = client.get(url + "?purpose=other&reason=县里核对名单")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    export = AccessLog.objects.get(action="export")
    assert export.purpose == "other" and export.reason == "县里核对名单" and export.patient_ids


def test_refusals_are_logged(register, client):
    outsider = client_for(register["grid_b"])
    p01 = p("P01")
    assert outsider.get(reverse("patients:patient", args=[p01.pk])).status_code == 404
    assert outsider.get(reverse("api:patient-detail", args=[p01.pk])).status_code == 404
    grid_a = client_for(register["grid_a"])
    assert grid_a.get(reverse("api:patient-followups", args=[p01.pk])).status_code == 403  # medical
    assert grid_a.get(reverse("patients:audit")).status_code == 403
    client.post("/login/", {"username": "grid_a", "password": "not-the-password"})
    denied = AccessLog.objects.filter(action="denied")
    assert denied.filter(username="grid_b", patient_ids=[p01.pk]).count() == 2
    assert set(denied.filter(username="grid_a").values_list("path", flat=True)) >= {
        reverse("api:patient-followups", args=[p01.pk]), reverse("patients:audit"), "/login/"}
    assert all(r.reason for r in denied)


# --- Break-glass ----------------------------------------------------------------------------------

def break_glass(client, number, reason="患者在本村突发急症，送医需要既往诊断"):
    return client.post(reverse("patients:break-glass"), {"patient": number, "reason": reason})


def test_breaking_the_glass_opens_one_record_for_three_hours_read_only_and_logged(register, settings):
    client = client_for(register["grid_b"])
    p01 = p("P01")
    assert client.get(reverse("patients:patient", args=[p01.pk])).status_code == 404
    response = break_glass(client, "P01")
    assert response.status_code == 302 and response.url == reverse("patients:patient", args=[p01.pk])
    grant = AccessGrant.objects.get()
    assert grant.user == register["grid_b"] and grant.patient_id == p01.pk
    hours = (grant.expires_at - grant.granted_at).total_seconds() / 3600
    assert abs(hours - settings.GRIDCARE_BREAK_GLASS_HOURS) < 0.01 and settings.GRIDCARE_BREAK_GLASS_HOURS == 3
    entry = AccessLog.objects.get(action="break_glass")
    assert entry.purpose == "emergency" and "突发急症" in entry.reason and entry.patient_ids == [p01.pk]
    page = client.get(reverse("patients:patient", args=[p01.pk]))
    assert page.status_code == 200 and 'id="break-glass"' in page.content.decode()
    assert page.context["groups"] == {"identity"}  # a grid worker's fields, no more
    assert client.get(reverse("api:patient-detail", args=[p01.pk])).status_code == 200
    # Read only: no change goes through a break-glass.
    assert client.patch(reverse("api:patient-detail", args=[p01.pk]), {"phone": "13800000000"},
                        content_type="application/json").status_code == 404
    assert client.post(reverse("patients:event-report", args=[p01.pk]), {}).status_code == 404
    # Not in lists either: one record, opened.
    assert p01.pk not in {r["id"] for r in client.get(reverse("api:patients")).json()["results"]}
    AccessGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("patients:patient", args=[p01.pk])).status_code == 404


def test_the_glass_is_not_broken_without_a_reason_or_for_nobody(register):
    client = client_for(register["grid_b"])
    response = break_glass(client, "P01", reason="看看")
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    response = break_glass(client, "P99")
    assert response.status_code == 200 and response.context["form"].errors["patient"]
    assert not AccessGrant.objects.exists()
    assert AccessLog.objects.get(action="denied").query == {"searched": "P99"}
    # One's own patient needs no glass.
    response = break_glass(client_for(register["grid_a"]), "P01")
    assert response.status_code == 302 and not AccessGrant.objects.exists()
    # Someone without responsibilities may not.
    nobody = client_for(User.objects.create_user("nobody", password="x-long-password-1"))
    assert nobody.get(reverse("patients:break-glass")).status_code == 403


# --- The county office's viewer -----------------------------------------------------------------

def test_the_county_office_reads_the_log_and_every_break_glass(register, county):
    break_glass(client_for(register["grid_b"]), "P01")
    client_for(register["grid_a"]).get(reverse("patients:patients"))
    viewer = client_for(county)
    page = viewer.get(reverse("patients:audit"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="grants"' in html and "突发急症" in html and "P01" in html
    shown = {e.username for e in page.context["page"]}
    assert {"grid_a", "grid_b"} <= shown
    only = viewer.get(reverse("patients:audit") + "?action=break_glass").context["page"]
    assert [e.action for e in only] == ["break_glass"]
    by_patient = viewer.get(reverse("patients:audit") + "?patient=P01").context["page"]
    assert by_patient and all(p("P01").pk in e.patient_ids for e in by_patient)
    by_person = viewer.get(reverse("patients:audit") + "?username=grid_a").context["page"]
    assert by_person and {e.username for e in by_person} == {"grid_a"}
    assert AccessLog.objects.filter(username="office", purpose="audit").count() == 4  # reading is logged


def test_an_auditor_of_another_county_sees_none_of_these_rows(register):
    other_county = GridUnit.objects.create(code="610728", name="另一县", level=1,
                                           geom="SRID=4326;MULTIPOLYGON(((110 30,110.1 30,110.1 30.1,110 30)))")
    auditor = User.objects.create_user("auditor", password="x-long-password-1")
    StaffAssignment.objects.create(user=auditor, role=Role.COUNTY_OFFICE, unit=other_county)
    client_for(register["grid_a"]).get(reverse("patients:patients"))
    page = client_for(auditor).get(reverse("patients:audit"))
    assert page.status_code == 200
    assert {e.username for e in page.context["page"]} <= {"auditor"}


def test_the_viewer_pages_through_the_log_keeping_its_filters(register, county):
    for _ in range(105):
        access.log(user=register["grid_a"], action="list", purpose="care")
    access.log(user=register["grid_b"], action="list", purpose="care")
    viewer = client_for(county)
    first = viewer.get(reverse("patients:audit") + "?username=grid_a")
    html = first.content.decode()
    assert "1 / 2" in html and "username=grid_a&page=2" in html and "page=0" not in html
    second = viewer.get(reverse("patients:audit") + "?username=grid_a&page=2")
    assert len(second.context["page"]) == 5 and {e.username for e in second.context["page"]} == {"grid_a"}
    assert "2 / 2" in second.content.decode() and "username=grid_a&page=1" in second.content.decode()
