"""Backups (docs/operations.md, "Backups and restore"): `make backup` writes a pg_dump that
restores into another database with every row unchanged — the access log's chain too, and
its append-only triggers back — without the keys; `make restore` refuses what would lose
data: no backup named, a database that is not empty without FORCE, a database holding
tables the backup does not, and a backup that fails half-way changes nothing."""

import base64
import hashlib
import os
import re
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from cases.patients.models import Patient
from gridmap import access, crypto
from gridmap.audit import audit_head_write, audit_verify
from gridmap.backup import pg_tool
from gridmap.models import AccessLog
from tests.conftest import PATIENTS, sign_in

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump sees only what was committed
ROOT = Path(settings.BASE_DIR)
LOG = AccessLog._meta.db_table
SESSIONS = Session._meta.db_table  # their rows are left out of a backup, by design


@pytest.fixture
def logged(register, tmp_path):
    """The register, read through the pages and the API (access-log rows, one a refusal), a
    session, and the log's head written outside the database."""
    p01 = Patient.objects.get(patient_no="P01")
    health = sign_in(Client(), register["health"])
    for url in (reverse("patients:patients"), reverse("patients:patient", args=[p01.pk]),
                reverse("api:patient-detail", args=[p01.pk])):
        assert health.get(url).status_code == 200, url
    assert sign_in(Client(), register["grid_b"]).get(reverse("patients:patient", args=[p01.pk])).status_code == 404
    assert AccessLog.objects.filter(action="denied").exists() and Session.objects.exists()
    heads = tmp_path / "heads.log"
    assert audit_head_write(heads)
    return heads


@pytest.fixture
def empty_database():
    """A database beside the test database, empty (not even PostGIS), dropped afterwards.
    Names cannot be bound parameters; this one is the test database's own plus a suffix."""
    name = connection.settings_dict["NAME"] + "_restored"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def url_of(database: str) -> str:
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{database}"))


