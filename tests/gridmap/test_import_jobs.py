"""Import jobs end, whatever happens to them (probe finding 10; issue 10 Deliver 7-8): a run
is never left running, never half-written, can be run again, and its uploaded file is
private and does not outlive its use."""

import os
import signal
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rq.job import Job

from gridmap.jobs import import_runs_reconcile, uploads_purge
from gridmap.models import GridUnit, Household, ImportRun
from tests.conftest import SMALL_GRID
from tests.gridmap.test_households_import import ROWS, households_csv

STORED = len(ROWS)  # H7 lies in no unit: stored, with a warning


def upload(client, path, kind):
    with path.open("rb") as file:
        return client.post(reverse("admin:gridmap_import_upload"), {"kind": kind, "file": file})


def status(client, run):
    return client.get(reverse("admin:gridmap_import_status", args=[run.pk])).json()


def indexes(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1",
                       [table])
        return cursor.fetchall()


def test_database_url() -> str:
    """DATABASE_URL naming the test database, for a worker in another process."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


test_database_url.__test__ = False


@pytest.mark.django_db(transaction=True)
def test_a_work_horse_killed_mid_import_leaves_no_data_the_run_failed_and_a_rerun_succeeds(
    admin_client, small_grid, tmp_path, settings, redis_queue, run_worker
):
    settings.MEDIA_ROOT = tmp_path / "media"
    before = indexes("gridmap_household")
    assert Household.objects.count() == 0
    assert upload(admin_client, households_csv(tmp_path), "households").status_code == 302
    run = ImportRun.objects.get()
    assert run.job_id and len(redis_queue) == 1, (run.job_id, len(redis_queue))
    pidfile = tmp_path / "horse.pid"
    env = {**os.environ, "DATABASE_URL": test_database_url(),
           "REDIS_URL": django_settings.RQ_QUEUES["default"]["URL"], "GRIDCARE_MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "GRIDCARE_IMPORTERS": "tests.gridmap.slow_importers.IMPORTERS",
           "GRIDCARE_TEST_PIDFILE": str(pidfile)}
    worker = subprocess.Popen(  # the real worker, as `make demo` runs it: it forks a work-horse
        [sys.executable, "manage.py", "rqworker", "--burst", "default"],
        cwd=django_settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    horse = None
    try:
        deadline = time.monotonic() + 90
        while not pidfile.exists() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        assert pidfile.exists(), worker.communicate(timeout=30)[0].decode()
        horse = int(pidfile.read_text())
        assert horse != worker.pid
        assert status(admin_client, run)["status"] == "running"
        # Written, not committed: the horse's session holds a transaction that has written
        # (an xid). The households table itself is locked by it (a first load rebuilds its
        # indexes), so it is not read until the horse is gone.
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND state = 'idle in transaction' AND backend_xid IS NOT NULL")
            assert cursor.fetchone()[0] == 1
        os.kill(horse, signal.SIGKILL)
        output = worker.communicate(timeout=60)[0].decode()
    finally:
        for pid in (horse, worker.pid):
            if pid is not None and worker.poll() is None:
                os.kill(pid, signal.SIGKILL)
    assert "terminated unexpectedly" in output

    answer = status(admin_client, run)  # the page asks; RQ says how the job ended
    assert answer["status"] == "failed" and answer["progress"] == 1.0 and answer["again"]
    [error] = answer["report"]["errors"]
    assert error["key"] == "crashed" and "signal 9" in error["message"]
    assert "nothing was changed" in error["message"]
    # No partial data: no household, no count, and the indexes a first load sets aside are back.
    assert Household.objects.count() == 0
    assert set(GridUnit.objects.values_list("households", flat=True)) == {0}
    assert indexes("gridmap_household") == before

    response = admin_client.post(reverse("admin:gridmap_import_again", args=[run.pk]))
    again = ImportRun.objects.exclude(pk=run.pk).get()
    assert response.url == reverse("admin:gridmap_import_progress", args=[again.pk])
    assert again.options == run.options and again.kind == run.kind
    run_worker()  # the real importers this time
    again.refresh_from_db()
    assert again.status == ImportRun.Status.DONE, again.report
    assert Household.objects.count() == STORED
    assert not Path(run.options["path"]).exists()  # read at last: deleted


def test_an_uploaded_file_is_private_and_deleted_once_read(
    admin_client, small_grid, tmp_path, settings, run_worker, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, households_csv(tmp_path), "households")
    run = ImportRun.objects.get()
    path = Path(run.options["path"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    run_worker()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE and not path.exists() and not path.parent.exists()


def test_a_file_with_errors_is_deleted_too(
    admin_client, write_units, tmp_path, settings, run_worker, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    bad = [SMALL_GRID[0], ("610727001", "", 2, "999", SMALL_GRID[1][4])]
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, write_units(bad), "grid_units")
    run_worker()
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED and not Path(run.options["path"]).exists()
    assert not status(admin_client, run)["again"]  # the file is wrong: upload a corrected one


def test_a_crashed_run_keeps_its_file_and_runs_again(
    admin_client, write_units, tmp_path, settings, run_worker, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GRIDCARE_IMPORTERS = "tests.gridmap.test_import_upload.CRASHING"
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, write_units(SMALL_GRID), "grid_units")
    run_worker()
    run = ImportRun.objects.get()
    path = Path(run.options["path"])
    assert run.status == ImportRun.Status.FAILED and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    page = admin_client.get(reverse("admin:gridmap_import_progress", args=[run.pk]))
    assert b'id="again" method="post"' in page.content and b"hidden" not in page.content.split(
        b'id="again"')[1].split(b">")[0]

    settings.GRIDCARE_IMPORTERS = "config.importers.IMPORTERS"
    assert admin_client.get(reverse("admin:gridmap_import_again", args=[run.pk])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:gridmap_import_again", args=[run.pk]))
    run_worker()
    again = ImportRun.objects.exclude(pk=run.pk).get()
    assert again.status == ImportRun.Status.DONE and GridUnit.objects.count() == len(SMALL_GRID)
    assert not path.exists()
    # A run that did not fail cannot be run again.
    response = admin_client.post(reverse("admin:gridmap_import_again", args=[again.pk]), follow=True)
    assert ImportRun.objects.count() == 2
    assert "不能重新运行" in response.content.decode()  # says so, in Chinese


def test_a_crashed_run_runs_again_when_its_job_is_requeued(
    admin_client, write_units, settings, run_worker, redis_queue, django_capture_on_commit_callbacks
):
    """Probe finding 10: requeueing the job of a crashed run (RQ's dashboard) did nothing."""
    settings.GRIDCARE_IMPORTERS = "tests.gridmap.test_import_upload.CRASHING"
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, write_units(SMALL_GRID), "grid_units")
    run_worker()
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    settings.GRIDCARE_IMPORTERS = "config.importers.IMPORTERS"
    Job.fetch(run.job_id, connection=redis_queue.connection).requeue()
    run_worker()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE and GridUnit.objects.count() == len(SMALL_GRID)
    # A finished run is not redone by another job for it.
    redis_queue.enqueue("gridmap.jobs.import_run_job", run.pk)
    run_worker()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE and run.report["created"] == len(SMALL_GRID)


