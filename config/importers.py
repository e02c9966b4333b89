"""The importers as users run them, by the kind of file (gridmap.ImportRun.Kind): each
app's importer, composed with what the apps above it add. The upload page, its RQ job
and the import commands all look a kind up here (settings.GRIDCARE_IMPORTERS), so a
file imports the same way whichever door it comes through.

- Households (formats.md §2) keep the stored coverage of running campaigns in step:
  the households are their denominators (R31, cases.screening).
- A patient ledger (§3) re-imported with changed residences opens moves (R23,
  cases.transfers): handoffs at once, transfers kept with the origin until accepted.
"""

from functools import wraps

from cases.patients import importers as patient_importers
from cases.screening import importers as screening_importers
from cases.screening.services import coverage_after_households
from cases.transfers.services import LedgerMoves
from gridmap import importers as grid_importers
from gridmap.models import ImportRun

grid_units_import = grid_importers.grid_units_import
staff_import = grid_importers.staff_import
followups_import = patient_importers.followups_import
campaigns_import = screening_importers.campaigns_import
screening_import = screening_importers.screening_import


@wraps(grid_importers.households_import)
def households_import(**options):
    """Households, then the coverage of the campaigns still running (R31)."""
    return grid_importers.households_import(then=coverage_after_households, **options)


@wraps(patient_importers.patients_import)
def patients_import(**options):
    """The patient ledger, whose changed residences are moves (R23)."""
    return patient_importers.patients_import(moves=LedgerMoves(), **options)


IMPORTERS = {
    ImportRun.Kind.GRID_UNITS: grid_units_import,
    ImportRun.Kind.HOUSEHOLDS: households_import,
    ImportRun.Kind.STAFF: staff_import,
    ImportRun.Kind.PATIENTS: patients_import,
    ImportRun.Kind.FOLLOWUPS: followups_import,
    ImportRun.Kind.CAMPAIGNS: campaigns_import,
    ImportRun.Kind.SCREENING: screening_import,
}
