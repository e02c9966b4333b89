"""Grid-unit import benchmark (issue: a county file of ~10k units in < 60 s)."""

from pathlib import Path

from bench.timing import UNIT_PHASES, phases, timed
from config import importers
from gridmap.models import GridUnit


def bench_units(path: Path, manifest: dict) -> dict:
    """Import the unit file into the empty bench database; time it by phase."""
    with phases(UNIT_PHASES) as timer:
        seconds, report = timed(importers.grid_units_import, path=path)
    if not report.ok:
        raise SystemExit("grid-unit import failed:\n" + "\n".join(map(str, report.errors[:20])))
    return {
        "seconds": seconds,
        "units": report.created,
        "phases": dict(timer.seconds),
        "checks": unit_checks(manifest),
    }


def unit_checks(manifest: dict) -> dict[str, tuple[bool, str]]:
    stored = {str(level): GridUnit.objects.filter(level=level).count() for level in range(1, 6)}
    expected = {str(k): v for k, v in manifest["units_per_level"].items()}
    no_county = GridUnit.objects.filter(county__isnull=True).count()
    no_micro = GridUnit.objects.filter(level=5, micro_grid__isnull=True).count()
    return {
        "every unit stored at its level": (stored == expected, f"{sum(stored.values()):,} units"),
        "every unit has its ancestor columns": (
            no_county == 0 and no_micro == 0, f"{no_county + no_micro} missing"),
    }


def units_loaded(manifest: dict) -> bool:
    return GridUnit.objects.count() == manifest["units"]
