"""bench/results.md: one section per scale, rewritten by each run of that scale."""

import os
import platform
import re
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


def write_section(scale: str, lines: list[str]) -> str:
    """Replace (or append) the `## <scale>` section; return the section text."""
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    section = "\n".join([f"## {scale}", "", *lines]) + "\n"
    sections = re.split(r"(?m)^(?=## )", text)
    kept = [s for s in sections[1:] if not s.startswith(f"## {scale}\n")]
    order = {"county": 0, "province": 1}
    parts = sorted([*kept, section], key=lambda s: order.get(s.split()[1], 9))
    body = "\n".join(p.rstrip("\n") + "\n" for p in parts)
    RESULTS.write_text(sections[0].rstrip("\n") + "\n\n" + body)
    return section
