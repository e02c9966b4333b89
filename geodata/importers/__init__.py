"""Importers for the files of spec/formats.md.

Each is one function that the management command, the admin upload page and
the RQ job all call (STYLE §6). Each is atomic: it validates everything,
reports every problem with its feature/row number, and writes nothing unless
the whole file is good (and not a dry run).
"""

from geodata.importers.campaigns import campaigns_import
from geodata.importers.followups import followups_import
from geodata.importers.grid_units import grid_units_import
from geodata.importers.households import households_import
from geodata.importers.patients import patients_import
from geodata.importers.screening import screening_import
from geodata.importers.staff import staff_import

__all__ = ["campaigns_import", "followups_import", "grid_units_import", "households_import",
           "patients_import", "screening_import", "staff_import"]
