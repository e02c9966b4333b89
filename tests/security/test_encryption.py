"""ID and telephone numbers encrypted at rest (issue 10, Deliver 3): AES-GCM with keys from
the environment, a keyed hash for exact search and for the guardian-sharing rule (R15),
key rotation by a command, and no filter that would silently find nothing."""

import base64
import os
import subprocess
import sys
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from cases.patients.models import Guardian, Patient
from cases.patients.selectors import patient_find
from gridmap import crypto
from tests.helpers import run_import
from tests.ledgers import id_number, patient, write_table

pytestmark = pytest.mark.django_db


def stored(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE coalesce({column}, '') <> '' ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def ledger(small_grid, tmp_path):
    shared = id_number(date(1950, 1, 1), "F", seq=7)
    rows = [patient("P01", guardian_id_number=shared, guardian_name="王母", guardian_phone="13812345678"),
            patient("P02", guardian_id_number=shared, guardian_name="王母", guardian_phone="13812345678"),
            patient("P03", guardian_name="李父", guardian_phone="13900001111")]
    path = write_table(tmp_path / "ledger.csv", rows)
    ok, text = run_import("function", "import_patients", path, as_of=date(2026, 6, 30))
    assert ok, text
    return path, rows, shared


def test_nothing_identifying_is_stored_in_the_clear(ledger):
    _, rows, shared = ledger
    numbers = {r["id_number"] for r in rows} | {shared, "13812345678", "13900001111"}
    sealed = stored("cases_patient", "id_number") + stored("cases_guardian", "id_number") + \
        stored("cases_guardian", "phone") + stored("cases_guardian", "key")
    assert sealed and not any(number in value for value in sealed for number in numbers)
    assert all(v.startswith(crypto.current_key_id() + "$") for v in stored("cases_patient", "id_number"))
    with connection.cursor() as cursor:  # nor anywhere in the rows, whatever the column
        cursor.execute("SELECT t::text FROM cases_patient t UNION ALL SELECT g::text FROM cases_guardian g")
        assert not any(number in row for (row,) in cursor.fetchall() for number in numbers)
    # Through the models, the plain values.
    assert {p.id_number for p in Patient.objects.all()} == {r["id_number"] for r in rows}
    assert sorted(g.phone for g in Guardian.objects.all()) == ["13812345678", "13900001111"]


def test_a_value_moved_to_another_column_does_not_decrypt(ledger):
    value = stored("cases_patient", "id_number")[0]
    with pytest.raises(InvalidTag):
        crypto.decrypt(value, "cases_guardian.id_number")


def test_the_same_guardian_is_found_by_the_index_R15(ledger):
    _, _, shared = ledger
    assert Guardian.objects.count() == 2
    mother = Guardian.objects.get(id_number_index=crypto.index(shared))
    assert mother.patients.count() == 2
    assert set(Patient.objects.filter(guardian=mother).values_list("patient_no", flat=True)) == {"P01", "P02"}
    # R15: a guardian of two active patients makes them weakly guarded (classification
    # joins on the index, never on a plain number).
    assert all("weak_guardian" in p.key_groups for p in Patient.objects.filter(guardian=mother))


def test_a_reimport_of_the_same_ledger_changes_nothing(ledger):
    path, _, _ = ledger
    before = stored("cases_patient", "id_number"), stored("cases_guardian", "phone")
    from config.importers import patients_import

    report = patients_import(path=path, as_of=date(2026, 6, 30))
    assert report.ok and report.updated == 0 and report.unchanged == 3
    assert (stored("cases_patient", "id_number"), stored("cases_guardian", "phone")) == before


def test_a_filter_on_an_encrypted_column_is_refused(ledger):
    with pytest.raises(FieldError, match="encrypted"):
        Patient.objects.filter(id_number="610727197607018236").exists()


def test_search_by_id_number_uses_the_index(ledger):
    _, rows, _ = ledger
    assert patient_find(rows[1]["id_number"].lower()).patient_no == "P02"  # normalised
    assert patient_find("110101190001011234") is None


def test_rotating_the_keys_reencrypts_and_reindexes_everything(ledger, settings):
    _, rows, shared = ledger
    old_field, old_index = settings.GRIDCARE_FIELD_KEYS, settings.GRIDCARE_INDEX_KEYS
    settings.GRIDCARE_FIELD_KEYS = [("k9", os.urandom(32)), *old_field]
    settings.GRIDCARE_INDEX_KEYS = [("i9", os.urandom(32)), *old_index]
    crypto.keys_reset()
    try:
        assert patient_find(rows[0]["id_number"]) is None  # indexed with the old key still
        call_command("rotate_field_keys", stdout=open(os.devnull, "w"))
        assert all(v.startswith("k9$") for v in stored("cases_patient", "id_number") +
                   stored("cases_guardian", "phone"))
        assert all(v.startswith("i9$") for v in stored("cases_guardian", "id_number_index"))
        settings.GRIDCARE_FIELD_KEYS = settings.GRIDCARE_FIELD_KEYS[:1]  # the old key can go
        crypto.keys_reset()
        assert {p.id_number for p in Patient.objects.all()} == {r["id_number"] for r in rows}
        assert patient_find(rows[0]["id_number"]).patient_no == "P01"
        mother = Guardian.objects.get(id_number_index=crypto.index(shared))
        assert mother.key == mother.id_number_index and mother.patients.count() == 2
    finally:
        settings.GRIDCARE_FIELD_KEYS, settings.GRIDCARE_INDEX_KEYS = old_field, old_index
        crypto.keys_reset()


def test_keys_come_from_the_environment():
    key = base64.b64encode(b"k" * 32).decode()
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.GRIDCARE_FIELD_KEYS[0][0], len(s.GRIDCARE_FIELD_KEYS), s.GRIDCARE_INDEX_KEYS[0][0])")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "GRIDCARE_FIELD_KEYS": f"k2:{key},k1:{key}", "GRIDCARE_INDEX_KEYS": f"i1:{key}"}
    out = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out == ["k2", "2", "i1"]


def test_masks_show_the_region_and_the_last_four():
    assert crypto.mask_id("610727197607018236") == "610727********8236"
    assert crypto.mask_phone("13812345678") == "138****5678"
    assert crypto.mask_id("") == "" and crypto.mask_phone("110") == "***"
