# Zapcut AdGen backend. `make dev` runs the whole stack locally; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# make test's processes (pytest-xdist), each with a stack of its own. Much of a test's time is waiting:
# on 2 cores 4 was faster than 3 (4 min 37 s against 5 min 43 s, on a machine shared with two other suites).
TEST_WORKERS ?= 4

.PHONY: help install lock dev test test-unit bench migrate migrate-down protos protos-check client client-check lint typecheck tox clean reset-data

help:
	@echo "make dev       run gateway, accounts, media, jobs and a worker (starts Postgres/Redis/S3 when no URL is set)"
	@echo "make test      run the whole test suite against real servers started on free ports"
	@echo "make test-unit run the tests that need no server (seconds)"
	@echo "make bench     latency/throughput figures against a running 'make dev' stack"
	@echo "make migrate   upgrade every service's schema to head (DATABASE_URL, or the running dev stack)"
	@echo "make protos    regenerate gRPC stubs from protos/"
	@echo "make client    regenerate the TypeScript client (clients/typescript) from the OpenAPI document"
	@echo "make lock      regenerate the lock files requirements/*.txt from pyproject.toml"
	@echo "make lint      ruff check, ruff format --check and mypy (make typecheck: mypy alone)"
	@echo "make reset-data  delete .data/ (the dev database, Redis data and S3 objects)"

# Every environment installs from the lock files (requirements/, written by `make lock`), with
# hashes, so make dev, CI and the images run the same versions; then the project itself, no deps.
$(STAMP): requirements/dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# The roles deploy/Dockerfile builds an image for; each locks the core dependencies plus its extra.
ROLES := gateway accounts media jobs worker
# Resolved for every platform (--universal) on Python 3.11, the images' and CI's Python.
UV_COMPILE := $(VENV)/bin/uv pip compile pyproject.toml --quiet --generate-hashes --universal \
	--python-version 3.11 --custom-compile-command "make lock"

# Regenerates requirements/*.txt from pyproject.toml (after changing a dependency; --upgrade-package
# NAME moves one up: make lock UV_ARGS="--upgrade-package fastapi"). tests/unit/test_locks.py fails
# while pyproject.toml and the locks disagree.
# Needs only uv (in the venv), so it works before the first install too.
lock:
	@test -x $(VENV)/bin/uv || { test -x $(PY) || $(PYTHON) -m venv $(VENV); $(PY) -m pip install --quiet uv; }
	$(UV_COMPILE) $(UV_ARGS) --extra dev --extra local -o requirements/dev.txt
	@# Each role at the versions of dev.txt, so the images run what make test tested.
	@for role in $(ROLES); do \
	  $(UV_COMPILE) $(UV_ARGS) --extra $$role -c requirements/dev.txt -o requirements/$$role.txt || exit 1; \
	done

dev: $(STAMP)
	$(PY) -m devstack

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

migrate: $(STAMP)
	$(PY) -m devstack migrate

migrate-down: $(STAMP)
	$(PY) -m devstack migrate --down base

protos: $(STAMP)
	$(PY) -m devstack.protogen

protos-check: $(STAMP)
	$(PY) -m devstack.protogen --check

client: $(STAMP)
	$(PY) -m devstack.clientgen

client-check: $(STAMP)
	$(PY) -m devstack.clientgen --check

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# mypy over services/, devstack/ and bench/, configured in pyproject.toml ([tool.mypy]).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

tox: $(STAMP)
	$(VENV)/bin/tox

reset-data:
	rm -rf .data

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .tox .coverage .coverage.* htmlcov
