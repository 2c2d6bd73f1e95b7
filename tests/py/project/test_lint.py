"""Lint in the suite: ruff over the repository, squawk over the offline
SQL of `alembic upgrade head --sql`, and plpgsql_check over every PL/pgSQL function in
hubspot_sync and mockbook_internal. A missing tool is a failure, not a skip. Each linter is
also shown to catch a planted defect, so a green run means the linter really looked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from glue.db import migrations
from glue.db.source import ROOT, apply_source

SQUAWK_CONFIG = ROOT / ".squawk.toml"


def tool(name: str) -> str:
    """The tool installed next to this Python (the project's venv), else on PATH."""
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (pip install -e '.[test]' installs it)")
    return found


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


# --- ruff ----------------------------------------------------------------------------------------


def test_ruff_is_clean() -> None:
    result = run([tool("ruff"), "check", "--no-cache", "."])
    assert result.returncode == 0, result.stdout + result.stderr


# --- squawk --------------------------------------------------------------------------------------


def squawk(sql: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "migration.sql"
    path.write_text(sql)
    return run([tool("squawk"), "--config", str(SQUAWK_CONFIG), str(path)])


def test_squawk_passes_on_upgrade_head_sql(tmp_path: Path) -> None:
    # offline mode never connects: the URL only selects the dialect
    sql = migrations.upgrade("postgresql://offline@127.0.0.1:1/offline", "head", sql=True)
    assert "Running upgrade  -> 0001_baseline" in sql and migrations.head() in sql
    result = squawk(sql, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_squawk_catches_an_unsafe_migration(tmp_path: Path) -> None:
    unsafe = (
        "SET lock_timeout = '5s';\n"
        "ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN note text NOT NULL;\n"
        "ALTER TABLE hubspot_sync.hubspot_mock_exams DROP COLUMN location;\n"
    )
    result = squawk(unsafe, tmp_path)
    assert result.returncode != 0
    assert "adding-required-field" in result.stdout
    assert "ban-drop-column" in result.stdout


# --- plpgsql_check -------------------------------------------------------------------------------

# Every PL/pgSQL function of mockbook's two schemas with the relation to check it against (trigger
# functions are checked once per table they are attached to; an unattached one cannot be).
TARGETS = """
SELECT p.oid, p.oid::regprocedure::text, coalesce(t.tgrelid, 0), t.tgrelid::regclass::text,
       p.prorettype = 'trigger'::regtype
FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
LEFT JOIN (SELECT DISTINCT tgfoid, tgrelid FROM pg_trigger WHERE NOT tgisinternal) AS t
       ON t.tgfoid = p.oid
WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
  -- production functions mockbook does not own (db/schema/19_production_not_owned.sql): kept
  -- as they are (get_booking_aggregates reads a view the dump does not include)
  AND p.oid::regprocedure::text NOT IN (
      'hubspot_sync.get_booking_aggregates(text,date,date,text,text,uuid,integer,integer)',
      'hubspot_sync.get_booking_aggregates_count(text,date,date,text,text,uuid)',
      'hubspot_sync.get_changed_fields(jsonb,jsonb)')
  AND (%(only)s::text IS NULL OR p.oid::regprocedure::text = %(only)s)
ORDER BY 2, 4
"""

CHECK = """
SELECT level, coalesce(lineno::text, '?'), message, coalesce(detail, ''), coalesce(hint, '')
FROM plpgsql_check_function_tb(%s::regprocedure, %s::regclass, fatal_errors := false,
                               extra_warnings := true, security_warnings := true,
                               performance_warnings := false)
WHERE level NOT LIKE 'performance%%'
"""


# Two warnings that are the code's convention, not a defect: a variable named v_setting holds what
# set_config returns where a setting is changed by an assignment (an expression, where PERFORM
# would start the executor) and is never read; the scheduling rules' checks share one signature
# (check_booking_rules calls each by name), so a rule that does not read the student or the
# booking it ignores leaves that parameter unused.
CONVENTIONS = ('never read variable "v_setting"',)
RULE_PARAMETERS = ('unused parameter "p_student_id"', 'unused parameter "p_ignore_booking_id"')


def expected(name: str, message: str) -> bool:
    return message in CONVENTIONS or (
        name.startswith("mockbook_internal.rule_") and message in RULE_PARAMETERS)


def plpgsql_problems(conn: psycopg.Connection,
                     only: str | None = None) -> tuple[int, list[str]]:
    """(functions checked, every error and warning as 'function [on table] line N: level: msg');
    ``only``: that one function (its regprocedure text)."""
    problems: list[str] = []
    checked = 0
    for oid, name, relid, relname, is_trigger in conn.execute(TARGETS, {"only": only}).fetchall():
        if is_trigger and not relid:
            problems.append(f"{name}: trigger function attached to no table: cannot be checked")
            continue
        checked += 1
        where = f"{name} on {relname}" if is_trigger else name
        for level, line, message, detail, hint in conn.execute(CHECK, [oid, relid]).fetchall():
            if expected(name, message):
                continue
            extra = "".join(f" ({x})" for x in (detail, hint) if x)
            problems.append(f"{where} line {line}: {level}: {message}{extra}")
    return checked, problems


@pytest.fixture(scope="module")
def source_db(make_database: Callable[[str], str]) -> Iterator[psycopg.Connection]:
    """db/ applied directly: every function that exists, frozen into a revision yet or not."""
    url = make_database("lint")
    apply_source(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
        yield conn


def test_plpgsql_check_finds_nothing(source_db: psycopg.Connection) -> None:
    checked, problems = plpgsql_problems(source_db)
    assert checked > 0, "no PL/pgSQL function found in the two schemas: nothing was checked"
    assert not problems, "plpgsql_check:\n" + "\n".join(problems)


def test_plpgsql_check_catches_a_broken_function(source_db: psycopg.Connection) -> None:
    # the session's plans from the pass above go first (plpgsql_check 2.3 rebuilds invalidated
    # plans behind plpgsql's back: tests/py/db/test_plpgsql_check_session.py)
    source_db.execute("DISCARD PLANS")
    with source_db.transaction(force_rollback=True):
        source_db.execute("SET LOCAL check_function_bodies = off")
        source_db.execute("""
            CREATE FUNCTION hubspot_sync.zz_lint_probe() RETURNS integer
            LANGUAGE plpgsql SET search_path = '' AS $$
            DECLARE
                v_unused integer;
            BEGIN
                RETURN (SELECT count(*) FROM hubspot_sync.no_such_table);
            END
            $$""")
        # the probe alone: the pass over every function is the test above (a second pass in
        # one session once ended in plpgsql_check 2.3 crashing its backend, signal 11)
        checked, probe = plpgsql_problems(source_db, only="hubspot_sync.zz_lint_probe()")
    assert checked == 1
    assert any('error: relation "hubspot_sync.no_such_table" does not exist' in p for p in probe)
    assert any('unused variable "v_unused"' in p for p in probe), probe


# --- volatility ----------------------------------------------------------------------------------

# Every STABLE or IMMUTABLE PL/pgSQL function of mockbook's two schemas with each function it calls
# that is
# more volatile than itself (plpgsql_show_dependency_tb lists the calls). plpgsql_check 2.10 and
# later report each such call as a warning ("routine is marked as STABLE, but expression is
# VOLATILE"); older versions (2.3 on Debian 12's PostgreSQL 15) do not look. Checking it here,
# from the catalog, makes the lint pass or fail the same way with every plpgsql_check version the
# supported majors ship.
VOLATILITY_RANK = {"i": 0, "s": 1, "v": 2}
CALLERS = """
SELECT p.oid, p.oid::regprocedure::text, p.provolatile
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
  AND p.provolatile IN ('s', 'i')
  AND p.prorettype <> 'trigger'::regtype
ORDER BY 2
"""
CALLEES = """
SELECT d.oid::regprocedure::text, p.provolatile
FROM plpgsql_show_dependency_tb(%s::regprocedure) AS d
JOIN pg_proc p ON p.oid = d.oid
WHERE d.type = 'FUNCTION'
"""


def volatility_problems(conn: psycopg.Connection) -> list[str]:
    names = {"i": "IMMUTABLE", "s": "STABLE", "v": "VOLATILE"}
    problems = []
    for oid, name, volatility in conn.execute(CALLERS).fetchall():
        for callee, callee_volatility in conn.execute(CALLEES, [oid]).fetchall():
            if VOLATILITY_RANK[callee_volatility] > VOLATILITY_RANK[volatility]:
                problems.append(
                    f"{name} is {names[volatility]} but calls {names[callee_volatility]} {callee}"
                )
    return problems


def test_no_function_calls_a_more_volatile_one(source_db: psycopg.Connection) -> None:
    assert volatility_problems(source_db) == []


def test_volatility_check_catches_a_stable_function_calling_a_volatile_one(
    source_db: psycopg.Connection,
) -> None:
    with source_db.transaction(force_rollback=True):
        source_db.execute("""
            CREATE FUNCTION hubspot_sync.zz_volatile_probe() RETURNS integer
            LANGUAGE plpgsql VOLATILE SET search_path = '' AS $$ BEGIN RETURN 1; END $$""")
        source_db.execute("""
            CREATE FUNCTION hubspot_sync.zz_stable_probe() RETURNS integer
            LANGUAGE plpgsql STABLE SET search_path = '' AS $$
            BEGIN RETURN hubspot_sync.zz_volatile_probe(); END $$""")
        problems = volatility_problems(source_db)
    assert (
        "hubspot_sync.zz_stable_probe() is STABLE but calls VOLATILE "
        "hubspot_sync.zz_volatile_probe()" in problems
    ), problems
