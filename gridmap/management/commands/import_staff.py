from geodata.commands import ImportCommand
from gridmap.importers import importer_for
from gridmap.models import ImportRun


class Command(ImportCommand):
    help = "Import staff, their roles and the units they serve (formats.md §7)."
    takes_source_crs = False

    def importer(self):
        return importer_for(ImportRun.Kind.STAFF)
