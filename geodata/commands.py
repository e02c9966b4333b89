"""The shared shape of the import and export commands: parse arguments, call one
function, print the report or write the file. The commands hold no logic of their own
(STYLE §6); an import command names its importer by overriding `importer()`."""

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from geodata.report import ImportReport


class ImportCommand(BaseCommand):
    takes_source_crs = True
    takes_as_of = False  # ledgers: the date the rules are evaluated on (default today)

    def add_arguments(self, parser):
        parser.add_argument("path", help="the file to import")
        if self.takes_source_crs:
            parser.add_argument(
                "--source-crs",
                help="gcj02, bd09 or EPSG:<code>; by default the CRS the file declares",
            )
        if self.takes_as_of:
            parser.add_argument(
                "--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                help="evaluate the rules as of this date (default: today, Asia/Shanghai)",
            )
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report, write nothing"
        )

    def handle(self, *args, **options):
        kwargs = {"path": options["path"], "dry_run": options["dry_run"]}
        if self.takes_source_crs:
            kwargs["source_crs"] = options["source_crs"]
        if self.takes_as_of:
            kwargs["as_of"] = options["as_of"]
        report: ImportReport = self.importer()(**kwargs)
        self.print_report(report)
        if not report.ok:
            raise CommandError(report.summary())

    def importer(self) -> Callable[..., ImportReport]:
        """The function the command runs: function(*, path, dry_run, ...) -> ImportReport."""
        raise NotImplementedError

    def print_report(self, report: ImportReport) -> None:
        for problem in report.errors:
            self.stderr.write(f"error: {problem}")
        if report.error_count > len(report.errors):
            self.stderr.write(f"... and {report.error_count - len(report.errors)} more error(s)")
        for problem in report.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {problem}"))
        if report.warning_count > len(report.warnings):
            self.stdout.write(f"... and {report.warning_count - len(report.warnings)} more warning(s)")
        if report.ok:
            self.stdout.write(self.style.SUCCESS(report.summary()))
            for key, value in report.stats.items():
                self.stdout.write(f"  {key}: {value}")


class ExportCommand(BaseCommand):
    """The shared shape of the export commands: --format, --lang and -o; the bytes the
    export function returns go to the file or to standard output."""

    default_format = "csv"

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "xlsx"], default=self.default_format)
        parser.add_argument("--lang", choices=["zh", "en"], default="zh")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def write(self, data: bytes, options: dict) -> None:
        if options["output"]:
            Path(options["output"]).write_bytes(data)
            self.stderr.write(f"wrote {options['output']}")
        else:
            sys.stdout.buffer.write(data)
