"""The patient pages in a real browser: list with key-group counts, detail with team
and map, the follow-up form applying the rules at once, and scope by persona."""

import pytest

from cases.patients.models import Patient
from config.importers import grid_units_import, patients_import, staff_import
from gridmap.models import AccessLog
from tests.conftest import AS_OF, PATIENTS, SMALL_GRID, STAFF
from tests.ledgers import write_table

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def register(write_units, tmp_path, django_user_model):
    assert grid_units_import(path=write_units(SMALL_GRID)).ok
    staff = [{"username": u, "name": f"{u}姓名", "role": r, "unit_code": c} for u, r, c in STAFF]
    assert staff_import(path=write_table(tmp_path / "staff.csv", staff)).ok
    assert patients_import(path=write_table(tmp_path / "ledger.csv", PATIENTS), as_of=AS_OF).ok
    for user in django_user_model.objects.all():
        user.set_password("pw-12345678")
        user.save()


def login(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-12345678")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def listed(page) -> list[str]:
    return page.locator("#patients tbody td:first-child a").all_inner_texts()


def test_health_staff_list_patients_with_key_group_counts_and_filter(page, live_server, register, screenshot):
    login(page, live_server, "health")
    page.goto(f"{live_server.url}/patients/")
    assert listed(page) == ["P01", "P02", "P04", "P05"]
    chip = page.locator("a.chip[data-key-group=high_risk]")
    assert chip.locator("b").inner_text() == "1"
    screenshot("patient-list")
    chip.click()
    page.wait_for_url("**key_group=high_risk")
    assert listed(page) == ["P01"]
    assert AccessLog.objects.filter(action="list", user__username="health").count() == 2


def test_a_grid_worker_sees_only_their_grid_and_no_medical_columns(page, live_server, register):
    login(page, live_server, "grid_b")
    page.goto(f"{live_server.url}/patients/")
    assert listed(page) == ["P02"]
    assert page.locator("a.chip").count() == 0
    assert "诊断" not in page.content() and "危险" not in page.locator("#patients").inner_text()
    p1 = Patient.objects.get(patient_no="P01")
    response = page.goto(f"{live_server.url}/patients/{p1.pk}/")
    assert response.status == 404


def test_the_detail_page_shows_team_gaps_and_map_and_records_a_follow_up(page, live_server, register,
                                                                          screenshot):
    login(page, live_server, "health")
    p1 = Patient.objects.get(patient_no="P01")
    page.goto(f"{live_server.url}/patients/{p1.pk}/")
    team = page.locator("#team").inner_text()
    assert "police姓名" in team and "micro_doc姓名" in team and "缺" in team  # liaison leader gap
    care = page.locator("#care-group").inner_text()  # R21
    assert "committee姓名" in care and "grid_a姓名、grid_b姓名" in care and "village_doc姓名" in care
    page.wait_for_selector("#patientmap path.leaflet-interactive")
    page.fill("input[name=followed_at]", "2026-11-20T09:30")
    page.select_option("select[name=method]", "面访")
    page.select_option("select[name=reached]", "1")
    page.select_option("select[name=risk_level]", "1")
    page.click("#followup-form button[type=submit]")
    page.wait_for_selector(".messages")
    assert "2026-12-04" in page.locator("#next-due").inner_text()  # R5 基本稳定 → R6 14 days
    assert "基本稳定" in page.content()
    screenshot("patient-detail")
    assert AccessLog.objects.filter(action="view", patient_ids=[p1.pk]).exists()


def test_the_key_group_ledger_downloads_as_excel(page, live_server, register, tmp_path):
    login(page, live_server, "grid_a")
    page.goto(f"{live_server.url}/patients/")
    page.select_option("#ledger-form select[name=purpose]", "report")  # R35: why, for the log
    with page.expect_download() as download:
        page.click("button[data-ledger=key-groups]")
    from openpyxl import load_workbook

    saved = tmp_path / "ledger.xlsx"
    download.value.save_as(saved)
    book = load_workbook(saved)
    rows = list(book.active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["P01", "P05"]
    assert AccessLog.objects.filter(action="export", user__username="grid_a", purpose="report").exists()


def test_an_event_is_reported_from_the_patient_page_and_flagged_late_R28(page, live_server, register):
    from datetime import timedelta

    from django.utils import timezone

    from cases.patients.models import EventReport

    login(page, live_server, "grid_a")
    p1 = Patient.objects.get(patient_no="P01")
    page.goto(f"{live_server.url}/patients/{p1.pk}/")
    found = timezone.localtime(timezone.now() - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    page.select_option("#event-form select[name=kind]", "relapse")
    page.fill("#event-form input[name=discovered_at]", found)
    page.click("#event-form button[type=submit]")
    page.wait_for_selector(".messages")
    assert EventReport.objects.get().late
    assert page.locator("#events .tag.warn").count() == 1
