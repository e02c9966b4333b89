"""What an import found and did, in a form a command, a page and a job share, and the
atomic run that decides whether any of it is kept."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from django.db import transaction

from geodata.readers import NUL_MESSAGE, FileError, nul_cells

T = TypeVar("T")
# How an importer tells its caller how far it is: (share done 0..1, what it is doing).
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    return None


@dataclass(frozen=True)
class Problem:
    """One bad or doubtful row/feature.

    `where` is `feature N` / `row N, column C` (N counts from 1, header not
    counted for spreadsheets: row 1 is the first data row); `key` is a stable
    machine name tests and the UI can rely on; `message` says what is wrong.
    """

    where: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


LISTED = 1000  # problems of each kind kept one by one; the rest are counted (probe finding 10)


@dataclass
class ImportReport:
    """What an import found and did. Only the first LISTED errors and warnings are kept
    (a file with a million bad rows gives a report of a few hundred kilobytes); every one
    is counted in `error_count` and `warning_count`."""

    kind: str
    dry_run: bool = False
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    stats: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)  # seconds per phase, for users and bench/

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.timings[name] = round(self.timings.get(name, 0.0) + spent, 4)

    @classmethod
    def begin(cls, kind: str, *, dry_run: bool, progress: Progress | None) -> tuple["ImportReport", Progress]:
        """A new import's report, and the progress callback to call (a no-op without one)."""
        return cls(kind=kind, dry_run=dry_run), progress or no_progress

    def read_file(self, reader: Callable[[], T], *, unit: str = "row") -> T | None:
        """Run the file's reader in the "read" phase and count its rows (the frame it
        returns, or the first item it returns): what it returns, or None once the file's
        problem (FileError: unreadable, a missing column, no CRS) is reported, or every
        cell holding a NUL character (by `unit` and number: "row" or "feature")."""
        try:
            with self.phase("read"):
                found = reader()
        except FileError as exc:
            self.error(exc.where, "file", str(exc))
            return None
        frame = found[0] if isinstance(found, tuple) else found
        self.read = len(frame)
        headers, places = nul_cells(frame, unit)
        for header in headers:
            self.error("", "file", f"the column header {header!r} {NUL_MESSAGE}")
        for where in places:
            self.error(where, "nul_character", NUL_MESSAGE)
        return found if self.ok else None

    def wrote(self, created: int, updated: int) -> None:
        """Count what the write did: every other row read was unchanged."""
        self.created, self.updated = created, updated
        self.unchanged = self.read - created - updated

    @property
    def ok(self) -> bool:
        return not self.error_count

    def error(self, where: str, key: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < LISTED:
            self.errors.append(Problem(where, key, message))

    def warn(self, where: str, key: str, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < LISTED:
            self.warnings.append(Problem(where, key, message))

    def more_errors(self, n: int) -> None:
        """Count errors found but not listed (an importer that stopped building them)."""
        self.error_count += n

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data

    def summary(self) -> str:
        mode = " (dry run: nothing written)" if self.dry_run else ""
        if not self.ok:
            return (
                f"{self.kind}: {self.error_count} error(s) in {self.read} record(s); "
                f"nothing was changed{mode}"
            )
        return (
            f"{self.kind}: read {self.read}, created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, warnings {self.warning_count}{mode}"
        )


class ImportAborted(Exception):
    """Raised inside an import's transaction to roll everything back."""


def run_atomic(report: ImportReport, *, dry_run: bool, body: Callable[[], None]) -> ImportReport:
    """Run body in one transaction; roll everything back on errors or on a dry run."""
    try:
        with transaction.atomic():
            body()
            if not report.ok or dry_run:
                raise ImportAborted
    except ImportAborted:
        pass
    return report
