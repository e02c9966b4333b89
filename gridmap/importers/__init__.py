"""Importers of the grid's files (formats.md §1, §2, §7), and the table that says which
function imports each kind of file.

Each importer is one function that the management command, the admin upload page and
the RQ job all call (STYLE §6). Each is atomic: it validates everything, reports every
problem with its feature/row number, and writes nothing unless the whole file is good
(and not a dry run). The grid's importers know nothing of the case apps; what those add
to an import (moves for a ledger, coverage for households) is composed in
config.importers, which `importer_for` reads through settings.GRIDCARE_IMPORTERS.
"""

from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

from geodata.report import ImportReport
from gridmap.importers.grid_units import grid_units_import
from gridmap.importers.households import households_import
from gridmap.importers.staff import staff_import

__all__ = ["grid_units_import", "households_import", "importer_for", "staff_import"]


def importer_for(kind: str) -> Callable[..., ImportReport]:
    """The function that imports a kind of file (ImportRun.Kind), as the project composes it."""
    return import_string(settings.GRIDCARE_IMPORTERS)[kind]
