from geodata.importers import grid_units_import
from geodata.management.importcommand import ImportCommand


class Command(ImportCommand):
    help = "Import grid units (formats.md §1) from any vector file OGR reads."
    importer = staticmethod(grid_units_import)
