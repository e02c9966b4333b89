"""The transfer state machine (R24–R26), its deadlines, the sweep, and races."""

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cases.patients.models import EventReport, Patient, Task
from cases.transfers import services as transfers
from cases.transfers.models import Alert, Transfer
from gridmap.models import CalendarDay, User
from gridmap.selectors import calendar_overrides
from tests.conftest import sign_in
from tests.helpers import run_import
from tests.ledgers import write_table
from tests.transfers.test_moves import AS_OF, ledger, move_grid  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
STAFF = [
    ("g1", "网格员", "61072700100101"), ("t1_office", "乡镇综治办", "610727001"),
    ("t2_office", "乡镇综治办", "610727002"), ("county_a", "区县重精办", "610727"),
    ("t3_office", "乡镇综治办", "610728001"),
]


@pytest.fixture
def people(move_grid, tmp_path):  # noqa: F811
    rows = [{"username": u, "name": u, "role": r, "unit_code": c} for u, r, c in STAFF]
    assert run_import("function", "import_staff", write_table(tmp_path / "s.csv", rows))[0]
    return {u.username: u for u in User.objects.all()}


def move(tmp_path, to):
    """A patient at micro-grid 1 whose ledger now says `to`; returns the open transfer."""
    run_import("function", "import_patients", ledger(tmp_path, [(106.02, 33.05)], "a"), as_of=AS_OF)
    run_import("function", "import_patients", ledger(tmp_path, [to], "b"), as_of=AS_OF)
    return Transfer.objects.get(state__in=Transfer.OPEN_STATES)


TOWNSHIP_2 = (106.3, 33.1)
COUNTY_B = (106.5, 33.1)


def test_R24_R25_report_exchange_accept_moves_the_patient_and_their_tasks(people, tmp_path):
    transfer = move(tmp_path, TOWNSHIP_2)
    p = Patient.objects.get()
    Task.objects.create(patient=p, kind="retry", opened_on=AS_OF, unit=transfer.from_unit)
    transfers.transfer_report(user=people["g1"], transfer=transfer)
    assert transfer.state == "reported"
    assert transfer.exchange_by - transfer.reported_at == timedelta(hours=24)
    transfers.transfer_exchange(user=people["t1_office"], transfer=transfer)
    with pytest.raises(transfers.TransitionError, match="destination"):
        transfers.transfer_accept(user=people["t1_office"], transfer=transfer)  # only the destination
    transfers.transfer_accept(user=people["t2_office"], transfer=transfer)
    p.refresh_from_db()
    assert transfer.state == "accepted" and p.micro_grid.code == "6107270020010101"
    assert p.residence_address == "地址0-b" and p.township.code == "610727002"
    assert Task.objects.get(patient=p, kind="retry").unit == transfer.to_unit  # moved in one transaction
    assert not Task.objects.filter(patient=p, kind="phone_follow_up", closed_on__isnull=True).exists()


def test_R24_steps_are_taken_in_order_by_the_right_people(people, tmp_path):
    transfer = move(tmp_path, TOWNSHIP_2)
    with pytest.raises(transfers.TransitionError):
        transfers.transfer_exchange(user=people["t1_office"], transfer=transfer)  # not reported yet
    with pytest.raises(transfers.TransitionError, match="origin"):
        transfers.transfer_report(user=people["t2_office"], transfer=transfer)
    transfers.transfer_report(user=people["g1"], transfer=transfer)
    with pytest.raises(transfers.TransitionError, match="township group"):
        transfers.transfer_exchange(user=people["g1"], transfer=transfer)
    with pytest.raises(transfers.TransitionError, match="changed state"):
        transfers.transfer_report(user=people["g1"], transfer=transfer)  # already reported


@pytest.mark.parametrize("exchanged,accept_by,fallback", [
    # National Day 2025: 10-01..10-08 off, Saturday 10-11 worked: 10-09, 10-10, 10-11, 10-13, 10-14.
    (datetime(2025, 9, 30, 10, 0, tzinfo=BJ), date(2025, 10, 14), []),
    # Spring Festival 2026: 02-15..02-23 off; exchanged on the make-up Saturday 02-14 (not
    # counted): 02-24, 02-25, 02-26, 02-27 and the make-up Saturday 02-28.
    (datetime(2026, 2, 14, 9, 0, tzinfo=BJ), date(2026, 2, 28), []),
    # Late December 2026 runs into 2027, which the calendar does not know: Monday–Friday.
    (datetime(2026, 12, 28, 9, 0, tzinfo=BJ), date(2027, 1, 4), [2027]),
])
def test_R24_accept_within_five_working_days_of_the_exchange(people, tmp_path, exchanged, accept_by,
                                                            fallback):
    transfer = move(tmp_path, TOWNSHIP_2)
    transfers.transfer_report(user=people["g1"], transfer=transfer, now=exchanged - timedelta(hours=2))
    transfers.transfer_exchange(user=people["t1_office"], transfer=transfer, now=exchanged)
    assert transfer.accept_by.astimezone(BJ).date() == accept_by
    assert transfer.accept_by.astimezone(BJ).time().hour == 23
    assert transfer.calendar_fallback_years == fallback


