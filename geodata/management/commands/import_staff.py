from geodata.importers import staff_import
from geodata.management.importcommand import ImportCommand


class Command(ImportCommand):
    help = "Import staff, their roles and the units they serve (formats.md §7)."
    importer = staticmethod(staff_import)
    takes_source_crs = False
