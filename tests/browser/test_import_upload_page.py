"""The admin upload page in a real browser: upload, job, progress bar, report."""

import pytest

from gridmap.models import GridUnit
from tests.browser.conftest import give_second_factor
from tests.conftest import SMALL_GRID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_page(page, live_server, django_user_model):
    django_user_model.objects.create_superuser("boss", password="pw-12345678")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pw-12345678")
    page.click("input[type=submit]")
    page.wait_for_url("**/account/two-factor/**")  # an administrator: a second factor
    give_second_factor(page)
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def test_an_upload_shows_progress_then_the_report(admin_page, live_server, write_units,
                                                   run_worker, screenshot):
    page = admin_page
    page.goto(f"{live_server.url}/admin/gridmap/importrun/upload/")
    page.select_option("select[name=kind]", "grid_units")
    page.set_input_files("input[name=file]", str(write_units(SMALL_GRID)))
    page.click("input[type=submit]")
    page.wait_for_selector("#import-progress[data-status=queued]")
    run_worker()  # a real RQ worker takes the job from Redis
    page.wait_for_selector("#import-progress[data-status=done]", timeout=15000)
    assert page.locator("#bar").get_attribute("value") == "1"
    assert "新增 12" in page.locator("#summary").inner_text()  # zh-hans first
    assert GridUnit.objects.count() == len(SMALL_GRID)
    screenshot("import-done")


def test_a_bad_upload_lists_every_error(admin_page, live_server, write_units, run_worker):
    page = admin_page
    bad = [SMALL_GRID[0], ("610727001", "", 2, "999", SMALL_GRID[1][4])]
    page.goto(f"{live_server.url}/admin/gridmap/importrun/upload/")
    page.set_input_files("input[name=file]", str(write_units(bad)))
    page.click("input[type=submit]")
    page.wait_for_selector("#import-progress[data-status=queued]")
    run_worker()
    page.wait_for_selector("#import-progress[data-status=failed]", timeout=15000)
    errors = page.locator("#errors li").all_inner_texts()
    assert errors == ["feature 2, column name: name is required",
                      "feature 2, column parent_code: unknown parent 999: neither in the file nor stored"]
    assert GridUnit.objects.count() == 0
