import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases.patients.ledgers import KINDS, ledger_export
from gridmap.calendar import local_today
from gridmap.models import GridUnit, User


class Command(BaseCommand):
    help = "Export a ledger (key-groups, lost, followups-due) within a user's scope; logged (R35)."

    def add_arguments(self, parser):
        from datetime import date

        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("--unit", help="only patients under this unit code")
        parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="evaluate the rules as of this date (default: today)")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
        parser.add_argument("--lang", choices=["zh", "en"], default="zh")
        parser.add_argument("--user", help="export what this user may see (default: everything)")
        parser.add_argument("--reason", default="", help="why, for the access log")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, **options):
        user = unit = None
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['user']!r}")
        if options["unit"]:
            unit = GridUnit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"no unit {options['unit']!r}")
        data = ledger_export(options["kind"], user=user, unit=unit, as_of=options["as_of"] or local_today(),
                             lang=options["lang"], fmt=options["format"], reason=options["reason"])
        if options["output"]:
            Path(options["output"]).write_bytes(data)
            self.stderr.write(f"wrote {options['output']}")
        else:
            sys.stdout.buffer.write(data)
