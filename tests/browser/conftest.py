"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Playwright's Python wheel carries its driver; its own browser download is
never used. Django's live_server runs the app in a thread of this process.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GRIDCARE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh page. Whatever the test does, the Content-Security-Policy must not have
    blocked anything on it (an inline script or style without the nonce would be)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not refused, refused


@pytest.fixture
def screenshot(page):
    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def logged_in(page, live_server, django_user_model, transactional_db):
    """A member of staff logged in through the real login form."""
    django_user_model.objects.create_user("mapper", password="pw-12345678", full_name="测试员")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "mapper")
    page.fill("input[name=password]", "pw-12345678")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def authenticator_code(secret: str) -> str:
    """What an authenticator app shows now for a base32 key (RFC 6238, as django-otp)."""
    import base64

    from django_otp.oath import totp

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def give_second_factor(page) -> None:
    """On the two-factor page, the first time: read the key as a person would type it into
    their app, and enter the code the app would show."""
    page.wait_for_selector("form input[name=token]")
    secret = page.locator(".secret code").inner_text().strip()
    page.fill("input[name=token]", authenticator_code(secret))
    page.click("form button[type=submit]")