def test_R24_an_administrators_holiday_moves_the_deadline_in_an_unknown_year(people, tmp_path):
    CalendarDay.objects.create(day=date(2027, 1, 1), working=False, note="元旦")
    transfer = move(tmp_path, TOWNSHIP_2)
    transfers.transfer_report(user=people["g1"], transfer=transfer)
    transfers.transfer_exchange(user=people["t1_office"], transfer=transfer,
                                now=datetime(2026, 12, 28, 9, 0, tzinfo=BJ))
    assert transfer.accept_by.astimezone(BJ).date() == date(2027, 1, 5)


def test_R26_a_dispute_carries_the_risk_and_escalates_to_the_county_office(people, tmp_path):
    transfer = move(tmp_path, TOWNSHIP_2)
    transfers.transfer_report(user=people["g1"], transfer=transfer)
    transfers.transfer_exchange(user=people["t1_office"], transfer=transfer)
    with pytest.raises(transfers.TransitionError, match="explanation"):
        transfers.transfer_dispute(user=people["t2_office"], transfer=transfer, explanation=" ")
    transfers.transfer_dispute(user=people["t2_office"], transfer=transfer, explanation="查无此人")
    assert (transfer.state, transfer.dispute_risk_level) == ("disputed", 0)
    transfers.transfer_escalate(user=people["t2_office"], transfer=transfer)
    assert (transfer.state, transfer.escalated_to) == ("escalated", "county")
    with pytest.raises(transfers.TransitionError):
        transfers.transfer_resolve(user=people["t1_office"], transfer=transfer, accept=True, resolution="x")
    transfers.transfer_resolve(user=people["county_a"], transfer=transfer, accept=False,
                               resolution="仍由原地管理")
    assert transfer.state == "resolved" and Patient.objects.get().micro_grid.code == "6107270010010101"


def test_R26_a_dispute_across_counties_goes_above_the_counties(people, tmp_path):
    transfer = move(tmp_path, COUNTY_B)
    assert transfer.kind == "county"
    transfers.transfer_report(user=people["g1"], transfer=transfer)
    transfers.transfer_dispute(user=people["t3_office"], transfer=transfer, explanation="不在本县")
    transfers.transfer_escalate(user=people["t1_office"], transfer=transfer)
    assert transfer.escalated_to == "above_county"
    with pytest.raises(transfers.TransitionError, match="above the counties"):
        transfers.transfer_resolve(user=people["county_a"], transfer=transfer, accept=True, resolution="x")


def test_R24_the_sweep_raises_each_missed_deadline_once(people, tmp_path):
    transfer = move(tmp_path, TOWNSHIP_2)
    later = transfer.report_by + timedelta(minutes=1)
    assert transfers.transfers_sweep(now=transfer.report_by - timedelta(minutes=1))["report_overdue"] == 0
    assert transfers.transfers_sweep(now=later)["report_overdue"] == 1
    assert transfers.transfers_sweep(now=later)["report_overdue"] == 0  # run twice: nothing twice
    alert = Alert.objects.get()
    assert alert.unit == transfer.from_unit and alert.cleared_at is None
    transfers.transfer_report(user=people["g1"], transfer=transfer)
    alert.refresh_from_db()
    assert alert.cleared_at is not None


