"""A 2xx answer that is not HubSpot's JSON (an HTML page from a proxy or a firewall, a truncated
body, megabytes of garbage, a JSON value that is not an object) is a HubSpot error like a 5xx:
retried, then the command stops as HubSpot not answering properly, in every command; never a
traceback, and never the whole body in a message. HubSpot may have written what a 2xx answered
for, so the push counts no attempt for it and dead-letters nothing: its rows are given back."""

from __future__ import annotations

import itertools
import re
from typing import Any

import push_helpers
import pytest
import sandbox_fixtures
from push_helpers import book, env_for, make_world, query, run_main

from glue.hubspot.client import UNREADABLE, HubSpotClient, HubSpotError
from glue.hubspot.ratelimit import build_limiter
from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

GARBAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    b'{"results": [{"id": "10001", "properties": {"firstna',
    b'"ok"',
    b"[1, 2, 3]",
)
HUGE = b"\xff\xfegarbage " * 1_250_000  # 10 MB
RECORD_CALLS = re.compile(r"^/crm/v3/objects/|^/crm/v4/associations/.*/batch/")


def _garbling(pattern: re.Pattern[str], bodies: Any) -> Any:
    served = itertools.cycle(bodies)

    def rewrite(_method: str, path: str, status: int, body: Any) -> Any:
        if 200 <= status < 300 and pattern.match(path):
            return next(served)
        return body

    return rewrite


def test_the_client_retries_an_unreadable_answer_then_fails_with_a_short_message(
    sandbox: Sandbox,
) -> None:
    client = HubSpotClient(access_token=push_helpers.TOKEN, base_url=sandbox.base_url,
                           backoff_base=0.0, limiter=build_limiter(
                               limit=1000, window=1.0, daily=10**9, redis_url=None, margin=0.0))
    sandbox.faults.rewrite = _garbling(re.compile(r".*schemas/"), [HUGE])
    with pytest.raises(HubSpotError) as raised:
        client.schema("2-50158943")
    error = raised.value
    assert error.category == UNREADABLE and error.transient, error
    assert "not HubSpot's JSON" in str(error) and len(str(error)) < 300, str(error)[:500]
    assert len(sandbox.requests) == 1 + client.max_retries  # retried like a 5xx


@pytest.mark.parametrize(
    "command",
    [["push", "--linger", "0"], ["pull"], ["notes", "--settle-seconds", "0"], ["import"],
     ["reconcile", "--repair"]],
    ids=lambda c: c[0],
)
def test_every_command_takes_an_unreadable_answer_as_a_hubspot_failure(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys, command: list[str]
) -> None:
    world = make_world(push_db, sandbox, students=2)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    env = env_for(push_db, sandbox)
    if command[0] == "notes":  # the bookings in HubSpot first: notes need their ids
        code, _, err = run_main(["push", "--linger", "0"], env, monkeypatch, capsys)
        assert code == 0, err
    sandbox.faults.rewrite = _garbling(RECORD_CALLS, GARBAGE)
    # (each try made, the waits between them passing at once; a traceback would raise here)
    code, out, err = run_main(command, env, monkeypatch, capsys, waits=False)
    # the push gives its rows back, no attempt counted (exit 75); the others end as a failure
    # of HubSpot, never as a configuration error (2)
    assert code in ((75,) if command[0] == "push" else (1, 75)), (code, out, err)
    assert "Traceback" not in err and "nginx</body>" not in out + err
    said = out + err + " ".join(
        str(r["last_error"]) for r in query(push_db, "SELECT last_error FROM "
                                                     "hubspot_sync.sync_queue")
    ) + " ".join(
        str(r["error"]) for r in query(push_db, "SELECT error FROM hubspot_sync.sync_errors")
    )
    assert "not HubSpot's JSON" in said, said[-2000:]
    if command[0] == "push":
        rows = query(push_db, "SELECT attempts, done_at, dead_at FROM hubspot_sync.sync_queue")
        assert rows and all(r["done_at"] is None and r["dead_at"] is None for r in rows), rows
        assert all(r["attempts"] == 0 for r in rows), rows


def test_setup_check_says_so_in_one_line(sandbox: Sandbox, monkeypatch, capsys) -> None:
    sandbox.faults.rewrite = _garbling(re.compile(r"^/crm"), GARBAGE[:1])
    env = {"HUBSPOT_ACCESS_TOKEN": push_helpers.TOKEN, "HUBSPOT_BASE_URL": sandbox.base_url,
           "DATABASE_URL": ""}
    code, out, err = run_main(["hubspot", "setup", "--check"], env, monkeypatch, capsys)
    assert code == 75 and "not HubSpot's JSON" in err, (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "nginx</body>" not in err, err
