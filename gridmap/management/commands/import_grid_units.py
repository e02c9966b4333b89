from geodata.commands import ImportCommand
from gridmap.importers import importer_for
from gridmap.models import ImportRun


class Command(ImportCommand):
    help = "Import grid units (formats.md §1) from any vector file OGR reads."

    def importer(self):
        return importer_for(ImportRun.Kind.GRID_UNITS)
