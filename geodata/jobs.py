"""RQ entry points for imports: take an id, call one importer, report progress."""

from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from rq import get_current_job

from geodata import importers
from gridmap.models import ImportRun


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
    report = run_import(run, progress=_progress)
    return report


def run_import(run: ImportRun, progress=None) -> dict:
    path = Path(run.options["path"])
    kwargs = {"path": path, "dry_run": run.dry_run, "progress": progress}
    source_crs = run.options.get("source_crs")
    as_of = run.options.get("as_of")
    as_of = date.fromisoformat(as_of) if as_of else None
    Kind = ImportRun.Kind
    if run.kind == Kind.GRID_UNITS:
        report = importers.grid_units_import(source_crs=source_crs, import_run_id=run.pk, **kwargs)
    elif run.kind == Kind.HOUSEHOLDS:
        report = importers.households_import(source_crs=source_crs, **kwargs)
    elif run.kind == Kind.PATIENTS:
        report = importers.patients_import(source_crs=source_crs, as_of=as_of, **kwargs)
    elif run.kind == Kind.FOLLOWUPS:
        report = importers.followups_import(as_of=as_of, **kwargs)
    elif run.kind == Kind.STAFF:
        report = importers.staff_import(**kwargs)
    elif run.kind == Kind.CAMPAIGNS:
        report = importers.campaigns_import(**kwargs)
    elif run.kind == Kind.SCREENING:
        report = importers.screening_import(**kwargs)
    else:
        raise ValueError(f"unknown import kind {run.kind!r}")
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.DONE if report.ok else ImportRun.Status.FAILED,
        report=report.to_dict(),
        finished_at=timezone.now(),
    )
    return report.to_dict()


def import_run_enqueue(run: ImportRun) -> None:
    """Queue the run once the transaction that created it commits (STYLE §9)."""
    import django_rq

    def enqueue() -> None:
        job = django_rq.get_queue("default").enqueue(import_run_job, run.pk, job_timeout=3600)
        ImportRun.objects.filter(pk=run.pk).update(job_id=job.id)

    transaction.on_commit(enqueue)
