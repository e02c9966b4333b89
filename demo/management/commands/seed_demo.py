"""Load the demo county (略阳县) through the real importers; print what it made and who can log in.

The command only parses arguments and calls `demo.county.demo_county_load` (STYLE §6).
"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.county import DEMO_SEED, DemoLoadError, demo_county_load


class Command(BaseCommand):
    help = ("Build the demo county's files (formats.md §1–§4, §7) and import them; then move some "
            "patients (a second ledger) and take their transfers through every state; then import "
            "screening campaigns and their visits (§6, §5).")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEMO_SEED,
                            help=f"random seed; the same seed gives the same county (default "
                                 f"{DEMO_SEED})")
        parser.add_argument("--out-dir", type=Path, default=settings.BASE_DIR / "var" / "demo",
                            help="where the generated files are written (default var/demo)")
        parser.add_argument("--reset", action="store_true",
                            help="delete the demo county first (needed when changing --seed)")

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            summary = demo_county_load(out_dir=options["out_dir"], seed=options["seed"],
                                       reset=options["reset"])
        except DemoLoadError as exc:
            raise CommandError(str(exc)) from exc
        self.print_summary(summary, time.monotonic() - started)

    def print_summary(self, summary: dict, seconds: float) -> None:
        units = ", ".join(f"{level} {n}" for level, n in summary["units"].items())
        self.stdout.write(f"units: {units}")
        self.stdout.write(f"households: {summary['households']} "
                          f"(population {summary['population']})")
        for kind, report in summary["imports"].items():
            self.stdout.write(
                f"import {kind}: created {report['created']}, updated {report['updated']}, "
                f"unchanged {report['unchanged']}, warnings {report['warnings']} "
                f"{report['warning_keys'] or ''}".rstrip())
        patients = summary["patients"]
        groups = ", ".join(f"{key} {n}" for key, n in patients["key_groups"].items())
        self.stdout.write(f"patients: {patients['count']} (key groups: {groups}; outside "
                          f"{patients['outside']}; follow-ups {patients['followups']}; team overrides "
                          f"{patients['team_overrides']}; search actions {patients['lost_searches']})")
        self.print_moves(summary["moves"])
        self.print_screening(summary["screening"])
        self.stdout.write(f"files: {', '.join(summary['files'].values())}")
        self.stdout.write("")
        # The unit's Chinese name comes last: wide characters would break the columns.
        self.stdout.write(f"  {'username':<18} {'role':<18} {'password':<20} {'2FA':<4} unit")
        for login in summary["logins"]:
            self.stdout.write(f"  {login['username']:<18} {login['role']:<18} "
                              f"{login['password']:<20} {'yes' if login['second_factor'] else '':<4} "
                              f"{login['unit_code']} {login['unit_name']}")
        self.stdout.write("  2FA: a six-digit code after the password; `make demo-code USER=<username>` "
                          "prints it (the demo's stand-in for the authenticator app)")
        self.stdout.write(self.style.SUCCESS(f"demo county loaded in {seconds:.1f} s"))

    def print_moves(self, moves: dict) -> None:
        def listed(counts: dict) -> str:
            return ", ".join(f"{key} {n}" for key, n in counts.items())

        events = moves["events"]
        made = f"; moved ledger {moves['ledger']}" if "ledger" in moves else " (made before; kept)"
        self.stdout.write(
            f"moves: {sum(moves['moves'].values())} ({listed(moves['moves'])}); transfers by state: "
            f"{listed(moves['transfers'])}; alerts: {sum(moves['alerts'].values())} "
            f"({listed(moves['alerts'])}); events: {events['count']} (on time {events['on_time']}, "
            f"late {events['late']}, unreported {events['unreported']}, likely to leave "
            f"{events['likely_to_leave']}); handoff notifications {moves['notifications']}; letters "
            f"{moves['letters']}{made}")

    def print_screening(self, screening: dict) -> None:
        visits, featured = screening["visits"], screening["featured"]
        kinds = ", ".join(f"{kind} {n}" for kind, n in screening["kinds"].items())
        share = "none" if featured["share"] is None else f"{100 * featured['share']:.1f} %"
        pruned = f"; stale visits deleted {screening['pruned']:,}" if screening["pruned"] else ""
        self.stdout.write(
            f"screening: {screening['campaigns']} campaigns ({kinds}); visits {visits['total']:,} "
            f"(counted {visits['counted']:,}; outside window {visits['outside_window']:,}; nobody home "
            f"{visits['nobody_home']:,}; not on site {visits['not_on_site']:,}); suspected cases "
            f"{screening['suspected']} (overdue {screening['overdue']}, opened now {screening['opened']}); "
            f"coverage of {featured['unit']} in {featured['name']}: {share}; cadence gaps: "
            f"{screening['cadence_gaps']}{pruned}")
