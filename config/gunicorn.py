"""gunicorn's settings for the demo, the load test and deployments:
`gunicorn -c config/gunicorn.py config.wsgi:application` (docs/operations.md).

Threaded workers: a request spends part of its time waiting for PostgreSQL, and another
thread of the same process answers meanwhile. Two processes per CPU and four threads each
were measured best on the load test (bench/load.py, bench/results.md: 20 township clients
on the patient list and API); GRIDCARE_WEB_WORKERS and GRIDCARE_WEB_THREADS override.
Each thread keeps one database connection (CONN_MAX_AGE), so PostgreSQL needs
max_connections ≥ workers × threads per web machine, plus the workers' and the cron's.
"""

import os

bind = os.environ.get("GRIDCARE_WEB_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GRIDCARE_WEB_WORKERS", "") or 2 * (os.cpu_count() or 1))
threads = int(os.environ.get("GRIDCARE_WEB_THREADS", "") or 4)
timeout = 60
graceful_timeout = 20
keepalive = 5
# A worker is replaced after this many requests (a slow leak never grows unbounded).
max_requests = 5000
max_requests_jitter = 500
