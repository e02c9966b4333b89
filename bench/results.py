"""bench/results.md: one section per scale, rewritten by each run of that scale."""

import os
import platform
import re
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"
HEADER = (
    "# Benchmark results\n\n"
    "Written by `make bench` (county) and `make bench BENCH_ARGS=\"--scale province\"`; "
    "each run rewrites its scale's section. Targets: DESIGN.md, \"Performance\".\n"
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        found = re.search(r"model name\s*:\s*(.+)", info.read_text())
        cpu = found.group(1).strip() if found else cpu
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"nproc {os.cpu_count()}, {cpu}, {memory:.0f} GB RAM"


def code_version() -> str:
    """The commit measured, and which directories outside bench/ had uncommitted changes."""
    root = RESULTS.parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = sorted({line[3:].split("/")[0] for line in git("status", "--porcelain").splitlines()
                      if not line[3:].startswith("bench/")})
    return f"commit {commit}" + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def table(head: tuple[str, ...], rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def phase_rows(phases: dict[str, float], total: float) -> list[tuple]:
    rest = total - sum(phases.values())
    items = list(phases.items()) + [("commit (deferred FK checks) and the rest", rest)]
    return [(name, f"{s:.2f}", f"{s / total:.0%}") for name, s in items] + [
        ("**total**", f"**{total:.2f}**", "100%")
    ]


def statement_rows(seconds: dict[str, float], total: float) -> list[tuple]:
    return [(name, f"{s:.2f}", f"{s / total:.0%}") for name, s in sorted(seconds.items())]


REST = "commit (deferred FK checks) and the rest"
STEP_ORDER = ("read", "validate", "stage", "assign", "write", "classify")


def _step(name: str) -> int:
    first = name.split(":")[0].split()[0]
    return STEP_ORDER.index(first) if first in STEP_ORDER else len(STEP_ORDER)


def column_rows(runs: dict[str, tuple[dict[str, float], float]], *, rest: bool) -> list[tuple]:
    """One row per phase or statement, one column per run: seconds (share of that run)."""
    names = sorted(dict.fromkeys(k for seconds, _ in runs.values() for k in seconds),
                   key=lambda k: (_step(k), k))
    rows = []
    for name in names + ([REST] if rest else []):
        cells = []
        for seconds, total in runs.values():
            s = total - sum(seconds.values()) if name == REST else seconds.get(name, 0.0)
            cells.append(f"{s:.2f} ({s / total:.0%})")
        rows.append((name, *cells))
    if rest:
        rows.append(("**total**", *[f"**{total:.2f}**" for _, total in runs.values()]))
    return rows


def write_section(scale: str, lines: list[str], part: str = "") -> str:
    """Replace (or append) the `## <scale>[ — <part>]` section; return the section text.

    A scale has the grid-and-households section and the ledger section; each
    run rewrites the ones it measured and keeps the others.
    """
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    heading = f"## {scale}" + (f" — {part}" if part else "")
    section = "\n".join([heading, "", *lines]) + "\n"
    sections = re.split(r"(?m)^(?=## )", text)
    kept = [s for s in sections[1:] if s.split("\n", 1)[0] != heading]
    order = {"county": 0, "province": 1}

    def key(s: str) -> tuple[int, int]:
        title = s.split("\n", 1)[0]
        return order.get(title.split()[1], 9), " — " in title

    parts = sorted([*kept, section], key=key)
    body = "\n".join(p.rstrip("\n") + "\n" for p in parts)
    RESULTS.write_text(sections[0].rstrip("\n") + "\n\n" + body)
    return section
