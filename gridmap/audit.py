"""The access log's tamper evidence (issue 10, Deliver 6). The database keeps the log
append-only and chains every row to the one before (gridmap migration 0008: a BEFORE
INSERT trigger stores each row's SHA-256 over its content and the previous row's hash).
Here: the daily head written outside the database, and the check of both.

- `audit_head_write()` appends "<time> <last seq> <its hash> <rows>" to
  GRIDCARE_AUDIT_HEADS (mode 0600) and to the application log; cron runs it daily.
- `audit_verify()` recomputes every row's hash in one statement, checks each links to the
  one before in commit order (the first to an empty hash), and that every head written
  still names a row with the same hash: a row changed, removed, inserted out of line or
  never chained, and a log cut short or rewritten with a new chain, all show."""

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from gridmap.models import AccessLog

log = logging.getLogger(__name__)
TABLE = AccessLog._meta.db_table


@dataclass
class Verdict:
    rows: int = 0
    heads: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_head() -> tuple[int, str, int] | None:
    """(last seq, its hash, number of rows), or None for an empty log."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash, (SELECT count(*) FROM {TABLE}) FROM {TABLE} "
                       "WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1")
        row = cursor.fetchone()
    return tuple(row) if row else None


def audit_head_write(path: Path | None = None) -> str | None:
    """Append today's head to the heads file (outside the database) and the application log."""
    head = audit_head()
    if head is None:
        return None
    path = Path(path or settings.GRIDCARE_AUDIT_HEADS)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"{timezone.now().isoformat(timespec='seconds')} {head[0]} {head[1]} {head[2]}"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a") as out:
        out.write(line + "\n")
    log.info("access log head: %s", line)
    return line


def audit_head_job() -> str | None:
    """Cron: daily (config/cron.py)."""
    return audit_head_write()


LISTED = 20  # broken rows named one by one


def audit_verify(heads: Path | None = None) -> Verdict:
    """Check the chain in the database and the heads written outside it."""
    verdict = Verdict()
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT id, seq, hash = cases_accesslog_digest(prev_hash, l) AS sound,
                   prev_hash = lag(hash, 1, '') OVER (ORDER BY seq) AS linked,
                   seq = 1 + lag(seq, 1, 0::bigint) OVER (ORDER BY seq) AS numbered
            FROM {TABLE} l ORDER BY seq NULLS FIRST""")
        for row_id, seq, sound, linked, numbered in cursor:  # one pass
            verdict.rows += 1
            if len(verdict.problems) >= LISTED:
                continue
            if seq is None:
                verdict.problems.append(f"row id {row_id}: never chained (written past the trigger)")
            elif not sound:
                verdict.problems.append(f"row {seq}: its content no longer matches its hash (changed)")
            elif not linked or not numbered:
                verdict.problems.append(f"row {seq}: does not follow the row before it "
                                        "(a row was removed or inserted)")
    path = Path(heads or settings.GRIDCARE_AUDIT_HEADS)
    lines = path.read_text().splitlines() if path.exists() else []
    if not lines:
        verdict.problems.append(f"no heads in {path}: the chain cannot be checked against "
                                "what was written outside the database")
        return verdict
    wanted = {}
    for number, line in enumerate(lines, start=1):
        try:
            written, row_id, row_hash, _rows = line.split()
            wanted[int(row_id)] = (row_hash, written)
        except ValueError:
            verdict.problems.append(f"{path} line {number}: not a head ({line[:80]!r})")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {TABLE} WHERE seq = ANY(%s)", [list(wanted)])
        found = dict(cursor.fetchall())
    for row_id, (row_hash, written) in sorted(wanted.items()):
        verdict.heads += 1
        if row_id not in found:
            verdict.problems.append(f"the head of {written} names row {row_id}, which is gone "
                                    "(the log was cut or rewritten)")
        elif found[row_id] != row_hash:
            verdict.problems.append(f"the head of {written}: row {row_id} has another hash now "
                                    "(the chain was rewritten)")
    return verdict
