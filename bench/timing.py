"""Where an import spends its time, measured on the real code path.

The household importer reports its own phases (`ImportReport.timings`); the
grid-unit importer does not, and neither splits a phase into statements. So
`phases()` temporarily replaces some module attributes (the helpers the
importers call through their module globals) with timing wrappers and puts
them back afterwards. Nested calls are charged to the outermost wrapped call
only. Names an importer no longer has are skipped, so a refactoring of the
importers costs detail, not the benchmark.
"""

import importlib
import re
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager

from gridmap.services import HOUSEHOLD_TABLE


class PhaseTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._active = False

    def wrap(self, function: Callable, label: str | Callable[..., str]) -> Callable:
        def timed(*args, **kwargs):
            if self._active:
                return function(*args, **kwargs)
            name = label(*args, **kwargs) if callable(label) else label
            self._active = True
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self._active = False

        return timed


@contextmanager
def phases(targets: list[tuple[str, str, str | Callable[..., str]]]):
    """Time every call of module.attribute under its label while the block runs."""
    timer = PhaseTimer()
    saved = []
    for module_name, name, label in targets:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, timer.wrap(getattr(module, name), label))
    try:
        yield timer
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def household_sql_label(sql: str, *args, **kwargs) -> str:
    rules = [
        (r"CREATE INDEX|^ANALYZE", "stage: GiST index + ANALYZE"),
        (rf"INSERT INTO {HOUSEHOLD_TABLE}", "write: INSERT … ON CONFLICT upsert"),
        (r"NOT EXISTS \(SELECT 1 FROM stage_assign a", "write: list points in no unit"),
        (r"u\.level = 5", "assign: micro-grid pass"),
        (r"u\.level = (\d)", "assign: level {0} pass"),
        (r"CREATE TEMP TABLE \w+_rest", "assign: collect points left"),
        (r"u\.level < 5", "assign: fallback for points left"),
        (r"stage_assign", "assign: temp tables"),
    ]
    for pattern, label in rules:
        found = re.search(pattern, sql.strip())
        if found:
            return label.format(*found.groups())
    return "other SQL"


HOUSEHOLDS = "geodata.importers.households"
HOUSEHOLD_PHASES = [
    (HOUSEHOLDS, "copy_csv", "stage: COPY"),
    (HOUSEHOLDS, "copy_rows", "stage: COPY"),
    (HOUSEHOLDS, "execute", household_sql_label),
    (HOUSEHOLDS, "fetch", household_sql_label),
]

UNITS = "geodata.importers.grid_units"
UNIT_PHASES = [
    (UNITS, "read_vector", "read file (pyogrio)"),
    (UNITS, "_grid_rows", "validate features, EWKB hex"),
    (UNITS, "_grid_stage", "stage: COPY, ST_MakeValid, indexes"),
    (UNITS, "_grid_check_geometry", "check extent and validity"),
    (UNITS, "_grid_check_parents", "check parents"),
    (UNITS, "_grid_check_spatial", "check nesting, overlaps, gaps"),
    (UNITS, "_grid_write", "write units (ON CONFLICT upsert)"),
    ("gridmap.services", "grid_units_refresh_ancestry", "refresh ancestor columns"),
]


def timed(function: Callable, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result
