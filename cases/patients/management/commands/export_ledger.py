from datetime import date

from cases.patients.ledgers import KINDS, ledger_export
from gridmap.calendar import local_today
from gridmap.commands import ScopedExportCommand


class Command(ScopedExportCommand):
    help = "Export a ledger (key-groups, lost, followups-due) within a user's scope; logged (R35)."
    default_format = "xlsx"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("--unit", help="only patients under this unit code")
        parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                            help="evaluate the rules as of this date (default: today)")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        user, unit = self.scope(options)
        data = ledger_export(options["kind"], user=user, unit=unit, as_of=options["as_of"] or local_today(),
                             lang=options["lang"], fmt=options["format"], purpose=options["purpose"],
                             reason=options["reason"])
        self.write(data, options)
