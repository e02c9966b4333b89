import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases.transfers.exports import transfers_export
from gridmap.models import GridUnit, User


class Command(BaseCommand):
    help = "Export moves and transfers with their deadlines and whether each was met (R24); logged."

    def add_arguments(self, parser):
        parser.add_argument("--unit", help="moves from or to this unit code")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
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
        data = transfers_export(user=user, unit=unit, fmt=options["format"], lang=options["lang"],
                                reason=options["reason"])
        if options["output"]:
            Path(options["output"]).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
