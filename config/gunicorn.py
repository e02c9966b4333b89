"""gunicorn's settings for the demo, the load test and deployments:
`gunicorn -c config/gunicorn.py config.wsgi:application` (docs/operations.md).

One thread per worker process and 2 × CPUs + 1 processes, each closing its connection after
the answer (no keep-alive): a request then goes to a process that is free, because only a
free one accepts. Measured on the load test (bench/load.py, bench/results.md: 20 township
clients on the patient list and API, two cores): with keep-alive a client's connection
stays with the process that accepted it, and the processes holding more of the clients
queued their requests while others idled (p95 290–400 ms at 60 requests/s offered, with
capacity to spare); threads in one process share its interpreter lock the same way (4 ×
4 threads without keep-alive: p95 240 ms); 5 × 1 without keep-alive: p95 120 ms. Behind a
proxy (nginx speaks HTTP/1.0 to its upstream unless told otherwise) browsers keep their
connections to the proxy. GRIDCARE_WEB_WORKERS, GRIDCARE_WEB_THREADS and
GRIDCARE_WEB_KEEPALIVE (seconds) override. Each thread keeps one database connection
(CONN_MAX_AGE), so PostgreSQL needs max_connections ≥ workers × threads per web machine,
plus the workers' and the cron's.
"""

import os

bind = os.environ.get("GRIDCARE_WEB_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GRIDCARE_WEB_WORKERS", "") or 2 * (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("GRIDCARE_WEB_THREADS", "") or 1)
timeout = 60
graceful_timeout = 20
keepalive = int(os.environ.get("GRIDCARE_WEB_KEEPALIVE", "") or 0)
# A worker is replaced after this many requests (a slow leak never grows unbounded).
max_requests = 5000
max_requests_jitter = 500
