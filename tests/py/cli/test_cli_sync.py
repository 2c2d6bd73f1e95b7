"""`mockbook push`, `dlq` and `sandbox` as an operator runs them:
--json prints one JSON object, exit 0 / 1 (something dead-lettered) / 2 (misconfiguration: one
line on stderr, no traceback, nothing marked done)."""

from __future__ import annotations

import json
import re
import signal
import socket
import urllib.request

import psycopg
import push_helpers
import sandbox_fixtures
from push_helpers import book, env_for, make_world, mockbook, pending, query, run_main

from glue.sandbox import BOOKINGS, CONTACTS, Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def _queue_state(url: str) -> list[dict]:
    return query(
        url,
        "SELECT id, attempts, lease_owner, done_at, dead_at FROM hubspot_sync.sync_queue "
        "ORDER BY id",
    )


def test_push_json_is_one_object(push_db: str, sandbox: Sandbox, monkeypatch, capsys) -> None:
    world = make_world(push_db, sandbox, students=3)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    proc = mockbook(["push", "--json", "--linger", "0"], env_for(push_db, sandbox))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    summary = json.loads(out)  # the whole of stdout is one JSON object
    assert isinstance(summary, dict)
    assert summary["sent"] == 3 + 3 + 1 and summary["dead_lettered"] == 0
    assert summary["retried"] == 0 and summary["rate_limit_waits"] == 0
    assert summary["calls"] == len(sandbox.requests)
    assert summary["by_table"] == {
        "hubspot_bookings": 3,
        "hubspot_contact_credits": 3,
        "hubspot_mock_exams": 1,
    }
    assert pending(push_db) == 0
    # Without --json: one human line with the same figures.
    code, out, err = run_main(
        ["push", "--linger", "0"], env_for(push_db, sandbox), monkeypatch, capsys
    )
    assert code == 0, err
    # nothing to push: the 8 reads of the start-up portal check (glue/hubspot/setup.py) and the
    # portal identity check's schema read (glue/sync/portal.py)
    assert out.startswith("push: sent 0 record(s)") and "HubSpot calls 9" in out


