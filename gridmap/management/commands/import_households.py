from geodata.commands import ImportCommand
from gridmap.importers import importer_for
from gridmap.models import ImportRun


class Command(ImportCommand):
    help = "Import households / standard addresses (formats.md §2) and place them on the grid."

    def importer(self):
        return importer_for(ImportRun.Kind.HOUSEHOLDS)
