from geodata.importers import households_import
from geodata.management.importcommand import ImportCommand


class Command(ImportCommand):
    help = "Import households / standard addresses (formats.md §2) and place them on the grid."
    importer = staticmethod(households_import)
