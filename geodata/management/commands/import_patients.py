from geodata.importers import patients_import
from geodata.management.importcommand import ImportCommand


class Command(ImportCommand):
    help = "Import a patient ledger (formats.md §3): patients, guardians, residence on the grid."
    importer = staticmethod(patients_import)
    takes_as_of = True
