from geodata.commands import ImportCommand
from gridmap.importers import importer_for
from gridmap.models import ImportRun


class Command(ImportCommand):
    help = ("Import screening visits (formats.md §5); derive what counts, on-site checks, "
            "suspected cases and coverage (R31–R33).")
    takes_source_crs = False

    def importer(self):
        return importer_for(ImportRun.Kind.SCREENING)
