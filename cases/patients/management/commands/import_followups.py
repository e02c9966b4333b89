from geodata.commands import ImportCommand
from gridmap.importers import importer_for
from gridmap.models import ImportRun


class Command(ImportCommand):
    help = "Import follow-up records (formats.md §4) and reclassify the register."
    takes_source_crs = False
    takes_as_of = True

    def importer(self):
        return importer_for(ImportRun.Kind.FOLLOWUPS)
