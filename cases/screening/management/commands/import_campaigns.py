from geodata.commands import ImportCommand
from gridmap.importers import importer_for
from gridmap.models import ImportRun


class Command(ImportCommand):
    help = "Import screening campaigns (formats.md §6) and store their coverage denominators."
    takes_source_crs = False

    def importer(self):
        return importer_for(ImportRun.Kind.CAMPAIGNS)
