"""docs/development.md "Add a booking rule", followed literally: on a copy of db/, the files the
walkthrough names get exactly the text it shows (no bookings of Sunday exams), a database is
built from the copy, and the walkthrough's own test runs against it; then the rule is checked
where the declaration says it is derived: the settings row, set_booking_rule's validation, the
common case (which calls the rule's check without the full path) and the docs' rule table.
"""

from __future__ import annotations

import re
import shutil
import types
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from conftest import build_schema
from postgrest import RpcError, rpc
from test_concurrency import email, make_students

from glue.db import rpcdoc

ROOT = Path(__file__).resolve().parents[3]
SECTION = (ROOT / "docs" / "development.md").read_text().split("\n## Add a booking rule\n", 1)[1]
SECTION = SECTION.split("\n## ", 1)[0]
BLOCK = re.compile(r"^```(?P<lang>\w+)\n(?P<text>.*?)^```\n", re.S | re.M)
FILE = re.compile(r"`((?:db|tests)/[\w/.]+\.(?:sql|py))`")


def steps() -> list[tuple[str, str, str]]:
    """(file named by the prose before the block, that prose, the block's text) of every block
    that goes into a file."""
    found, start = [], 0
    for m in BLOCK.finditer(SECTION):
        prose = SECTION[start:m.start()]
        start = m.end()
        named = FILE.findall(prose)
        if named:
            found.append((named[-1], prose, m["text"]))
    return found


def test_the_walkthrough_takes_at_most_three_files_and_a_test() -> None:
    files = [path for path, _, _ in steps()]
    assert len(set(files)) == len(files), files
    assert [f for f in files if f.startswith("tests/")] == [files[-1]], files
    assert 1 <= len(files) - 1 <= 3, files


def follow(db_dir: Path) -> str:
    """The walkthrough applied to db_dir (a copy of db/); the test file's text."""
    test_text = ""
    for path, prose, text in steps():
        if path.startswith("tests/"):
            test_text = text
            continue
        target = db_dir / path.removeprefix("db/")
        anchor = re.search(r"right after\s+the\s+line\s+`([^`]+)`", prose)
        if anchor:
            lines = target.read_text().splitlines(keepends=True)
            at = [i for i, line in enumerate(lines) if line.strip() == anchor[1]]
            assert len(at) == 1, f"{path}: the line {anchor[1]!r} is not there once"
            target.write_text("".join(lines[:at[0] + 1]) + text + "".join(lines[at[0] + 1:]))
        else:
            assert "the new file" in prose and not target.exists(), path
            target.write_text(text)
    assert test_text, "the walkthrough shows no test"
    return test_text


def run_module_tests(text: str, conn: psycopg.Connection) -> int:
    """Every test function of the walkthrough's test file, with each parameter set; how many
    ran."""
    module = types.ModuleType("walkthrough_test")
    exec(compile(text, "walkthrough_test.py", "exec"), module.__dict__)
    ran = 0
    for name, fn in vars(module).items():
        if not (name.startswith("test_") and callable(fn)):
            continue
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
        values = marks[0].args[1] if marks else [None]
        for value in values:
            if marks:
                fn(conn, value)
            else:
                fn(conn)
            ran += 1
    return ran


@pytest.fixture(scope="module")
def sunday_db(tmp_path_factory: pytest.TempPathFactory, make_database: Callable[..., str],
              ) -> tuple[psycopg.Connection, str]:
    db_dir = tmp_path_factory.mktemp("walkthrough") / "db"
    shutil.copytree(ROOT / "db", db_dir, ignore=shutil.ignore_patterns("migrations"))
    test_text = follow(db_dir)
    url = make_database("sunday_rule")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOCKBOOK_SCHEMA_SOURCE", "db")
        env.setenv("MOCKBOOK_DB_DIR", str(db_dir))
        build_schema(url)
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn, test_text


def test_the_walkthroughs_test_passes(sunday_db: tuple[psycopg.Connection, str]) -> None:
    conn, text = sunday_db
    assert run_module_tests(text, conn) >= 3


def test_the_rule_is_derived_from_its_declaration(
        sunday_db: tuple[psycopg.Connection, str]) -> None:
    conn, _ = sunday_db
    assert conn.execute("SELECT value FROM hubspot_sync.booking_rules"
                        " WHERE rule = 'no_sunday_exams'").fetchone() == (False,)
    with pytest.raises(RpcError) as bad:
        rpc(conn, "set_booking_rule", p_rule="no_sunday_exams", p_value=3)
    assert bad.value.code == "INVALID_ARGUMENT"
    row = [line for line in rpcdoc.rules_table(conn).splitlines() if "`no_sunday_exams`" in line]
    assert len(row) == 1 and "`BOOKING_CLOSED`" in row[0], row


CALLS = "SELECT coalesce(pg_stat_get_xact_function_calls(%s::regprocedure), 0)"
RULE = "mockbook_internal.rule_no_sunday_exams(hubspot_sync.hubspot_mock_exams,text,uuid,jsonb)"
FULL_PATH = "mockbook_internal.lock_idempotency_key(text)"


@pytest.mark.parametrize("code", [None, "MON-1"], ids=["common case", "full path"])
def test_both_paths_call_the_rules_check(sunday_db: tuple[psycopg.Connection, str],
                                         code: str | None) -> None:
    """With the rule on, a Monday booking calls rule_no_sunday_exams once, on the common case
    (no call of the full path's key helper) as on the full path."""
    conn, _ = sunday_db
    (student,) = make_students(conn, 1, p_sj=1)
    monday = conn.execute("SELECT tests.make_exam(p_exam_date := date_trunc('week',"
                          " hubspot_sync.business_today() + 21)::date)").fetchone()[0]
    with conn.transaction(force_rollback=True):
        conn.execute("UPDATE hubspot_sync.booking_rules SET value = 'true'"
                     " WHERE rule = 'no_sunday_exams'")
        conn.execute("SET LOCAL track_functions = 'all'")
        # the counters may still hold an earlier transaction's calls (flushed at most once a
        # second): the difference is this call's
        before = [conn.execute(CALLS, (f,)).fetchone()[0] for f in (RULE, FULL_PATH)]
        conn.execute("SELECT hubspot_sync.create_booking(%s, %s, %s, %s, 'mississauga',"
                     " p_booking_id := %s)", (student, email(student), monday,
                                               str(uuid.uuid4()), code))
        calls = [conn.execute(CALLS, (f,)).fetchone()[0] - b
                 for f, b in zip((RULE, FULL_PATH), before, strict=True)]
    assert calls == [1, 0 if code is None else 1]
