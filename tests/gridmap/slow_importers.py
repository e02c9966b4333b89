"""Importers for the killed-worker test (tests/gridmap/test_import_jobs.py), chosen by a real
`rqworker` process through GRIDCARE_IMPORTERS: the households importer, which, once every
household is written and counted inside its transaction, writes its process id to the file
GRIDCARE_TEST_PIDFILE names and waits to be killed."""

import os
import time
from pathlib import Path

from config.importers import IMPORTERS as REAL
from gridmap import importers as grid_importers
from gridmap.models import ImportRun


def _wait_to_be_killed(report) -> None:
    Path(os.environ["GRIDCARE_TEST_PIDFILE"]).write_text(str(os.getpid()))
    time.sleep(120)


def households_import(**options):
    return grid_importers.households_import(then=_wait_to_be_killed, **options)


IMPORTERS = {**REAL, ImportRun.Kind.HOUSEHOLDS: households_import}
