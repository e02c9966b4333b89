"""Scheduled jobs, loaded by RQ's cron scheduler: `python manage.py rqcron config.cron`
(`make demo` starts it beside the worker). Cron strings are in UTC."""

from rq import cron

from cases.patients.jobs import patients_classify_job
from cases.transfers.jobs import transfers_sweep_job
from gridmap.audit import audit_head_job
from gridmap.jobs import import_runs_reconcile_job, uploads_purge_job

NIGHTLY_CLASSIFY_UTC = "30 18 * * *"  # 02:30 local time (Asia/Shanghai), after the day's imports
SWEEP_EVERY_SECONDS = 300  # R24/R28 deadlines are hours long: five minutes late at most
RECONCILE_EVERY_SECONDS = 60  # an import whose work-horse died shows failed within a minute
PURGE_UPLOADS_UTC = "0 19 * * *"  # 03:00 local time
AUDIT_HEAD_UTC = "55 15 * * *"  # 23:55 local time: the day's last access-log row, outside the database

cron.register(patients_classify_job, queue_name="default", cron=NIGHTLY_CLASSIFY_UTC, job_timeout=3600)
cron.register(transfers_sweep_job, queue_name="default", interval=SWEEP_EVERY_SECONDS, job_timeout=600)
cron.register(import_runs_reconcile_job, queue_name="default", interval=RECONCILE_EVERY_SECONDS,
              job_timeout=60)
cron.register(uploads_purge_job, queue_name="default", cron=PURGE_UPLOADS_UTC, job_timeout=600)
cron.register(audit_head_job, queue_name="default", cron=AUDIT_HEAD_UTC, job_timeout=600)
