"""The suite can fail: every named mutant of db/ in tests/mutants.toml is killed.

Each mutant breaks one promise in one place (an expired offer holding its seat, a booking over
capacity, an identity check removed, ...). For each, db/ is copied, the mutant applied to the
copy, and the test files that guard the promise run in a separate pytest process against a
database built from the copy (MOCKBOOK_SCHEMA_SOURCE=db, MOCKBOOK_DB_DIR): at least one test
must fail. The same files must pass on the unmutated copy, so a failure is the mutant's doing,
not the set-up's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MUTANTS = tomllib.loads((ROOT / "tests" / "mutants.toml").read_text())["mutant"]
# the variables that tie a pytest process to the run that started it (tests/conftest.py): the
# inner run must be a run of its own, with its own template database
OWN_RUN = ("MOCKBOOK_TEST_RUN", "MOCKBOOK_QUEUE_DRAINED", "PYTEST_XDIST_WORKER",
           "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "PYTEST_ADDOPTS")


def copy_of_db(tmp_path: Path) -> Path:
    target = tmp_path / "db"
    shutil.copytree(ROOT / "db", target, ignore=shutil.ignore_patterns("migrations"))
    return target


def run_files(db_dir: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in OWN_RUN}
    env.update(MOCKBOOK_SCHEMA_SOURCE="db", MOCKBOOK_DB_DIR=str(db_dir))
    return subprocess.run(
        [sys.executable, "-m", "pytest", *files, "-x", "-q", "-p", "no:randomly",
         "-p", "no:xdist"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def test_every_mutant_is_named_once_and_applies_once() -> None:
    names = [m["name"] for m in MUTANTS]
    assert len(names) == len(set(names))
    for mutant in MUTANTS:
        text = (ROOT / "db" / mutant["file"]).read_text()
        assert text.count(mutant["find"]) == 1, (
            f"{mutant['name']}: its text is not in db/{mutant['file']} exactly once")
        assert all((ROOT / f.split("::")[0]).is_file() for f in mutant["killed_by"]), mutant["name"]


def test_the_guarding_files_pass_on_the_unmutated_code(tmp_path: Path) -> None:
    files = sorted({f for m in MUTANTS for f in m["killed_by"]})
    result = run_files(copy_of_db(tmp_path), files)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m["name"] for m in MUTANTS])
def test_the_suite_kills_the_mutant(tmp_path: Path, mutant: dict) -> None:
    db_dir = copy_of_db(tmp_path)
    path = db_dir / mutant["file"]
    text = path.read_text()
    assert text.count(mutant["find"]) == 1, mutant["name"]
    path.write_text(text.replace(mutant["find"], mutant["replace"]))
    result = run_files(db_dir, mutant["killed_by"])
    # 1: tests failed (2 and above: interrupted, a usage or collection error, no tests)
    assert result.returncode == 1, (
        f"the mutant {mutant['name']!r} survived (exit {result.returncode}):\n"
        + result.stdout[-4000:] + result.stderr[-2000:])
    assert " failed" in result.stdout
