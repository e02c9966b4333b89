from django.core.management.base import CommandError

from cases.screening.exports import coverage_export
from cases.screening.models import Campaign
from geodata.commands import ExportCommand


class Command(ExportCommand):
    help = "Export a campaign's coverage (R31) at one level: unit, households, visited, coverage, colour."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="campaign code")
        parser.add_argument("--level", type=int, required=True, choices=range(1, 6))
        super().add_arguments(parser)

    def handle(self, *args, **options):
        campaign = Campaign.objects.filter(code=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign {options['campaign']!r}")
        if options["level"] < campaign.scope.level:
            raise CommandError(f"the campaign's scope is at level {campaign.scope.level}")
        self.write(coverage_export(campaign, level=options["level"], fmt=options["format"],
                                   lang=options["lang"]), options)