def test_misconfiguration_exits_2_with_one_line_and_marks_nothing_done(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    world = make_world(push_db, sandbox, students=2)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    before = _queue_state(push_db)
    env = env_for(push_db, sandbox)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    # Two as real processes (what an operator sees: one line, no traceback, nothing else)...
    procs = {
        "HUBSPOT_ACCESS_TOKEN is not set": mockbook(["push"], {**env, "HUBSPOT_ACCESS_TOKEN": ""}),
        "cannot reach HubSpot": mockbook(
            ["push"], {**env, "HUBSPOT_BASE_URL": f"http://127.0.0.1:{dead_port}"}
        ),
    }
    # ...the others through the same entry point in this process (quicker).
    cases = {
        "HUBSPOT_BASE_URL must be": {**env, "HUBSPOT_BASE_URL": "api.hubapi.com"},
        "refused HUBSPOT_ACCESS_TOKEN": {**env, "HUBSPOT_ACCESS_TOKEN": "wrong-token"},
        "HUBSPOT_BOOKINGS_OBJECT_TYPE": {**env, "HUBSPOT_BOOKINGS_OBJECT_TYPE": "2-404"},
        "HUBSPOT_EXAMS_OBJECT_TYPE": {**env, "HUBSPOT_EXAMS_OBJECT_TYPE": "p123_nothing"},
    }
    results = {
        expect: run_main(["push", "--linger", "0"], e, monkeypatch, capsys)
        for expect, e in cases.items()
    }
    for expect, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        results[expect] = (proc.returncode, out, err)
    for expect, (code, out, err) in results.items():
        # HubSpot not answering: try again later (EX_TEMPFAIL); the others: configuration
        assert code == (75 if expect == "cannot reach HubSpot" else 2), (expect, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and expect in lines[0], (expect, err)
        assert "Traceback" not in err and out == ""
    assert _queue_state(push_db) == before  # nothing claimed, nothing done
    assert [r["path"] for r in sandbox.requests if "/batch/" in r["path"]] == []
    # A bad --exam is a usage error too.
    code, _, err = run_main(["push", "--exam", "no-such-exam"], env, monkeypatch, capsys)
    assert code == 2 and "no-such-exam" in err and "Traceback" not in err


def test_exit_1_when_something_is_dead_lettered_and_dlq_commands(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    world = make_world(push_db, sandbox, students=3)
    poisoned = world.students[1]
    sandbox.reject_when(BOOKINGS, lambda p: p.get("student_id") == poisoned, "invalid booking")
    book(push_db, [(s, world.exams[0]) for s in world.students])
    env = env_for(push_db, sandbox, MOCKBOOK_MAX_ATTEMPTS="1")
    proc = mockbook(["push", "--json", "--linger", "0"], env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    summary = json.loads(out)
    assert summary["dead_lettered"] == 1 and summary["sent"] == 2 + 3 + 1
    assert "invalid booking" in summary["errors"][0]

    code, _, err = run_main(["dlq", "discard"], env, monkeypatch, capsys)
    assert code == 2 and "--all" in err  # ids or --all are required
    code, out, _ = run_main(["dlq", "list", "--json"], env, monkeypatch, capsys)
    [pending] = json.loads(out)
    # An unknown id is bad input: exit 2 naming it, and nothing changes (not "0 discarded", 0).
    for action in ("discard", "retry"):
        code, out, err = run_main(
            ["dlq", action, str(pending["id"]), "999999"], env, monkeypatch, capsys
        )
        assert code == 2 and "with id 999999 (" in err and "nothing changed" in err, (code, err)
    code, out, _ = run_main(["dlq", "list", "--json"], env, monkeypatch, capsys)
    assert [d["id"] for d in json.loads(out)] == [pending["id"]]
    code, out, err = run_main(["dlq", "discard", "--all"], env, monkeypatch, capsys)
    assert code == 0 and out.strip() == "1 dead letter(s) discarded", err
    # Already resolved: skipped and named, exit 1.
    code, out, err = run_main(["dlq", "retry", str(pending["id"])], env, monkeypatch, capsys)
    assert code == 1 and "already resolved" in err and str(pending["id"]) in err, (code, err)
    assert out.strip() == "0 dead letter(s) queued again for the next push"
    code, out, _ = run_main(["dlq", "list"], env, monkeypatch, capsys)
    assert code == 0 and out.strip() == "no dead letters"
    code, out, _ = run_main(["dlq", "list", "--all", "--json"], env, monkeypatch, capsys)
    [letter] = json.loads(out)
    assert letter["resolved"] and letter["resolution"] == "discarded"
    assert (
        query(push_db, "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE done_at IS NULL")[
            0
        ]["n"]
        == 0
    )


def test_sandbox_command_serves_until_sigterm() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = mockbook(
        ["sandbox", "--port", str(port), "--access-token", "t", "--setup"],
        {"PYTHONUNBUFFERED": "1"},  # its "listening on" line as soon as it is printed
    )
    try:
        listening = ""
        for listening in proc.stdout:  # printed once the port is open
            if "listening on" in listening:
                break
        assert f"listening on http://127.0.0.1:{port}" in listening, proc.stderr.read()
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/crm/v3/schemas/{BOOKINGS}",
            headers={"Authorization": "Bearer t"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read())["objectTypeId"] == BOOKINGS
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=300)
    assert proc.returncode == 0


def test_thousands_of_alike_failures_are_summarised_not_printed_one_by_one(
    push_db: str, sandbox: Sandbox
) -> None:
    """Every booking carries a mock type HubSpot's enumeration does not have (as after an exam
    type was renamed in Postgres only): HubSpot refuses each one with the same validation error.
    The push prints one line per kind of error with a count and a few examples, not a line per
    record. (A stale contact id no longer serves here: the push re-links it by email.)"""
    world = make_world(push_db, sandbox, students=120)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    with psycopg.connect(push_db, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL mockbook.origin = 'sync'")  # not queued: only the pushed state
        conn.execute(
            "UPDATE hubspot_sync.hubspot_bookings SET mock_type = 'Retired Type' "
            "WHERE student_id = ANY(%s)",
            (world.students,),
        )
    # HubSpot refuses each record alone after its batch: hundreds of calls per push. The rate
    # limits are lifted (at 100 per 10 s they cost ~20 s of the test's ~55 s, measured): this
    # test is about what the push prints.
    sandbox.limiter.configure(rate_limit=None)
    env = env_for(push_db, sandbox, MOCKBOOK_MAX_ATTEMPTS="1", HUBSPOT_RATE_LIMIT="100000")
    proc = mockbook(["push", "--linger", "0"], env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    dead_lines = [line for line in err.splitlines() if "dead-lettered" in line]
    assert 1 <= len(dead_lines) <= 3, err  # a summary, not ~120 lines
    line = next(x for x in dead_lines if "INVALID_OPTION" in x)
    found = re.search(r"outbox rows: ([\d,]+) x upsert #: HTTP #: ", line)
    assert found and int(found[1].replace(",", "")) >= 120, line  # every booking's rows
    proc = mockbook(["push", "--json", "--linger", "0", "--all"], env)
    out, err = proc.communicate(timeout=300)
    kinds = json.loads(out)["dead_lettered_by_kind"]
    assert kinds and kinds[0]["count"] >= 120 and 1 <= len(kinds[0]["examples"]) <= 3, kinds


def test_push_and_pull_refuse_another_portal_than_the_recorded_one(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """The first push records the portal it talked to; a pull or push against another portal
    (another sandbox here, as `mockbook sandbox` after the demo's) stops with exit 2 naming
    both, and changes nothing."""
    world = make_world(push_db, sandbox, students=2)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    env = env_for(push_db, sandbox)
    code, _, err = run_main(["push", "--linger", "0"], env, monkeypatch, capsys)
    assert code == 0, err
    recorded = query(
        push_db, "SELECT mockbook_internal.get_sync_cursor('hubspot_portal') AS c"
    )[0]["c"]
    assert recorded["portal_id"] == sandbox.store.portal_id

    with Sandbox(access_token=push_helpers.TOKEN, portal_id=7777777, setup=True) as other:
        other.seed(CONTACTS, [{"email": "stranger@example.com"}])  # id 10001, as a demo's
        before = query(push_db, "SELECT * FROM hubspot_sync.hubspot_contact_credits ORDER BY id")
        other_env = env_for(push_db, other)
        # every command that reads or writes HubSpot records
        commands = (["pull"], ["push", "--linger", "0"], ["import"], ["notes"], ["run"], ["worker"],
                    ["reconcile"], ["reconcile", "--repair"])
        for command in commands:
            code, _, err = run_main(command, other_env, monkeypatch, capsys)
            assert code == 2, (command, err)
            assert f"synced with HubSpot portal {sandbox.store.portal_id}" in err, err
            assert "answers for portal 7777777" in err and "Traceback" not in err
        assert not [r for r in other.requests if r["method"] in ("POST", "PATCH", "PUT")]
        assert query(
            push_db, "SELECT * FROM hubspot_sync.hubspot_contact_credits ORDER BY id"
        ) == before
    # The recorded portal still passes the check (the pull may dead-letter this test world's
    # bare exams: exit 1, not 2).
    code, _, err = run_main(["pull"], env, monkeypatch, capsys)
    assert code in (0, 1) and "portal" not in err, err


# every command that reads or writes HubSpot, as an operator runs it
HUBSPOT_COMMANDS = (["pull"], ["push", "--linger", "0"], ["import"], ["notes"], ["reconcile"],
                    ["reconcile", "--repair"], ["hubspot", "setup", "--check"], ["run"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_hubspot_that_does_not_answer_or_refuses_is_one_line_and_exit_2(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """Unreachable, a refused token, object types the portal does not have: one line naming
    the problem, exit 75 when HubSpot does not answer (try again later) and 2 when it refuses,
    no traceback, for each command (reconcile once printed 130-181 lines and exited 1). `run`
    reports the HubSpot steps failed or refused and goes on with the others."""
    make_world(push_db, sandbox, students=1)
    cases = {
        "unreachable": {"HUBSPOT_BASE_URL": f"http://127.0.0.1:{_closed_port()}"},
        "refused token": {"HUBSPOT_ACCESS_TOKEN": "pat-na1-not-the-token"},
        "unknown object type": {"HUBSPOT_BOOKINGS_OBJECT_TYPE": "2-999999"},
    }
    for case, change in cases.items():
        env = env_for(push_db, sandbox) | change
        for command in HUBSPOT_COMMANDS:
            code, out, err = run_main(command, env, monkeypatch, capsys)
            lines = [line for line in err.splitlines() if line.strip()]
            if command[0] == "hubspot" and case == "unknown object type":
                # the check's own report: what is missing, exit 1
                assert code == 1 and "2-999999" in out and "Traceback" not in err, (out, err)
                continue
            if command == ["run"]:
                assert code == (75 if case == "unreachable" else 2), (case, code, err)
                assert "Traceback" not in err, (case, err)
                continue
            assert code == (75 if case == "unreachable" else 2), (case, command, err)
            assert len(lines) == 1 and "Traceback" not in err, (case, command, err)
