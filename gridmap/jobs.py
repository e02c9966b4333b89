"""RQ entry points for imports: take an id, call the importer of the run's kind, report
progress in job.meta, and leave the run done or failed, never running.

A run ends failed with its reason however its job ends: the importer raising (caught
here), the job timing out or its worker vanishing (RQ's failure callback, which the
abandoned-job registry also calls), or its work-horse killed outright, which no code in
the horse survives: `import_runs_reconcile` reads the job's end from RQ (the status page
calls it for the run it shows; cron every minute for all). Nothing is half-written
either way: every importer runs in one transaction, which PostgreSQL rolls back when the
connection of a dead process closes.

Uploaded files (probe finding 10): written 0600 in a 0700 folder, deleted when the run
has read them (done, or failed on the file's own errors); kept for "run again" when the
run crashed, and purged after GRIDCARE_UPLOAD_KEEP_DAYS."""

import inspect
import logging
import os
import secrets
import shutil
from datetime import date, timedelta
from pathlib import Path

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rq import Callback, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

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
    """Run the import an ImportRun describes. Idempotent: a finished run is not redone; a
    run that crashed is, when its job is requeued (e.g. from the RQ dashboard)."""
    updated = ImportRun.objects.filter(
        Q(status=ImportRun.Status.QUEUED)
        | Q(status=ImportRun.Status.FAILED, report__errors__0__key=CRASHED), pk=import_run_id,
    ).update(status=ImportRun.Status.RUNNING, report={}, finished_at=None)  # never two at once
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
        _fail(run.pk, f"{type(exc).__name__}: {exc}")  # the file is kept: it can be run again
        raise
    _finish(run, report)
    upload_delete(run)
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


UNFINISHED = (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING)
CRASHED = "crashed"  # the key of the one error a run that did not finish reports


def _fail(run_id: int, reason: str) -> bool:
    """Mark a run that has not finished failed, with why; False if it had finished."""
    run = ImportRun.objects.filter(pk=run_id).only("kind", "dry_run").first()
    if run is None:
        return False
    report = ImportReport(kind=run.kind, dry_run=run.dry_run)
    report.error("", CRASHED, f"the import stopped with an error ({reason.strip()[:2000]}); "
                              "nothing was changed; it can be run again")
    return bool(ImportRun.objects.filter(pk=run_id, status__in=UNFINISHED).update(
        status=ImportRun.Status.FAILED, report=report.to_dict(), finished_at=timezone.now()))


def import_run_job_failed(job: Job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's failure callback: the job raised, timed out or was abandoned by its worker."""
    _fail(job.args[0], f"{exc_type.__name__}: {exc_value}" if exc_type else "the job failed")


def import_run_enqueue(run: ImportRun) -> None:
    """Queue the run once the transaction that created it commits (STYLE §9)."""

    def enqueue() -> None:
        job = django_rq.get_queue("default").enqueue(
            import_run_job, run.pk, job_timeout=3600, on_failure=Callback(import_run_job_failed))
        ImportRun.objects.filter(pk=run.pk).update(job_id=job.id)

    transaction.on_commit(enqueue)


ENDED = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
LOST_AFTER = timedelta(minutes=10)  # a run with no job this long after it was made: lost


def import_runs_reconcile(runs=None) -> int:
    """Runs RQ has given up on but that still say queued or running are marked failed,
    with the reason RQ recorded (e.g. "Work-horse terminated unexpectedly ... (signal
    9)"). A run whose job Redis no longer holds, or that was never queued, is failed once
    it is LOST_AFTER old. Returns how many runs were marked."""
    runs = (ImportRun.objects.all() if runs is None else runs).filter(status__in=UNFINISHED)
    connection = django_rq.get_connection("default")
    lost_before = timezone.now() - LOST_AFTER
    marked = 0
    for run in runs.only("pk", "job_id", "created_at"):  # a handful at most: the unfinished
        reason = None
        if not run.job_id:
            if run.created_at < lost_before:
                reason = "it was never queued"
        else:
            try:
                job = Job.fetch(run.job_id, connection=connection)
            except NoSuchJobError:
                if run.created_at < lost_before:
                    reason = "its job is no longer in the queue"
            else:
                if job.get_status() in ENDED:
                    result = job.latest_result()
                    text = (result.exc_string or "").strip() if result else ""
                    reason = text.splitlines()[-1] if text else f"the job {job.get_status()}"
        if reason is not None:
            marked += _fail(run.pk, reason)
    return marked


def import_runs_reconcile_job() -> int:
    """Cron: every minute (config/cron.py)."""
    return import_runs_reconcile()


def import_run_again(run: ImportRun, user) -> ImportRun | None:
    """A new run of a failed run's kept file with the same options, queued; None when the
    run has not failed or its file is gone."""
    path = Path(run.options.get("path", ""))
    if run.status != ImportRun.Status.FAILED or not run.options.get("path") or not path.is_file():
        return None
    again = ImportRun.objects.create(kind=run.kind, filename=run.filename, dry_run=run.dry_run,
                                     options=run.options, created_by=user)
    import_run_enqueue(again)
    return again


# --- Uploaded files ---------------------------------------------------------------------------

def uploads_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def upload_save(run: ImportRun, upload) -> Path:
    """Write an uploaded file for its run, readable by this account only."""
    root = uploads_root()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    folder = root / f"{run.pk}-{secrets.token_hex(8)}"  # unique even if a database is rebuilt
    folder.mkdir(mode=0o700)
    target = folder / (Path(upload.name).name or "upload")
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return target


def upload_delete(run: ImportRun) -> None:
    """Delete a run's uploaded file (only ever one under uploads_root)."""
    path = run.options.get("path")
    if not path:
        return
    folder = Path(path).parent
    if folder.parent == uploads_root() and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def uploads_purge(now=None) -> int:
    """Delete kept files older than GRIDCARE_UPLOAD_KEEP_DAYS whose runs are not waiting
    to be read. Returns how many folders were deleted."""
    root = uploads_root()
    if not root.is_dir():
        return 0
    cutoff = (now or timezone.now()).timestamp() - settings.GRIDCARE_UPLOAD_KEEP_DAYS * 86400
    waiting = {str(pk) for pk in ImportRun.objects.filter(status__in=UNFINISHED)
               .values_list("pk", flat=True)}
    purged = 0
    for folder in root.iterdir():
        if folder.name.split("-")[0] not in waiting and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            purged += 1
    return purged


def uploads_purge_job() -> int:
    """Cron: daily (config/cron.py)."""
    return uploads_purge()
