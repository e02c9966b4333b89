"""Scheduled jobs, loaded by RQ's cron scheduler: `python manage.py rqcron config.cron`
(`make demo` starts it beside the worker). Cron strings are in UTC."""

from rq import cron

from cases.patients.jobs import patients_classify_job
from cases.transfers.jobs import transfers_sweep_job

NIGHTLY_CLASSIFY_UTC = "30 18 * * *"  # 02:30 local time (Asia/Shanghai), after the day's imports
SWEEP_EVERY_SECONDS = 300  # R24/R28 deadlines are hours long: five minutes late at most

cron.register(patients_classify_job, queue_name="default", cron=NIGHTLY_CLASSIFY_UTC, job_timeout=3600)
cron.register(transfers_sweep_job, queue_name="default", interval=SWEEP_EVERY_SECONDS, job_timeout=600)
