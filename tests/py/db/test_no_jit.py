"""The functions whose plans cost more to compile than to run are never compiled by JIT.

PostgreSQL compiles a query with LLVM when its estimated cost crosses ``jit_above_cost``
(100,000 by default), which a query over every table (check_invariants) or one whose disabled
plan paths carry a huge cost (the claims' fixed plans) reaches on tables without statistics or
with a few thousand rows: compiling check_invariants' plan took 164 ms against the 1.4 ms of
running it on a new database. Each of these functions says ``SET jit = off``.

Seen the way the server shows it: auto_explain prints each statement's plan, nested ones
included, to the client, with a "JIT:" section when the statement was compiled. The session
sets ``jit_above_cost = 0``, so every statement the function does not protect is compiled
whatever the statistics say; a control statement shows that this server compiles and that the
section is printed.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

# each function that declares jit = off, and a call of it that runs its statements (on the
# module's empty database the claims claim nothing; the transaction is rolled back)
CALLS = {
    "check_invariants": "SELECT count(*) FROM mockbook_internal.check_invariants()",
    "claim_audit_notes": "SELECT count(*) FROM mockbook_internal.claim_audit_notes(100)",
    "claim_sync_batch": "SELECT count(*) FROM mockbook_internal.claim_sync_batch('jit', 100)",
    "claim_webhook_events": "SELECT count(*) FROM mockbook_internal.claim_webhook_events(100)",
}


@pytest.fixture
def explained(database_url: str) -> Iterator[tuple[psycopg.Connection, list[str]]]:
    """A connection whose every statement, nested ones included, is compiled unless it says
    otherwise, and whose plans arrive as notices (collected in the list)."""
    plans: list[str] = []
    with psycopg.connect(database_url) as conn:
        conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        for setting in ("auto_explain.log_min_duration = 0",
                        "auto_explain.log_nested_statements = on",
                        "auto_explain.log_level = notice", "jit_above_cost = 0"):
            conn.execute(f"SET {setting}")
        conn.execute("LOAD 'auto_explain'")
        yield conn, plans
        conn.rollback()


def compiled(plans: list[str], caller: str) -> list[str]:
    """The plans printed with a JIT section, but the caller's own statement's."""
    return [plan for plan in plans if "JIT:" in plan and not ours(plan, caller)]


def ours(plan: str, caller: str) -> bool:
    """Whether the plan is the caller's own statement's (auto_explain: "duration: ... plan:",
    then "Query Text: <the statement>")."""
    return f"\nQuery Text: {caller}\n" in plan


def test_the_server_compiles_what_nothing_protects(explained) -> None:
    conn, plans = explained
    assert conn.execute("SELECT pg_jit_available()").fetchone()[0], (
        "this server has no JIT (jit_provider): the tests below would prove nothing")
    conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings")
    assert any("JIT:" in plan for plan in plans), plans


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_function_is_never_compiled(explained, name: str) -> None:
    conn, plans = explained
    conn.execute(CALLS[name])
    nested = [plan for plan in plans if not ours(plan, CALLS[name])]
    assert nested, f"auto_explain printed none of {name}'s statements"
    assert not compiled(plans, CALLS[name]), compiled(plans, CALLS[name])[0][:2000]


def test_every_function_that_turns_jit_off_is_called_here(db: psycopg.Connection) -> None:
    declared = {name for (name,) in db.execute(
        "SELECT p.proname FROM pg_proc AS p"
        " WHERE p.pronamespace IN ('hubspot_sync'::regnamespace,"
        " 'mockbook_internal'::regnamespace) AND 'jit=off' = ANY(p.proconfig)")}
    assert declared == set(CALLS)
