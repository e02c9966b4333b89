"""Importers of the register's files: the patient ledger (formats.md §3) and follow-up
records (§4). Each is one function that the command, the upload page and the RQ job all
call, atomic, reporting every bad row as `row N, column C`."""

from cases.patients.importers.followups import followups_import
from cases.patients.importers.ledger import PATIENT_COLUMNS, ResidenceChanges, patients_import

__all__ = ["PATIENT_COLUMNS", "ResidenceChanges", "followups_import", "patients_import"]
