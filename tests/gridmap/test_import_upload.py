"""The admin upload page: file -> ImportRun -> real RQ job -> report and progress."""

from datetime import date

import pytest
from django.urls import reverse

from gridmap.models import GridUnit, ImportRun
from tests.conftest import SMALL_GRID

pytestmark = pytest.mark.django_db


def test_upload_runs_the_import_as_a_job_and_reports_progress(
    admin_client, write_units, run_worker, django_capture_on_commit_callbacks
):
    path = write_units(SMALL_GRID)
    with django_capture_on_commit_callbacks(execute=True):
        with path.open("rb") as upload:
            response = admin_client.post(reverse("admin:gridmap_import_upload"),
                                         {"kind": "grid_units", "file": upload, "source_crs": ""})
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:gridmap_import_progress", args=[run.pk])
    queued = admin_client.get(reverse("admin:gridmap_import_status", args=[run.pk])).json()
    assert queued["status"] == "queued" and run.job_id

    run_worker()

    status = admin_client.get(reverse("admin:gridmap_import_status", args=[run.pk])).json()
    assert status["status"] == "done" and status["progress"] == 1.0
    assert status["report"]["created"] == len(SMALL_GRID)
    assert GridUnit.objects.count() == len(SMALL_GRID)
    from django_rq import get_queue
    from rq.job import Job

    job = Job.fetch(run.job_id, connection=get_queue("default").connection)
    assert job.meta["progress"] == 1.0  # the bar the page shows came from the job


def test_a_bad_upload_fails_with_its_report_and_writes_nothing(
    admin_client, write_units, run_worker, django_capture_on_commit_callbacks
):
    bad = [SMALL_GRID[0], ("610727001", "", 2, "999", SMALL_GRID[1][4])]
    with django_capture_on_commit_callbacks(execute=True):
        with write_units(bad).open("rb") as upload:
            admin_client.post(reverse("admin:gridmap_import_upload"),
                              {"kind": "grid_units", "file": upload})
    run_worker()
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    wheres = [e["where"] for e in run.report["errors"]]
    assert wheres == ["feature 2, column name", "feature 2, column parent_code"]
    assert GridUnit.objects.count() == 0


def test_the_upload_page_needs_an_administrator(client, django_user_model):
    user = django_user_model.objects.create_user("worker", password="pw-12345678")
    client.force_login(user)
    response = client.get(reverse("admin:gridmap_import_upload"))
    assert response.status_code == 302 and "/login/" in response.url


def test_a_patient_ledger_upload_runs_the_patient_importer(
    admin_client, small_grid, tmp_path, run_worker, django_capture_on_commit_callbacks
):
    from cases.patients.models import Patient
    from tests.ledgers import patient, write_table

    path = write_table(tmp_path / "ledger.xlsx", [patient("P01"), patient("P02")], chinese=True)
    with django_capture_on_commit_callbacks(execute=True):
        with path.open("rb") as upload:
            admin_client.post(reverse("admin:gridmap_import_upload"),
                              {"kind": "patients", "file": upload, "as_of": "2026-06-30"})
    run_worker()
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.DONE, run.report
    assert run.report["created"] == 2
    assert set(Patient.objects.values_list("classified_on", flat=True)) == {date(2026, 6, 30)}


def crashing_import(*, path, dry_run=False, progress=None, source_crs=None):
    """An importer that writes a unit and then stops with an unexpected error."""
    from geodata.report import ImportReport, run_atomic

    report = ImportReport(kind="grid_units", dry_run=dry_run)

    def body():
        GridUnit.objects.create(code="X1", name="半途", level=1,
                                geom="SRID=4326;MULTIPOLYGON(((106 33, 106.1 33, 106.1 33.1, 106 33)))")
        raise RuntimeError("disk on fire")

    return run_atomic(report, dry_run=dry_run, body=body)


CRASHING = {"grid_units": crashing_import}


def test_an_import_that_raises_fails_its_run_with_the_reason_and_writes_nothing(
    admin_client, settings, write_units, run_worker, django_capture_on_commit_callbacks
):
    settings.GRIDCARE_IMPORTERS = "tests.gridmap.test_import_upload.CRASHING"
    with django_capture_on_commit_callbacks(execute=True):
        with write_units(SMALL_GRID).open("rb") as upload:
            admin_client.post(reverse("admin:gridmap_import_upload"), {"kind": "grid_units", "file": upload})
    run_worker()  # the real worker: the job fails, and says so on the run
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED and run.finished_at is not None
    status = admin_client.get(reverse("admin:gridmap_import_status", args=[run.pk])).json()
    assert status["status"] == "failed" and status["progress"] == 1.0
    [error] = status["report"]["errors"]
    assert error["key"] == "crashed" and "RuntimeError: disk on fire" in error["message"]
    assert "nothing was changed" in error["message"]
    assert not GridUnit.objects.filter(code="X1").exists()
    from django_rq import get_queue
    from rq.job import Job

    assert Job.fetch(run.job_id, connection=get_queue("default").connection).is_failed
