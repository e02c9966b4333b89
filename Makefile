# The two commands a newcomer needs: `make demo` and `make test`.
# Both set everything up first (scripts/setup.sh) and are idempotent.
SHELL := /bin/bash
PY := .venv/bin/python
ENV := . var/env.sh &&
DEMO_PORT ?= 8000

.PHONY: setup setup-browser demo demo-stop test bench lint

setup:
	scripts/setup.sh

setup-browser:
	scripts/setup.sh --browser

demo: setup
	$(ENV) scripts/demo.sh start $(DEMO_PORT)

demo-stop:
	scripts/demo.sh stop

test: setup-browser
	$(ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(ENV) $(PY) -m bench $(BENCH_ARGS)

lint: setup
	$(PY) -m ruff check .
	.venv/bin/lint-imports --no-cache
