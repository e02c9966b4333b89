"""The patient list page: its filter and download forms, kept rendered per language and
filter values (views._list_forms), show what was asked for, in the reader's language."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def page(user, language="", **query) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/{language}/patients/" if language else "/patients/", query)
    assert response.status_code == 200
    return response.content.decode()


def selected(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"[^>]*selected', select)


def test_the_filters_show_the_values_asked_for_and_forget_them_after(register):
    health = register["health"]
    html = page(health, key_group="high_risk", q="王<b>")
    assert selected(html, "key_group") == ["high_risk"]
    assert 'value="王&lt;b&gt;"' in html and "王<b>" not in html
    again = page(health)
    assert selected(again, "key_group") in ([], [""]) and 'name="q"' in again and "王" not in again
    assert page(health, key_group="lost").count('value="lost" selected') == 1


def test_the_forms_speak_the_readers_language_and_offer_what_their_roles_give(register):
    assert "重点管理人群" in page(register["health"]) and "Key group" in page(register["health"], "en")
    assert "重点管理人群" in page(register["health"])  # the English rendering is kept apart
    grid_worker = page(register["grid_a"])
    assert 'name="key_group"' not in grid_worker and 'name="overdue"' not in grid_worker
    assert 'name="purpose"' in grid_worker and 'data-ledger="key-groups"' in grid_worker
    assert 'data-ledger="lost"' not in grid_worker and 'data-ledger="lost"' in page(register["health"])