def test_R28_an_event_not_reported_within_six_hours_is_flagged(people, tmp_path):
    move(tmp_path, TOWNSHIP_2)
    found = datetime(2026, 6, 1, 8, 0, tzinfo=BJ)
    event = EventReport.objects.create(patient=Patient.objects.get(), kind="relapse", discovered_at=found,
                                       due_by=found + timedelta(hours=6))
    assert transfers.transfers_sweep(now=found + timedelta(hours=6, minutes=1))["event_overdue"] == 1
    assert Alert.objects.get(event_report=event).kind == "event_overdue"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_moves_of_one_patient_open_one_transfer(move_grid, tmp_path):  # noqa: F811
    """Two real connections, released together by a barrier."""
    from django.contrib.gis.geos import Point
    from django.db import connection

    run_import("function", "import_patients", ledger(tmp_path, [(106.02, 33.05)], "a"), as_of=AS_OF)
    pk = Patient.objects.get().pk
    root = User.objects.create_superuser("root", password="x-12345678")
    barrier, results, errors = threading.Barrier(2), [], []

    def mover(x):
        try:
            patient = Patient.objects.get(pk=pk)
            barrier.wait(timeout=10)
            results.append(transfers.patient_move(user=root, patient=patient, point=Point(x, 33.1, srid=4326)))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=mover, args=(x,)) for x in (106.3, 106.35)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert Transfer.objects.filter(state__in=Transfer.OPEN_STATES).count() == 1
    assert sum(r is not None for r in results) == 1


def test_the_sweep_job_runs_on_a_real_worker(people, tmp_path, redis_queue, run_worker):
    from cases.transfers.jobs import transfers_sweep_job

    transfer = move(tmp_path, TOWNSHIP_2)
    Transfer.objects.filter(pk=transfer.pk).update(report_by=transfer.detected_at - timedelta(hours=1))
    redis_queue.enqueue(transfers_sweep_job)
    run_worker()
    assert Alert.objects.filter(transfer=transfer, kind="report_overdue").count() == 1


def test_R24_the_destination_sees_an_incoming_patient_until_the_transfer_closes(people, tmp_path):
    from cases.patients.selectors import patients_visible_to

    transfer = move(tmp_path, TOWNSHIP_2)
    assert patients_visible_to(people["t2_office"]).count() == 1
    assert patients_visible_to(people["t3_office"]).count() == 0
    transfers.transfer_cancel(user=people["t1_office"], transfer=transfer, reason="误报")
    assert patients_visible_to(people["t2_office"]).count() == 0
    assert patients_visible_to(people["g1"]).count() == 1  # the origin kept the patient


