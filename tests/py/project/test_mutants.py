"""The suite can fail: every named mutant of db/ in tests/mutants.toml is killed.

Each mutant breaks one promise in one place (an expired offer holding its seat, a booking over
capacity, an identity check removed, ...), in a function's file of db/functions. For each, a copy
of the run's template database gets that file with the mutant applied (the file's CREATE OR
REPLACE, as a revision carries a changed function), and the tests that guard the promise run in a
separate pytest process whose databases are copies of it (MOCKBOOK_TEMPLATE_DATABASE): at least
one test must fail. The same tests run in the main run on the run's template itself and pass
there, so a failure is the mutant's doing, not the set-up's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from glue.db.source import APPLY_PREAMBLE

ROOT = Path(__file__).resolve().parents[3]
MUTANTS = tomllib.loads((ROOT / "tests" / "mutants.toml").read_text())["mutant"]
# the variables that tie a pytest process to the run that started it (tests/conftest.py): the
# inner run must be a run of its own
OWN_RUN = ("MOCKBOOK_TEST_RUN", "PYTEST_XDIST_WORKER",
           "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "PYTEST_ADDOPTS",
           "MOCKBOOK_UNIT_SECONDS")


def run_files(template: str, files: list[str]) -> subprocess.CompletedProcess[str]:
    """``files`` (paths or node ids) in a pytest process of their own, on copies of ``template``,
    stopping at the first failure."""
    env = {k: v for k, v in os.environ.items() if k not in OWN_RUN}
    env["MOCKBOOK_TEMPLATE_DATABASE"] = template
    return subprocess.run(
        [sys.executable, "-m", "pytest", *files, "-x", "-q", "-p", "no:randomly",
         "-p", "no:xdist"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def mutated_template(fresh_database: Any, mutant: dict) -> str:
    """A copy of the run's template with the mutant's file applied, mutated; its name."""
    text = (ROOT / "db" / mutant["file"]).read_text()
    assert text.count(mutant["find"]) == 1, mutant["name"]
    url = fresh_database("mutant", migrated=True)
    with psycopg.connect(url) as conn:
        conn.execute(APPLY_PREAMBLE)
        conn.execute(text.replace(mutant["find"], mutant["replace"]))
    return conninfo_to_dict(url)["dbname"]


def test_every_mutant_is_named_once_and_applies_once() -> None:
    names = [m["name"] for m in MUTANTS]
    assert len(names) == len(set(names))
    for mutant in MUTANTS:
        assert mutant["file"].startswith("functions/"), (
            f"{mutant['name']}: a mutant changes a function's file (CREATE OR REPLACE)")
        text = (ROOT / "db" / mutant["file"]).read_text()
        assert text.count(mutant["find"]) == 1, (
            f"{mutant['name']}: its text is not in db/{mutant['file']} exactly once")
        assert all((ROOT / f.split("::")[0]).is_file() for f in mutant["killed_by"]), mutant["name"]


def test_a_function_file_applied_again_changes_nothing(template_database: str,
                                                       fresh_database: Any) -> None:
    """The mutants' databases are the template with one file applied again: unchanged, that
    changes no function, comment or privilege (so the template, on which the main run passes
    the guarding tests, is the unmutated code)."""
    url = fresh_database("unmutated", migrated=True)
    catalog = ("SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid),"
               " obj_description(p.oid, 'pg_proc'), p.proacl::text FROM pg_proc AS p"
               " WHERE p.pronamespace IN ('hubspot_sync'::regnamespace,"
               " 'mockbook_internal'::regnamespace) AND p.prokind IN ('f', 'p') ORDER BY 1")
    with psycopg.connect(url) as conn:
        before = conn.execute(catalog).fetchall()
        conn.execute(APPLY_PREAMBLE)
        for file in sorted({m["file"] for m in MUTANTS}):
            conn.execute((ROOT / "db" / file).read_text())
        assert conn.execute(catalog).fetchall() == before


def test_the_guarding_tests_are_tests_of_the_suite() -> None:
    """Each ``killed_by`` names a test file of the suite, or a test function in one: the main
    run runs those same tests on the run's template (the unmutated code, as the test above
    shows), so in a passing run they pass there, and a failure under a mutant is the mutant's
    doing. (Running them again unmutated here would only repeat the main run's work.)"""
    for mutant in MUTANTS:
        for target in mutant["killed_by"]:
            path, _, test = target.partition("::")
            file = ROOT / path
            assert file.is_file() and file.name.startswith("test_"), (
                f"{mutant['name']}: {path} is no test file")
            if test:
                assert re.search(rf"^def {re.escape(test)}\(", file.read_text(), re.M), (
                    f"{mutant['name']}: no test {test} in {path}")


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m["name"] for m in MUTANTS])
def test_the_suite_kills_the_mutant(fresh_database: Any, mutant: dict) -> None:
    result = run_files(mutated_template(fresh_database, mutant), mutant["killed_by"])
    # 1: tests failed (2 and above: interrupted, a usage or collection error, no tests)
    assert result.returncode == 1, (
        f"the mutant {mutant['name']!r} survived (exit {result.returncode}):\n"
        + result.stdout[-4000:] + result.stderr[-2000:])
    assert " failed" in result.stdout
