#!/usr/bin/env bash
# Start or stop the demo: the web app (gunicorn), an RQ worker and RQ's cron.
# `make demo` runs setup first, then `scripts/demo.sh start PORT`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN="$ROOT/var/run"
PY="$ROOT/.venv/bin/python"
mkdir -p "$RUN"

stop_one() {
  local pidfile="$RUN/$1.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

stop_all() {
  stop_one web; stop_one worker; stop_one cron
  # The private PostgreSQL and Redis were started by setup for this checkout.
  if [ -f "$ROOT/var/pg/data/postmaster.pid" ]; then
    local pgbin; pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$pgbin/pg_ctl" -D "$ROOT/var/pg/data" -m fast stop >/dev/null 2>&1 || true
    else "$pgbin/pg_ctl" -D "$ROOT/var/pg/data" -m fast stop >/dev/null 2>&1 || true; fi
  fi
  if [ -f "$ROOT/var/redis/redis.pid" ]; then
    kill "$(cat "$ROOT/var/redis/redis.pid")" 2>/dev/null || true
  fi
  echo "demo stopped"
}

port_free() { ! "$PY" -c "import socket,sys; s=socket.socket(); s.connect(('127.0.0.1', int(sys.argv[1])))" "$1" 2>/dev/null; }

start() {
  local port=${1:-8000}
  stop_one web; stop_one worker; stop_one cron
  cd "$ROOT"
  echo "loading the demo county (略阳县)…"
  "$PY" manage.py seed_demo
  "$PY" manage.py collectstatic --noinput -v 0
  while ! port_free "$port"; do port=$((port + 1)); done
  GRIDCARE_DEBUG=false GRIDCARE_WEB_BIND="127.0.0.1:$port" nohup "$ROOT/.venv/bin/gunicorn" \
    -c config/gunicorn.py config.wsgi:application --access-logfile "$RUN/web.access.log" \
    >"$RUN/web.log" 2>&1 &
  echo $! > "$RUN/web.pid"
  nohup "$PY" manage.py rqworker default --with-scheduler >"$RUN/worker.log" 2>&1 &
  echo $! > "$RUN/worker.pid"
  # RQ's cron: the nightly reclassification (gridmap/cron.py), enqueued for the worker.
  nohup "$PY" manage.py rqcron config.cron >"$RUN/cron.log" 2>&1 &
  echo $! > "$RUN/cron.pid"
  for _ in $(seq 100); do
    "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "http://127.0.0.1:$port/login/" 2>/dev/null && break; sleep 0.2
  done
  cat <<MSG

  gridcare demo is running:  http://127.0.0.1:$port/
  Log in with any username listed above; every demo password is gridcare-demo-2026
  (admin also opens http://127.0.0.1:$port/admin/). The administrator and the county
  office then give a second-factor code: make demo-code USER=admin (or the county
  office's username). Stop it with: make demo-stop
MSG
}

case "${1:-}" in
  start) start "${2:-8000}" ;;
  stop) stop_all ;;
  *) echo "usage: $0 start [PORT] | stop" >&2; exit 2 ;;
esac