def test_export_transfers_lists_kinds_units_deadlines_and_whether_they_were_met(people, tmp_path):
    import csv
    import io

    from django.core.management import call_command

    from gridmap.models import AccessLog

    transfer = move(tmp_path, TOWNSHIP_2)
    transfers.transfer_report(user=people["g1"], transfer=transfer,
                              now=transfer.report_by + timedelta(hours=1))  # an hour late
    out = tmp_path / "t.csv"
    call_command("export_transfers", "--purpose=transfer", "--lang=en", "-o", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert (row["patient_no"], row["kind"], row["from_code"], row["to_code"], row["state"]) == (
        "P000", "township", "6107270010010101", "6107270020010101", "reported")
    assert (row["report_met"], row["exchange_met"], row["accept_met"]) == ("no", "", "")
    assert AccessLog.objects.filter(action="export", query__ledger="transfers").exists()
    out2 = tmp_path / "t2.csv"
    call_command("export_transfers", "--purpose=transfer", "--user=t3_office", "-o", str(out2))
    assert len(out2.read_bytes().decode("utf-8-sig").strip().splitlines()) == 1  # header only


def test_export_transfers_leaves_to_blank_for_an_outflow(people, tmp_path):
    import csv
    import io

    from django.core.management import call_command

    move(tmp_path, (108.5, 34.2))
    out = tmp_path / "t.csv"
    call_command("export_transfers", "--purpose=transfer", "--lang=en", "--format=csv", "-o", str(out))
    [row] = csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig")))
    assert (row["kind"], row["to_code"], row["state"]) == ("outside", "", "outflow")


def test_R26_an_outflow_to_another_province_gets_a_drafted_letter(people, tmp_path, client):
    import io

    from docx import Document

    from cases.transfers import letters
    from gridmap.models import AccessLog

    transfer = move(tmp_path, (104.07, 30.66))  # Chengdu, 四川省
    assert (transfer.kind, transfer.state) == ("outside", "outflow")
    assert letters.needs_letter(transfer) == ("510000", "四川省")
    sign_in(client, people["county_a"])
    response = client.get(f"/patients/transfers/{transfer.pk}/letter.docx")
    assert response.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    cells = [c.text for t in Document(io.BytesIO(response.content)).tables for r in t.rows for c in r.cells]
    assert "四川省严重精神障碍管理治疗工作办公室" in text and "县A严重精神障碍管理治疗工作办公室" in text
    assert "患者P000" in cells and "地址0-b" in cells
    assert AccessLog.objects.filter(action="export", query__letter=transfer.pk).exists()
    client.force_login(people["g1"])  # a grid worker drafts no letters
    assert client.get(f"/patients/transfers/{transfer.pk}/letter.docx").status_code == 404


def test_R26_an_outflow_within_the_province_needs_no_letter(people, tmp_path):
    from cases.transfers import letters

    transfer = move(tmp_path, (108.94, 34.34))  # Xi'an, still 陕西省 like the origin 610727
    assert transfer.kind == "outside" and letters.needs_letter(transfer) is None


def test_R25_an_outflow_keeps_the_origin_responsible_with_phone_follow_ups(people, tmp_path):
    transfer = move(tmp_path, (108.5, 34.2))
    assert transfer.state == "outflow"
    task = Task.objects.get(kind="phone_follow_up", closed_on__isnull=True)
    assert task.unit == transfer.from_unit
    assert Patient.objects.get().micro_grid.code == "6107270010010101"


def test_an_administrator_enters_calendar_days(admin_client):
    response = admin_client.post("/admin/gridmap/calendarday/add/",
                                 {"day": "2027-01-01", "working": "", "note": "元旦"})
    assert response.status_code == 302
    assert calendar_overrides().holidays == frozenset({date(2027, 1, 1)})


@pytest.mark.parametrize("next_page, lands_on", [
    ("/patients/transfers/?box=outbox", "/patients/transfers/?box=outbox"),  # the page that asked
    ("https://evil.example/phish", "/patients/transfers/"),  # another site: not followed
    ("//evil.example/phish", "/patients/transfers/"),
])
def test_a_step_returns_to_the_asking_page_and_never_to_another_site(people, tmp_path, client, next_page,
                                                                     lands_on):
    transfer = move(tmp_path, TOWNSHIP_2)
    client.force_login(people["g1"])
    response = client.post(f"/patients/transfers/{transfer.pk}/report/", {"next": next_page})
    assert response.status_code == 302 and response.url == lands_on
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.REPORTED


def test_a_transfer_is_open_exactly_while_it_has_no_closing_time(people, tmp_path):
    """The register's scope reads an open transfer from closed_at (R24); the database holds
    every row to it, whatever path wrote it."""
    from django.db import IntegrityError, transaction

    transfer = move(tmp_path, TOWNSHIP_2)
    for state in Transfer.State.values:
        with pytest.raises(IntegrityError), transaction.atomic():
            closed = None if state in Transfer.OPEN_STATES else transfer.detected_at
            Transfer.objects.filter(pk=transfer.pk).update(
                state=state, closed_at=transfer.detected_at if closed is None else None)


def test_a_patient_who_has_left_is_not_named_in_the_outbox_and_every_name_shown_is_logged(
        people, tmp_path, client):
    """Probe finding 7: the outbox (show=all) named patients who had left the user's scope,
    and the alerts on the page were not in the access log."""
    from gridmap.models import AccessLog

    transfer = move(tmp_path, TOWNSHIP_2)
    patient = transfer.patient
    transfers.transfer_report(user=people["g1"], transfer=transfer)
    transfers.transfer_exchange(user=people["t1_office"], transfer=transfer)
    transfers.transfer_accept(user=people["t2_office"], transfer=transfer)
    client.force_login(people["t1_office"])  # the origin: the patient is no longer theirs
    page = client.get("/patients/transfers/", {"box": "outbox", "show": "all"})
    body = page.content.decode()
    assert page.status_code == 200 and f'data-transfer="{transfer.pk}"' in body
    assert patient.name not in body and patient.patient_no not in body
    assert client.get(f"/api/patients/{patient.pk}/").status_code == 404

    found = transfer.detected_at
    EventReport.objects.create(patient=patient, kind="relapse", discovered_at=found,
                               due_by=found + timedelta(hours=6))
    assert transfers.transfers_sweep(now=found + timedelta(hours=7))["event_overdue"] == 1
    client.force_login(people["t2_office"])  # the patient's township now: the alert names them
    assert patient.patient_no in client.get("/patients/transfers/", {"box": "outbox"}).content.decode()
    log = AccessLog.objects.filter(user=people["t2_office"], query__transfers="outbox").latest("at")
    assert patient.pk in log.patient_ids