def manage(*args: str, database: str) -> subprocess.CompletedProcess:
    """A management command run as the Makefile runs it, on the database named."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url_of(database)}, timeout=120)


def fingerprint(cursor) -> dict[str, tuple[int, str]]:
    """Every table's row count and an md5 of its rows in one order (PostGIS's own excepted)."""
    cursor.execute("SET TIME ZONE 'UTC'")  # timestamps as text: the same in both sessions
    cursor.execute("""SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT EXISTS (
                        SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                      AND d.objid = c.oid AND d.deptype = 'e')""")
    tables = sorted(name for (name,) in cursor.fetchall())
    sums = {}
    for table in tables:
        cursor.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                       f'FROM "{table}" t')
        sums[table] = tuple(cursor.fetchone())
    return sums


def chain(cursor) -> list[tuple]:
    cursor.execute(f"SELECT id, seq, prev_hash, hash FROM {LOG} ORDER BY seq")
    return cursor.fetchall()


def encrypted(cursor) -> dict[str, list[tuple]]:
    values = {}
    for model, field in crypto.encrypted_columns():
        cursor.execute(f"SELECT id, {field.column} FROM {model._meta.db_table} ORDER BY id")
        values[f"{model._meta.db_table}.{field.column}"] = cursor.fetchall()
    return values


def test_a_backup_restored_into_an_empty_database_holds_every_row_unchanged_and_stays_append_only(
        logged, empty_database, tmp_path):
    with connection.cursor() as cursor:
        before, log_before, sealed = fingerprint(cursor), chain(cursor), encrypted(cursor)
    dump = tmp_path / "backups" / "gridcare.dump"
    done = manage("backup", "--output", str(dump), database=connection.settings_dict["NAME"])
    assert done.returncode == 0, done.stderr
    assert f"sha256 {hashlib.sha256(dump.read_bytes()).hexdigest()}" in done.stdout
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600 and stat.S_IMODE(dump.parent.stat().st_mode) == 0o700

    # Why the log's rows meet no trigger: pg_restore creates the triggers after the data.
    plan = [line for line in subprocess.run([pg_tool("pg_restore"), "--list", str(dump)], capture_output=True,
                                            text=True, check=True).stdout.splitlines() if f" {LOG} " in line]
    data = next(i for i, line in enumerate(plan) if " TABLE DATA " in line)
    triggers = [i for i, line in enumerate(plan) if " TRIGGER " in line]
    assert len(triggers) == 4 and min(triggers) > data

    done = manage("restore", str(dump), database=empty_database)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(url_of(empty_database), autocommit=True) as restored, restored.cursor() as cursor:
        after, log_after, sealed_after = fingerprint(cursor), chain(cursor), encrypted(cursor)
    assert before.pop(SESSIONS)[0] > 0 and after.pop(SESSIONS) == (0, "d41d8cd98f00b204e9800998ecf8427e")
    assert after == before
    assert log_after == log_before and len(log_before) >= 4 and all(seq for _, seq, _, _ in log_after)
    assert sealed_after == sealed and any(value for rows in sealed.values() for _, value in rows)
    assert all(value.startswith(crypto.current_key_id() + "$")
               for rows in sealed.values() for _, value in rows if value)
    done = manage("audit_verify", "--heads", str(logged), "--skip-checks", database=empty_database)
    assert done.returncode == 0 and "access log intact" in done.stdout, done.stderr

    # The restored log is append-only again, and chains a new row onto the restored chain.
    # Straight SQL: the ORM is bound to the test database.
    with psycopg.connect(url_of(empty_database)) as restored, restored.cursor() as cursor:
        for sql in (f"UPDATE {LOG} SET reason = 'edited'", f"DELETE FROM {LOG}", f"TRUNCATE {LOG}"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                cursor.execute(sql)
            restored.rollback()
        cursor.execute(f"INSERT INTO {LOG} (username, at, action, purpose, reason, patient_ids, query, path) "
                       "VALUES ('auditor', now(), 'list', 'audit', '', '{}', '{}', '')")
        restored.commit()
        newest, last = chain(cursor)[-1], log_after[-1]
    assert newest[0] > last[0] and newest[1] == last[1] + 1 and newest[2] == last[3]


def test_a_backup_holds_ciphertext_and_no_key(logged, tmp_path):
    dump = tmp_path / "gridcare.dump"
    call_command("backup", output=dump, stdout=StringIO())
    text = subprocess.run([pg_tool("pg_restore"), "--file=-", str(dump)], capture_output=True, text=True,
                          check=True).stdout
    assert "患者P01" in text  # names are in it: it is kept like the database
    for row in PATIENTS:
        assert row["id_number"] not in text and row["guardian_id_number"] not in text
    for _, key in settings.GRIDCARE_FIELD_KEYS + settings.GRIDCARE_INDEX_KEYS:
        assert key.hex() not in text and base64.b64encode(key).decode() not in text
    assert settings.SECRET_KEY not in text


def test_make_restore_without_a_backup_is_refused():
    done = subprocess.run(["make", "--no-print-directory", "restore"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "usage: make restore BACKUP=" in done.stderr
    # The recipes run the commands these tests run.
    plan = subprocess.run(["make", "-n", "backup", "restore", "BACKUP=x.dump", "FORCE=1"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    assert 'manage.py backup --output "x.dump"' in plan and 'manage.py restore "x.dump" --force' in plan


def test_a_restore_over_a_database_that_is_not_empty_needs_force(logged, tmp_path, settings):
    settings.BASE_DIR = tmp_path  # the default folder, var/backups, of a checkout of the test's own
    out = StringIO()
    call_command("backup", stdout=out)
    (dump,) = (tmp_path / "var" / "backups").glob("gridcare-*.dump")
    assert re.fullmatch(r"gridcare-\d{8}T\d{6}Z\.dump", dump.name) and not list(dump.parent.glob("*.partial"))
    assert stat.S_IMODE(dump.parent.stat().st_mode) == 0o700 and stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert str(dump) in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {SESSIONS}")  # not in the backup: out of the comparison
        saved = fingerprint(cursor)
    access.log_denied(user=None, username="after the backup", what="a row the restore replaces")

    with pytest.raises(CommandError, match="not empty .* nothing was restored"):
        call_command("restore", str(dump))
    assert AccessLog.objects.filter(username="after the backup").exists()

    half = tmp_path / "cut.dump"  # whole up to its last table's rows: fails after --clean dropped all
    half.write_bytes(dump.read_bytes()[:-100])
    with pytest.raises(CommandError, match="pg_restore failed"):
        call_command("restore", str(half), force=True)
    assert AccessLog.objects.filter(username="after the backup").exists()

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE newer_than_the_backup (id int)")
    with pytest.raises(CommandError, match="tables the backup does not hold .*newer_than_the_backup"):
        call_command("restore", str(dump), force=True)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE newer_than_the_backup")
    assert AccessLog.objects.filter(username="after the backup").exists()

    call_command("restore", str(dump), force=True, stdout=out)
    assert not AccessLog.objects.filter(username="after the backup").exists()
    with connection.cursor() as cursor:
        assert fingerprint(cursor) == saved
    assert audit_verify(tmp_path / "heads.log").ok
