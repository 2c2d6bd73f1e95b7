"""No function, trigger or view of db/ leaves anything on its session that a later transaction
could meet: through a transaction-mode pooler (Supabase's Supavisor on port 6543) the next
transaction on that server connection is another client's. So every ``set_config`` is
transaction-local (its third argument ``true``), no body runs a session ``SET`` (``SET LOCAL`` and
a function's own ``SET`` clause end with the transaction or the call), takes a session-level
advisory lock, creates a temporary table, ``LISTEN``s, ``PREPARE``s or keeps a cursor ``WITH
HOLD``. Read from the SQL source (db/), with comments and string literals set aside; the pooler
tests check the same at run time (tests/py/pooler_fixtures.py ``leftovers``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DB = Path(__file__).resolve().parents[3] / "db"
SOURCES = sorted(p for folder in ("functions", "triggers", "views")
                 for p in (DB / folder).rglob("*.sql"))

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_BODY = re.compile(r"\$(\w*)\$(.*?)\$\1\$", re.DOTALL)
FORBIDDEN = {
    "a session-level advisory lock": re.compile(
        r"\bpg_(try_)?advisory_lock(_shared)?\s*\(", re.IGNORECASE),
    "a temporary table": re.compile(r"\bCREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\b",
                                    re.IGNORECASE),
    "LISTEN": re.compile(r"\bLISTEN\s+\w", re.IGNORECASE),
    "a prepared statement": re.compile(r"(^|;|\bEXECUTE\s+')\s*PREPARE\s+\w", re.IGNORECASE),
    "a cursor WITH HOLD": re.compile(r"\bWITH\s+HOLD\b", re.IGNORECASE),
}
# a statement that starts with SET (after ;, or a block keyword), other than SET LOCAL and
# SET TRANSACTION / SET CONSTRAINTS (the transaction's own)
_SESSION_SET = re.compile(
    r"(?:^|;|\b(?:BEGIN|THEN|ELSE|LOOP|EXECUTE\s+'))\s*SET\s+(?!LOCAL\b|TRANSACTION\b"
    r"|CONSTRAINTS\b)(?:SESSION\s+)?\w", re.IGNORECASE)


def bodies(sql: str) -> list[str]:
    """The dollar-quoted bodies of ``sql``, comments removed."""
    return [m.group(2) for m in _BODY.finditer(_COMMENT.sub(" ", sql))]


def set_config_calls(body: str) -> list[list[str]]:
    """The arguments of every ``set_config(...)`` call, split at their top-level commas."""
    calls = []
    for found in re.finditer(r"\bset_config\s*\(", body, re.IGNORECASE):
        depth, args, current, i = 1, [], "", found.end()
        while depth and i < len(body):
            ch = body[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if depth == 1 and ch == ",":
                args.append(current.strip())
                current = ""
            elif depth:
                current += ch
            i += 1
        args.append(current.strip())
        calls.append(args)
    return calls


def session_state(sql: str) -> list[str]:
    """What ``sql`` (a db/ file) would leave on its session, one line each."""
    found = []
    for body in bodies(sql):
        for args in set_config_calls(body):
            if len(args) != 3 or args[2].lower() != "true":
                found.append(f"set_config({', '.join(args)}): not transaction-local")
        plain = re.sub(r"'(?:[^']|'')*'", lambda m: m.group(0) if m.group(0).upper().startswith(
            ("'SET", "'PREPARE", "'LISTEN", "'CREATE")) else "''", body)
        for what, pattern in FORBIDDEN.items():
            if pattern.search(plain):
                found.append(what)
        if _SESSION_SET.search(plain):
            found.append("a session SET: " + _SESSION_SET.search(plain).group(0).strip())
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(DB)))
def test_nothing_is_left_on_the_session(path: Path) -> None:
    assert session_state(path.read_text()) == []


def test_the_check_finds_what_would_leak() -> None:
    """It can fail: each kind of session state in a body is found."""
    leaks = {
        "SELECT set_config('mockbook.actor', 'x', false);": "not transaction-local",
        "PERFORM set_config('lock_timeout',\n  coalesce(a, '2s'), v_local);": "not transaction",
        "BEGIN\n    SET lock_timeout = '1s';": "a session SET",
        "IF x THEN SET SESSION work_mem = '1GB'; END IF;": "a session SET",
        "EXECUTE 'SET statement_timeout = 0';": "a session SET",
        "PERFORM pg_try_advisory_lock(1);": "advisory lock",
        "CREATE TEMP TABLE t (x int);": "temporary table",
        "LISTEN mockbook;": "LISTEN",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1;": "WITH HOLD",
    }
    for statement, what in leaks.items():
        sql = ("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n"
               f"{statement}\nEND\n$$;")
        assert any(what in line for line in session_state(sql)), statement
    clean = ("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$\n"
             "BEGIN\n  SET LOCAL lock_timeout = '1s';\n  PERFORM set_config('a.b', 'c', true);\n"
             "  PERFORM pg_try_advisory_xact_lock(1);\n  UPDATE t\n  SET x = 1;\n"
             "  -- SET lock_timeout = 0 in a comment\n  RAISE NOTICE 'SET x';\nEND\n$$;")
    assert session_state(clean) == []
    assert len(SOURCES) > 100


GLUE = DB.parent / "glue"
# the SQL the glue sends that sets a session setting, and why it may: both are read by commands
# that need a session of their own (`mockbook migrate` refuses a transaction pooler) or by the
# tools that build a database from db/ directly (the tests, `make types`)
SESSION_SETS_ALLOWED = {
    "glue/db/revision.py": "the preamble of a revision's frozen SQL: `mockbook migrate` only",
    "glue/db/source.py": "applying db/ to a new database: the tests and the developers' tools",
}
# (the glue writes its SQL keywords in capitals: prose saying "set" is not a statement)
_GLUE_SET = re.compile(r"""["'](?:[^"']*;\s*)?SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)\w""")
_GLUE_SET_CONFIG = re.compile(r"set_config\([^)]*?,\s*(false|%s|%\(\w+\)s)\s*\)", re.IGNORECASE)


def test_the_glue_sends_no_session_setting() -> None:
    """No SQL string of the glue (the HubSpot emulator aside) runs a session SET or a
    session-wide set_config: through a transaction-mode pooler it would stay on a shared server
    connection for the next client's transaction."""
    found = []
    for path in sorted(GLUE.rglob("*.py")):
        name = path.relative_to(DB.parent).as_posix()
        if name.startswith("glue/sandbox/") or name in SESSION_SETS_ALLOWED:
            continue
        text = path.read_text()
        found += [f"{name}: {m.group(0)}" for m in _GLUE_SET.finditer(text)]
        found += [f"{name}: {m.group(0)}" for m in _GLUE_SET_CONFIG.finditer(text)]
    assert found == []
    assert _GLUE_SET.search('conn.execute("SET lock_timeout = 0")')
    assert not _GLUE_SET.search('conn.execute("SET LOCAL mockbook.origin = \'hubspot\'")')
    assert _GLUE_SET_CONFIG.search("SELECT set_config('mockbook.actor', %s, false)")
