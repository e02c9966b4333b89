"""The transfer inbox/outbox in a real browser: deadlines counting down, the steps
taken by the right people, the arrow on the map (R24, R25)."""

import pytest

from cases.patients.models import Patient
from cases.transfers.models import Transfer
from config.importers import grid_units_import, patients_import, staff_import
from tests.ledgers import patient, write_table
from tests.transfers.test_moves import AS_OF, MOVE_GRID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
STAFF = [("g1", "网格员", "61072700100101"), ("t1_office", "乡镇综治办", "610727001"),
         ("t2_office", "乡镇综治办", "610727002")]


@pytest.fixture
def moving(write_units, tmp_path, django_user_model):
    assert grid_units_import(path=write_units(MOVE_GRID)).ok
    rows = [{"username": u, "name": f"{u}姓名", "role": r, "unit_code": c} for u, r, c in STAFF]
    assert staff_import(path=write_table(tmp_path / "s.csv", rows)).ok
    for name, (x, y) in (("a", (106.02, 33.05)), ("b", (106.3, 33.1))):
        ledger = write_table(tmp_path / f"{name}.csv", [patient("P01", residence_lon=str(x),
                                                                residence_lat=str(y))])
        assert patients_import(path=ledger, as_of=AS_OF).ok
    for user in django_user_model.objects.all():
        user.set_password("pw-12345678")
        user.save()
    return Transfer.objects.get()


def login(page, live_server, username):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-12345678")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def step(page, live_server, box, action):
    page.goto(f"{live_server.url}/patients/transfers/?box={box}")
    page.click(f"button[data-action={action}]")
    page.wait_for_selector(".messages")


def test_a_transfer_is_reported_exchanged_and_accepted_through_the_pages(page, live_server, moving,
                                                                         screenshot):
    login(page, live_server, "g1")
    page.goto(f"{live_server.url}/patients/transfers/?box=outbox")
    assert "剩余" in page.locator("#transfers .countdown").inner_text()  # 24 hours to report
    assert page.locator("button[data-action=exchange]").count() == 0  # not a grid worker's step
    step(page, live_server, "outbox", "report")
    login(page, live_server, "t1_office")
    step(page, live_server, "outbox", "exchange")
    login(page, live_server, "t2_office")
    page.goto(f"{live_server.url}/patients/transfers/?box=inbox")
    screenshot("transfer-inbox")
    step(page, live_server, "inbox", "accept")
    moving.refresh_from_db()
    assert moving.state == "accepted"
    assert Patient.objects.get().micro_grid.code == "6107270020010101"


def test_an_overdue_transfer_is_red(page, live_server, moving):
    from datetime import timedelta

    Transfer.objects.filter(pk=moving.pk).update(report_by=moving.detected_at - timedelta(hours=1))
    login(page, live_server, "g1")
    page.goto(f"{live_server.url}/patients/transfers/?box=outbox")
    assert "已超时" in page.locator("#transfers .countdown").inner_text()
    assert page.locator("#transfers tr.overdue").count() == 1


def test_the_map_draws_transfers_in_progress_as_arrows(page, live_server, moving, screenshot):
    login(page, live_server, "t1_office")
    page.wait_for_selector("#gridmap[data-tiles-drawn]")
    page.check("#show-transfers")
    page.wait_for_selector("#gridmap[data-transfers='1']")
    assert page.locator("path.transfer-arrow").count() == 1
    screenshot("map-transfers")


def test_the_patient_page_shows_the_transfer_history(page, live_server, moving):
    login(page, live_server, "t1_office")
    page.goto(f"{live_server.url}/patients/{moving.patient_id}/")
    history = page.locator("#transfer-history").inner_text()
    assert "镇2" in history or "村3" in history or "微5" in history


def test_a_new_residence_entered_on_the_patient_page_opens_a_move_R23(page, live_server, moving):
    from tests.transfers.test_moves import EDGES

    login(page, live_server, "t1_office")
    Transfer.objects.all().delete()
    p = Patient.objects.get()
    page.goto(f"{live_server.url}/patients/{p.pk}/")
    (x, y), _ = EDGES[2]  # the shared edge of micro-grids 2 and 4: R0 puts it in micro-grid 2
    page.fill("#residence-form input[name=residence_address]", "村1 新址")
    page.fill("#residence-form input[name=lon]", str(x))
    page.fill("#residence-form input[name=lat]", str(y))
    page.click("#residence-form button[type=submit]")
    page.wait_for_selector(".messages")
    transfer = Transfer.objects.get()
    assert (transfer.kind, transfer.source, transfer.to_unit.code) == ("micro_grid", "form",
                                                                         "6107270010010102")
    p.refresh_from_db()
    assert p.micro_grid.code == "6107270010010102" and p.residence_address == "村1 新址"  # handoff
