#!/usr/bin/env bash
# Idempotent set-up shared by `make demo`, `make test` and `make bench`.
#
# 1. installs the system packages that are missing (apt, as root or via sudo);
# 2. creates .venv and installs the pinned project into it, and the front-end packages
#    (package-lock.json) into node_modules;
# 3. unless DATABASE_URL / REDIS_URL are set, starts a private PostgreSQL
#    cluster and a private Redis under var/ on free local ports (the system's
#    own services, if any, are left alone);
# 4. creates the database with PostGIS, migrates, compiles translations.
#
# It writes var/env.sh, which the Makefile sources before every command.
# Usage: scripts/setup.sh [--browser]   (--browser also installs Chromium)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR="$ROOT/var"
PYTHON=${PYTHON:-python3}
WANT_BROWSER=0
[ "${1:-}" = "--browser" ] && WANT_BROWSER=1
mkdir -p "$VAR"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- 1. system packages -------------------------------------------------------
missing=()
pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "${DATABASE_URL:-}" ]; then
  [ -n "$(pg_bindir)" ] || missing+=(postgresql)
fi
ldconfig -p 2>/dev/null | grep -q 'libgdal\.so' || missing+=(gdal-bin)
[ -n "${REDIS_URL:-}" ] || command -v redis-server >/dev/null || missing+=(redis-server)
command -v msgfmt >/dev/null || missing+=(gettext)
command -v npm >/dev/null || missing+=(npm)
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ "$WANT_BROWSER" = 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  fc-list 2>/dev/null | grep -qi 'noto.*cjk' || missing+=(fonts-noto-cjk)
fi

apt_install() {
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo)
    else
      echo "Missing system packages: $*" >&2
      echo "Install them (sudo apt-get install -y $*) or run this as root." >&2
      exit 1
    fi
  fi
  say "installing system packages: $*"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

if [ -z "${DATABASE_URL:-}" ]; then
  PGBIN=$(pg_bindir)
  PGVER=$(basename "$(dirname "$PGBIN")")
  [ -f "/usr/share/postgresql/$PGVER/extension/postgis.control" ] \
    || apt_install "postgresql-$PGVER-postgis-3"
fi

# --- 2. virtualenv ------------------------------------------------------------
stamp="$ROOT/.venv/.installed-$(cat "$ROOT/pyproject.toml" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  say "installing Python dependencies into .venv"
  [ -x "$ROOT/.venv/bin/python" ] || "$PYTHON" -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check -e "$ROOT[dev]"
  rm -f "$ROOT"/.venv/.installed-*
  touch "$stamp"
fi

# --- 2b. front-end packages (package.json, pinned by package-lock.json) --------------
# Served by the app from node_modules (config/settings.py STATICFILES_DIRS), never from a CDN.
npm_stamp="$ROOT/node_modules/.installed-$(cat "$ROOT/package-lock.json" | sha1sum | cut -c1-12)"
if [ ! -f "$npm_stamp" ]; then
  say "installing front-end packages into node_modules"
  (cd "$ROOT" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
  rm -f "$ROOT"/node_modules/.installed-*
  touch "$npm_stamp"
fi

free_port() { "$ROOT/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- 3a. private PostgreSQL cluster ------------------------------------------
start_postgres() {
  local dir="$VAR/pg" as=()
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: the cluster belongs to the postgres user.
    as=(runuser -u postgres --)
    mkdir -p "$dir"
    if ! runuser -u postgres -- test -x "$VAR" 2>/dev/null; then
      # The checkout lies where postgres cannot reach: keep the cluster in a
      # per-checkout folder under /var/tmp and point var/pg at it.
      local alt="/var/tmp/gridcare-$(echo "$ROOT" | sha1sum | cut -c1-10)"
      mkdir -p "$alt"; rmdir "$dir" 2>/dev/null || true; ln -sfn "$alt" "$dir"
    fi
    chown postgres "$dir/"
  fi
  mkdir -p "$dir"
  local data="$dir/data" run="$dir/run"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in $data"
    "${as[@]}" "$PGBIN/initdb" -D "$data" -U gridcare --auth=trust -E UTF8 --no-locale >/dev/null
    # A development cluster: durability traded for speed. Production points
    # DATABASE_URL at a properly configured server.
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$run'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 512MB
work_mem = 64MB
maintenance_work_mem = 512MB
CONF
  fi
  "${as[@]}" mkdir -p "$run"
  local port
  port=$(cat "$dir/port" 2>/dev/null || true)
  if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "${port:-1}" 2>/dev/null \
     || ! "${as[@]}" "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    "${as[@]}" "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1 \
      && "${as[@]}" "$PGBIN/pg_ctl" -D "$data" -m fast stop >/dev/null
    port=$(free_port)
    echo "$port" > "$dir/port"
    say "starting PostgreSQL on 127.0.0.1:$port"
    "${as[@]}" "$PGBIN/pg_ctl" -D "$data" -o "-p $port" -l "$dir/postgres.log" -w start >/dev/null
  fi
  "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U gridcare -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='gridcare'" | grep -q 1 \
    || "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U gridcare gridcare
  PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U gridcare -d gridcare -qc \
    "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  PRIVATE_DATABASE_URL="postgres://gridcare@127.0.0.1:$port/gridcare"
}

# --- 3b. private Redis ----------------------------------------------------------
start_redis() {
  local dir="$VAR/redis" port
  mkdir -p "$dir"
  port=$(cat "$dir/port" 2>/dev/null || true)
  if [ -z "$port" ] || ! redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
    port=$(free_port)
    echo "$port" > "$dir/port"
    say "starting Redis on 127.0.0.1:$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 50); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  fi
  PRIVATE_REDIS_URL="redis://127.0.0.1:$port/0"
}

PRIVATE_DATABASE_URL=""; PRIVATE_REDIS_URL=""
[ -n "${DATABASE_URL:-}" ] || start_postgres
[ -n "${REDIS_URL:-}" ] || start_redis

# Variables set by the caller win over the private services.
cat > "$VAR/env.sh" <<ENV
# Written by scripts/setup.sh; sourced by the Makefile.
export DATABASE_URL=\${DATABASE_URL:-$PRIVATE_DATABASE_URL}
export REDIS_URL=\${REDIS_URL:-$PRIVATE_REDIS_URL}
ENV
# shellcheck disable=SC1091
. "$VAR/env.sh"

# --- 4. database schema and translations -------------------------------------------
cd "$ROOT"
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py compilemessages -v 0 --ignore '.venv/*' --ignore 'node_modules/*'
.venv/bin/python manage.py collectstatic --noinput -v 0
say "ready (database and Redis settings in var/env.sh)"
