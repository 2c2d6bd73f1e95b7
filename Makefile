# mockbook — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-8)
PG_URL := $${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}

.DEFAULT_GOAL := help
.PHONY: help venv pg-extensions test lint demo revision bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

venv: $(STAMP) ## Create .venv and install mockbook with its test extras

pg-extensions: ## Install pgTAP and plpgsql_check for the server's major version (Debian, as root) when missing
	@major=$$(psql "$(PG_URL)" -tAc "select current_setting('server_version_num')::int / 10000" 2>/dev/null \
	          || ls /usr/lib/postgresql | sort -n | tail -1); \
	if [ -f /usr/share/postgresql/$$major/extension/pgtap.control ] && \
	   [ -f /usr/share/postgresql/$$major/extension/plpgsql_check.control ]; then \
	  echo "pgTAP and plpgsql_check present for PostgreSQL $$major"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing postgresql-$$major-pgtap postgresql-$$major-plpgsql-check"; \
	  (apt-get install -y -qq postgresql-$$major-pgtap postgresql-$$major-plpgsql-check >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y -qq postgresql-$$major-pgtap postgresql-$$major-plpgsql-check)); \
	else \
	  echo "missing pgTAP/plpgsql_check for PostgreSQL $$major: install postgresql-$$major-pgtap and postgresql-$$major-plpgsql-check" >&2; exit 1; \
	fi

test: venv pg-extensions ## Run the whole suite (pgTAP, pytest, ruff, squawk, plpgsql_check)
	$(PY) -m pytest

lint: venv ## ruff, squawk on the offline migration SQL, plpgsql_check on every function
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q tests/py/test_lint.py

demo: venv ## The newcomer's first run on the embedded PostgreSQL (no configuration)
	env -u DATABASE_URL $(VENV)/bin/mockbook demo

bench: venv ## Benchmarks of SPEC §11 (ratios against pgbench references measured in the same run)
	$(PY) bench/run.py

revision: venv ## New migration revision freezing the changed db/ SQL: make revision m="why"
	@test -n "$(m)" || { echo 'usage: make revision m="what changed"' >&2; exit 2; }
	$(VENV)/bin/mockbook db revision -m "$(m)"

clean: ## Stop the embedded database and remove .venv
	-test -x $(VENV)/bin/mockbook && env -u DATABASE_URL $(VENV)/bin/mockbook down
	rm -rf $(VENV)
