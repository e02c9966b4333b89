import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases.screening.exports import coverage_export
from cases.screening.models import Campaign


class Command(BaseCommand):
    help = "Export a campaign's coverage (R31) at one level: unit, households, visited, coverage, colour."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="campaign code")
        parser.add_argument("--level", type=int, required=True, choices=range(1, 6))
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--lang", choices=["zh", "en"], default="zh")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, **options):
        campaign = Campaign.objects.filter(code=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign {options['campaign']!r}")
        if options["level"] < campaign.scope.level:
            raise CommandError(f"the campaign's scope is at level {campaign.scope.level}")
        data = coverage_export(campaign, level=options["level"], fmt=options["format"], lang=options["lang"])
        if options["output"]:
            Path(options["output"]).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
