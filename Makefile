# RevKeen — the whole set-up is `make run` (the product) and `make test` (the suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Best interpreter >= 3.11 on this machine (3.12 preferred); see scripts/find_python.sh.
PYTHON ?= $(shell scripts/find_python.sh)
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1

.PHONY: help run test serve venv migrate demo worker beat lint lock bench clean

help:
	@echo "make run    - embedded mode: venv, migrate, demo data, serve http://127.0.0.1:8000 (no PostgreSQL/Redis needed)"
	@echo "make test   - the whole suite (PostgreSQL + Redis when they answer; REQUIRE_SERVICES=1 to insist)"
	@echo "make serve  - service mode: ASGI + Celery worker + beat against DATABASE_URL / REDIS_URL"
	@echo "make lock   - re-resolve requirements.lock from pyproject.toml"
	@echo "make bench  - run the benchmarks under bench/ (service mode)"

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found; install one and retry (or set PYTHON=/path/to/python3)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv
	@$(VENV)/bin/uv pip install -q --python $(PY) -r requirements.lock
	@touch $(STAMP)

venv: $(STAMP)

migrate: venv
	@$(PY) manage.py migrate --noinput -v 0

run: venv
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py load_demo
	@$(PY) manage.py runserver_embedded 127.0.0.1:8000

test: venv
	@env -u PYTHONDONTWRITEBYTECODE $(PY) scripts/run_tests.py $(ARGS)

serve: venv
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "service mode needs DATABASE_URL and REDIS_URL"; exit 1; }
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py collectstatic --noinput -v 0
	@$(VENV)/bin/honcho -f Procfile start

worker: venv
	@$(VENV)/bin/celery -A revkeen worker -l info

beat: venv
	@$(VENV)/bin/celery -A revkeen beat -l info --scheduler django_celery_beat.schedulers:DatabaseScheduler

lint: venv
	@$(VENV)/bin/ruff check .

lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q uv
	@$(VENV)/bin/uv pip compile -q --universal --python-version 3.11 pyproject.toml --extra dev -o requirements.lock

bench: venv
	@$(PY) bench/api_overhead.py
	@$(PY) bench/payments.py
	@$(PY) bench/checkout.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
