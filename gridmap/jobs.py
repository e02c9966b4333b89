"""RQ entry points for imports: take an id, call the importer of the run's kind, report
progress in job.meta, and leave the run done or failed, never running."""

import inspect
import logging
from datetime import date
from pathlib import Path

import django_rq
from django.db import transaction
from django.utils import timezone
from rq import get_current_job

from geodata.report import ImportReport
from gridmap.importers import importer_for
from gridmap.models import ImportRun

log = logging.getLogger(__name__)


def _progress(fraction: float, message: str) -> None:
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = round(fraction, 3)
        job.meta["message"] = message
        job.save_meta()


def import_run_job(import_run_id: int) -> dict:
    """Run the import an ImportRun describes. Idempotent: a finished run is not redone."""
    updated = ImportRun.objects.filter(
        pk=import_run_id, status=ImportRun.Status.QUEUED
    ).update(status=ImportRun.Status.RUNNING)  # conditional: two workers never both run it
    run = ImportRun.objects.get(pk=import_run_id)
    if not updated:
        return run.report
    return run_import(run, progress=_progress)


def run_import(run: ImportRun, progress=None) -> dict:
    """Call the run's importer with the options it takes and store its report. An importer
    that raises has written nothing (its transaction rolled back): the run is marked failed
    with the reason, which the progress page shows, and the error goes on to RQ."""
    importer = importer_for(run.kind)
    try:
        report = importer(**_arguments(importer, run, progress))
    except Exception as exc:
        log.exception("import run %s (%s) stopped", run.pk, run.kind)
        report = ImportReport(kind=run.kind, dry_run=run.dry_run)
        report.error("", "crashed", f"the import stopped with an error ({type(exc).__name__}: {exc}); "
                                    "nothing was changed")
        _finish(run, report)
        raise
    _finish(run, report)
    return report.to_dict()


def _arguments(importer, run: ImportRun, progress) -> dict:
    """path, dry_run and progress, and of the run's options those the importer takes."""
    options = {"source_crs": run.options.get("source_crs"), "import_run_id": run.pk,
               "as_of": date.fromisoformat(run.options["as_of"]) if run.options.get("as_of") else None}
    accepted = inspect.signature(importer).parameters
    return {"path": Path(run.options["path"]), "dry_run": run.dry_run, "progress": progress,
            **{name: value for name, value in options.items() if name in accepted}}


def _finish(run: ImportRun, report: ImportReport) -> None:
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.DONE if report.ok else ImportRun.Status.FAILED,
        report=report.to_dict(), finished_at=timezone.now(),
    )


def import_run_enqueue(run: ImportRun) -> None:
    """Queue the run once the transaction that created it commits (STYLE §9)."""

    def enqueue() -> None:
        job = django_rq.get_queue("default").enqueue(import_run_job, run.pk, job_timeout=3600)
        ImportRun.objects.filter(pk=run.pk).update(job_id=job.id)

    transaction.on_commit(enqueue)
