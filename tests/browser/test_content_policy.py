"""The Content-Security-Policy holds in a real browser: markup injected into a page (the
way an address or a note would be, if a template ever failed to escape it) cannot run
script or restyle the page, while the page's own scripts run (the map draws)."""

import pytest

from config.importers import grid_units_import
from tests.conftest import SMALL_GRID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_injected_script_and_style_are_refused_while_the_page_runs(
        browser, live_server, django_user_model, write_units):
    assert grid_units_import(path=write_units(SMALL_GRID)).ok
    django_user_model.objects.create_user("mapper", password="pw-12345678-long")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "mapper")
    page.fill("input[name=password]", "pw-12345678-long")
    page.click("button[type=submit]")
    page.wait_for_selector("#gridmap[data-tiles-drawn]")  # the page's own scripts ran
    assert not refused
    page.evaluate("""() => document.body.insertAdjacentHTML('beforeend',
        '<img id="x" src="data:," onerror="window.injected = 1">' +
        '<script>window.injected = 2</' + 'script>' +
        '<div id="styled" style="color: rgb(255, 0, 0)">x</div>')""")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.injected") is None
    assert page.evaluate("() => getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
    assert any("script-src" in text for text in refused) and any("style-src" in text for text in refused)
    context.close()
