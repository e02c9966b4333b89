from geodata.importers import followups_import
from geodata.management.importcommand import ImportCommand


class Command(ImportCommand):
    help = "Import follow-up records (formats.md §4) and reclassify the register."
    importer = staticmethod(followups_import)
    takes_source_crs = False
    takes_as_of = True
