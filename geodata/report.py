"""What an import found and did, in a form a command, a page and a job share."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field


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


@dataclass
class ImportReport:
    kind: str
    dry_run: bool = False
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
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

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, where: str, key: str, message: str) -> None:
        self.errors.append(Problem(where, key, message))

    def warn(self, where: str, key: str, message: str) -> None:
        self.warnings.append(Problem(where, key, message))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data

    def summary(self) -> str:
        mode = " (dry run: nothing written)" if self.dry_run else ""
        if not self.ok:
            return (
                f"{self.kind}: {len(self.errors)} error(s) in {self.read} record(s); "
                f"nothing was changed{mode}"
            )
        return (
            f"{self.kind}: read {self.read}, created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, warnings {len(self.warnings)}{mode}"
        )


class ImportAborted(Exception):
    """Raised inside an import's transaction to roll everything back."""
