from geodata.commands import ImportCommand
from gridmap.importers import importer_for
from gridmap.models import ImportRun


class Command(ImportCommand):
    help = "Import a patient ledger (formats.md §3): patients, guardians, residence on the grid."
    takes_as_of = True

    def importer(self):
        return importer_for(ImportRun.Kind.PATIENTS)
