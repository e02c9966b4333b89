from geodata.importers import campaigns_import
from geodata.management.importcommand import ImportCommand


class Command(ImportCommand):
    help = "Import screening campaigns (formats.md §6) and store their coverage denominators."
    importer = staticmethod(campaigns_import)
    takes_source_crs = False