def test_a_run_whose_job_is_gone_is_failed_after_a_while(db, redis_queue):
    old = timezone.now() - timedelta(hours=1)
    lost = ImportRun.objects.create(kind="households", filename="h.csv", job_id="no-such-job",
                                    status=ImportRun.Status.RUNNING)
    never = ImportRun.objects.create(kind="households", filename="h.csv")
    fresh = ImportRun.objects.create(kind="households", filename="h.csv", job_id="also-missing")
    ImportRun.objects.filter(pk__in=[lost.pk, never.pk]).update(created_at=old)
    assert import_runs_reconcile() == 2
    lost.refresh_from_db(), never.refresh_from_db(), fresh.refresh_from_db()
    assert lost.status == never.status == ImportRun.Status.FAILED
    assert "no longer in the queue" in lost.report["errors"][0]["message"]
    assert "never queued" in never.report["errors"][0]["message"]
    assert fresh.status == ImportRun.Status.QUEUED  # its job may be about to appear
    assert import_runs_reconcile() == 0


def test_kept_files_are_purged_after_the_configured_days(db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    settings.GRIDCARE_UPLOAD_KEEP_DAYS = 7
    done = ImportRun.objects.create(kind="households", filename="a.csv", status=ImportRun.Status.FAILED)
    waiting = ImportRun.objects.create(kind="households", filename="b.csv")
    recent = ImportRun.objects.create(kind="households", filename="c.csv", status=ImportRun.Status.FAILED)
    eight_days_ago = time.time() - 8 * 86400
    for run in (done, waiting, recent):
        folder = tmp_path / "imports" / f"{run.pk}-0123abcd"
        folder.mkdir(parents=True)
        (folder / run.filename).write_text("x")
        if run is not recent:
            os.utime(folder, (eight_days_ago, eight_days_ago))
    assert uploads_purge() == 1
    assert sorted(p.name for p in (tmp_path / "imports").iterdir()) == sorted([f"{waiting.pk}-0123abcd", f"{recent.pk}-0123abcd"])


def test_cron_reconciles_runs_every_minute_and_purges_files_daily(redis_queue):
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=redis_queue.connection)
    scheduler.load_config_from_file("config.cron")
    jobs = {job.func.__name__: job for job in scheduler.get_jobs()}
    assert jobs["import_runs_reconcile_job"].interval == 60
    assert jobs["uploads_purge_job"].cron
