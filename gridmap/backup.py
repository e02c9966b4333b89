"""Backups of the whole database and their restore (docs/operations.md, "Backups and restore").

- `database_backup(*, path)` writes a custom-format pg_dump (`-Fc`) of the database in
  DATABASE_URL, by default to var/backups/gridcare-<UTC time>.dump: the folder 0700, the
  file 0600 (names, addresses and diagnoses are in it, and the ID and telephone numbers
  as ciphertext). It is written under a temporary name and renamed once pg_dump has
  finished, so a backup that fails leaves nothing that looks whole. The sessions' rows are
  left out: their keys are the cookies of the people signed in. Never in a backup: the
  keys of the encrypted columns, the secret key, the uploads.
- `database_restore(*, path, force)` restores one into the database in DATABASE_URL with
  pg_restore in a single transaction, so a restore that fails changes nothing. An empty
  database is filled; one holding tables is replaced only with `force`, and only when the
  backup holds every one of them (otherwise two versions of the schema would be mixed).

The access log keeps its rows bit-identical (seq, prev_hash, hash). pg_dump puts triggers
in its post-data section, which pg_restore runs after every table's COPY: the log's rows
meet neither the BEFORE INSERT trigger that unchains a new row nor the chain at commit,
and the append-only triggers are back before the transaction commits. So no superuser,
no session_replication_role, no --disable-triggers; the protection is never lifted.

PostGIS: a backup holds `CREATE EXTENSION IF NOT EXISTS postgis`, which an empty database
runs (creating the extension needs a superuser, unless a DBA has created it); a replaced
database keeps its own, since dropping an extension is for its owner only.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection

from gridmap.models import AccessLog

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
# The connection options of DATABASE_URL's query string that libpq's programs take.
LIBPQ_OPTIONS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                 "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL", "connect_timeout": "PGCONNECT_TIMEOUT",
                 "options": "PGOPTIONS", "service": "PGSERVICE", "passfile": "PGPASSFILE",
                 "target_session_attrs": "PGTARGETSESSIONATTRS"}
# A table in `pg_restore --list`: "270; 1259 75495 TABLE public cases_accesslog owner".
TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ")
TOC_EXTENSION = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT) - (EXTENSION )?postgis\b")


class BackupError(Exception):
    """A backup or restore that cannot be done, said in words the operator can act on."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Restore:
    path: Path
    database: str
    tables: int
    replaced: bool
    access_log_rows: int


