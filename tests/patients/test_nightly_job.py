"""The nightly reclassification: registered with RQ's cron, run by a real worker."""

from datetime import date

import pytest
from rq.cron import CronScheduler

from cases.patients.jobs import patients_classify_job
from cases.patients.models import Patient

pytestmark = pytest.mark.django_db


def test_the_cron_config_registers_the_nightly_classification(redis_queue):
    scheduler = CronScheduler(connection=redis_queue.connection)
    scheduler.load_config_from_file("config.cron")
    jobs = {job.func_name: job for job in scheduler.get_jobs()}
    nightly = jobs["cases.patients.jobs.patients_classify_job"]
    assert nightly.cron == "30 18 * * *" and nightly.queue_name == "default"
    assert jobs["cases.transfers.jobs.transfers_sweep_job"].interval == 300


def test_the_job_reclassifies_as_time_passes_R16(register, redis_queue, run_worker):
    # P05 moved in on 2026-03-01: floating until six months have passed.
    Patient.objects.filter(patient_no="P05").update(resident_since=date(2026, 3, 1))
    redis_queue.enqueue(patients_classify_job, "2026-08-31")
    run_worker()
    assert "floating" in Patient.objects.get(patient_no="P05").key_groups
    redis_queue.enqueue(patients_classify_job, "2026-09-01")
    run_worker()
    p5 = Patient.objects.get(patient_no="P05")
    assert "floating" not in p5.key_groups and p5.classified_on == date(2026, 9, 1)
