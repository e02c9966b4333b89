from geodata.importers import screening_import
from geodata.management.importcommand import ImportCommand


class Command(ImportCommand):
    help = ("Import screening visits (formats.md §5); derive what counts, on-site checks, "
            "suspected cases and coverage (R31–R33).")
    importer = staticmethod(screening_import)
    takes_source_crs = False
