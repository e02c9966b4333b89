# The two commands a newcomer needs: `make demo` and `make test`.
# Both set everything up first (scripts/setup.sh) and are idempotent.
SHELL := /bin/bash
PY := .venv/bin/python
ENV := . var/env.sh &&
DEMO_PORT ?= 8000

.PHONY: setup setup-browser demo demo-stop demo-code test bench lint backup restore

setup:
	scripts/setup.sh

setup-browser:
	scripts/setup.sh --browser

demo: setup
	$(ENV) scripts/demo.sh start $(DEMO_PORT)

demo-stop:
	scripts/demo.sh stop

# The demo administrator's and county office's second-factor code: make demo-code USER=admin
demo-code:
	@$(ENV) $(PY) manage.py demo_code $(USER)

test: setup-browser
	$(ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(ENV) $(PY) -m bench $(BENCH_ARGS)

# A custom-format pg_dump of DATABASE_URL to var/backups/ (or BACKUP=path); docs/operations.md.
backup: setup
	$(ENV) $(PY) manage.py backup $(if $(BACKUP),--output "$(BACKUP)")

# make restore BACKUP=path [FORCE=1]: into DATABASE_URL, in one transaction; FORCE=1 replaces a
# database that holds tables. Not after setup: its migrate would fill the database restored into.
restore:
	@[ -n "$(BACKUP)" ] || { echo "usage: make restore BACKUP=var/backups/gridcare-<time>.dump [FORCE=1]" >&2; exit 2; }
	$(ENV) $(PY) manage.py restore "$(BACKUP)" $(if $(filter 1,$(FORCE)),--force)

lint: setup
	$(PY) -m ruff check .
	.venv/bin/lint-imports --no-cache