def database_backup(*, path: Path | None = None) -> Backup:
    """Dump the database in DATABASE_URL to `path` (an existing file is never overwritten)."""
    if path is None:
        folder = Path(settings.BASE_DIR) / "var" / "backups"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)  # made by hand or under another umask: still this account's only
        path = folder / f"gridcare-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.dump"
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        raise BackupError(f"{path} exists: a backup is never overwritten")
    partial = path.with_name(path.name + ".partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{partial} exists: a backup is being written there, or one was "
                          "interrupted (then remove it)") from None
    try:
        with os.fdopen(descriptor, "wb") as out:
            _run([pg_tool("pg_dump"), "--format=custom", "--no-password",
                  f"--exclude-table-data={Session._meta.db_table}", f"--dbname={_database()}"],
                 stdout=out)
        partial.rename(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    with path.open("rb") as dump:
        digest = hashlib.file_digest(dump, "sha256").hexdigest()
    return Backup(path=path, size=path.stat().st_size, sha256=digest)


def database_restore(*, path: Path, force: bool = False) -> Restore:
    """Restore the backup at `path` into the database in DATABASE_URL, in one transaction.
    A database holding tables is refused unless `force`, and always when it holds a table
    the backup does not. Stop the web app, the workers and cron first: pg_restore waits
    for their locks on the tables it replaces."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such backup")
    tool = pg_tool("pg_restore")
    entries = [line for line in _run([tool, "--list", str(path)]).stdout.splitlines()
               if line and not line.startswith(";")]
    backed_up = {match.groups() for match in map(TOC_TABLE.match, entries) if match}
    present = _tables()
    name = _database()
    if present and not force:
        raise BackupError(f"the database {name} is not empty ({len(present)} tables): nothing was "
                          "restored. FORCE=1 (--force) replaces it with the backup")
    if extra := sorted(".".join(table) for table in present - backed_up):
        raise BackupError(f"the database {name} holds tables the backup does not hold "
                          f"({', '.join(extra[:5])}{', …' if len(extra) > 5 else ''}): they would stay "
                          "beside the backup's. Nothing was restored; restore into an empty database")
    # The extension's comment is for its owner; dropping it too (--clean), so a database
    # being replaced keeps the PostGIS it has.
    kept = [line for line in entries if not (TOC_EXTENSION.match(line) and (present or "COMMENT" in line))]
    with tempfile.NamedTemporaryFile("w", prefix="gridcare-restore-", suffix=".list") as listing:
        listing.write("\n".join(kept) + "\n")
        listing.flush()
        connection.close()  # holds no lock, but nothing of ours should be open while replacing
        try:
            _run([tool, "--single-transaction", "--exit-on-error", "--no-owner", "--no-password",
                  *(["--clean", "--if-exists"] if present else []), f"--use-list={listing.name}",
                  f"--dbname={name}", str(path)])
        except BackupError as exc:
            raise BackupError(f"{exc}\nThe restore ran in one transaction: nothing was changed.") from None
    return Restore(path=path, database=name, tables=len(backed_up), replaced=bool(present),
                   access_log_rows=AccessLog.objects.count())


def pg_tool(name: str) -> str:
    """A PostgreSQL client program of the server's major version (Debian keeps each under
    /usr/lib/postgresql/<major>/bin), else the newest there, else the one on PATH; refused
    when older than the server, which pg_dump cannot dump."""
    server = connection.pg_version // 10000
    installed = sorted((int(folder.name), folder / "bin" / name) for folder in DEBIAN_BINARIES.glob("*")
                       if folder.name.isdigit() and (folder / "bin" / name).exists())
    chosen = dict(installed).get(server) or (installed[-1][1] if installed else shutil.which(name))
    if not chosen:
        raise BackupError(f"{name} not found: install the PostgreSQL {server} client programs")
    found = re.search(r"\) (\d+)", _run([str(chosen), "--version"]).stdout)
    if not found or int(found.group(1)) < server:
        raise BackupError(f"{chosen} is older than the server (PostgreSQL {server}): install "
                          f"postgresql-client-{server} or put its {name} first on PATH")
    return str(chosen)


def _database() -> str:
    return connection.settings_dict["NAME"]


def _tables() -> set[tuple[str, str]]:
    """The database's own tables. The catalog, not Django's introspection: that lists views
    and PostGIS's spatial_ref_sys, which belong to the extension, not to the data."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype = 'e')""")
        return set(cursor.fetchall())


def _environment() -> dict[str, str]:
    """The connection DATABASE_URL names, as settings parsed it, for libpq's programs. The
    password goes through the environment, never on a command line that others can read."""
    db = connection.settings_dict
    env = dict(os.environ)
    for variable, value in (("PGHOST", db["HOST"]), ("PGPORT", db["PORT"]), ("PGUSER", db["USER"]),
                            ("PGPASSWORD", db["PASSWORD"])):
        if value:
            env[variable] = str(value)
    for option, variable in LIBPQ_OPTIONS.items():
        if option in db.get("OPTIONS", {}):
            env[variable] = str(db["OPTIONS"][option])
    return env


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("stdout", subprocess.PIPE)
    done = subprocess.run(args, env=_environment(), stderr=subprocess.PIPE, text=True, check=False,
                          **kwargs)
    if done.returncode:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()}")
    return done
