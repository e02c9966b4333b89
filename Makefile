# The two commands a newcomer needs: `make demo` and `make test`.
# Both set everything up first (scripts/setup.sh) and are idempotent.
SHELL := /bin/bash
PY := .venv/bin/python
ENV := . var/env.sh &&
DEMO_PORT ?= 8000

.PHONY: setup setup-browser demo demo-stop demo-code test bench lint

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

lint: setup
	$(PY) -m ruff check .
	.venv/bin/lint-imports --no-cache
