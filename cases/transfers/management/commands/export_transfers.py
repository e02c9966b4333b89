from cases.transfers.exports import transfers_export
from gridmap.commands import ScopedExportCommand


class Command(ScopedExportCommand):
    help = "Export moves and transfers with their deadlines and whether each was met (R24); logged."

    def add_arguments(self, parser):
        parser.add_argument("--unit", help="moves from or to this unit code")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        user, unit = self.scope(options)
        self.write(transfers_export(user=user, unit=unit, fmt=options["format"], lang=options["lang"],
                                    purpose=options["purpose"], reason=options["reason"]), options)
