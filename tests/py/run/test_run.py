"""`mockbook run` end to end against the HubSpot sandbox: one cycle
pulls the exams and contacts an admin created in HubSpot, the next pushes the bookings made since
(with their contacts' credits and exams' totals), writes their audit notes, rebuilds the Redis keys,
refreshes the analytics when due and purges old outbox rows; a step that cannot reach HubSpot is
reported while the others still run; one run at a time per database (exit 75, or --wait).

Redis: REDIS_URL's server (default 127.0.0.1:6379), database 12, flushed around each test.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pull_helpers
import push_helpers
import pytest
import redis
import sandbox_fixtures
from pull_helpers import fast, seed_contacts, seed_exams
from push_helpers import env_for, hubspot_bookings, mockbook, pending, query, run_main

from glue.sandbox import CONTACTS, EXAMS, NOTES, Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

REDIS_DB = 12
# the run lease as another host's `mockbook run` holds it (glue.db.lease)
HOLDER = "another-host:4242:abcdef"
LOCK_SQL = f"SELECT mockbook_internal.take_glue_lease('run', '{HOLDER}', 60)"
UNLOCK_SQL = f"SELECT mockbook_internal.release_glue_lease('run', '{HOLDER}')"


@pytest.fixture
def redis_url() -> Iterator[str]:
    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    url = urlunsplit(base._replace(path=f"/{REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def run(args: list[str], env: dict[str, str], monkeypatch, capsys) -> tuple[int, dict, str]:
    """`mockbook run --json ARGS` in this process: (exit code, the JSON summary, stderr)."""
    code, out, err = run_main(["run", "--json", *args], env, monkeypatch, capsys)
    return code, json.loads(out), err


def statuses(report: dict) -> dict[str, str]:
    return {name: step["status"] for name, step in report["steps"].items()}


def test_one_cycle_syncs_everything(push_db: str, sandbox: Sandbox, redis_url, monkeypatch, capsys):
    fast(sandbox)
    exam_a, exam_b = seed_exams(sandbox, [{"capacity": "10"}, {"capacity": "4"}])
    students = [f"RUN{i}" for i in range(5)]
    seed_contacts(sandbox, [{"student_id": s, "cs_credits": "3"} for s in students])
    env = env_for(push_db, sandbox, REDIS_URL=redis_url, HUBSPOT_SEARCH_RATE="50")

    # 1st run: the admin's exams and contacts come in; nothing to push yet.
    code, first, _ = run([], env, monkeypatch, capsys)
    assert code == 0, first
    assert set(statuses(first).values()) == {"ok"}
    assert first["steps"]["pull"]["exams"]["inserted"] == 2
    assert first["steps"]["pull"]["contacts"]["inserted"] == 5
    assert first["steps"]["analytics"]["views"] == 4  # never refreshed before: due

    # Bookings, an old done outbox row (purged) and a recent one (kept).
    codes = [
        pull_helpers.book(push_db, s, exam_a if i < 3 else exam_b)["booking_id"]
        for i, s in enumerate(students)
    ]
    for days in (8, 6):
        query(
            push_db,
            "INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, "
            "done_at) VALUES ('hubspot_bookings', gen_random_uuid(), 'INSERT', "
            "now() - make_interval(days => %s)) RETURNING id",
            (days,),
        )
    # Stored results of keyed write RPCs: with a 2-hour retention the 3-hour-old one
    # is purged, the 1-hour-old one kept.
    for hours in (3, 1):
        query(
            push_db,
            "INSERT INTO hubspot_sync.idempotency_results (idempotency_key, function_name,"
            " fingerprint, result, created_at) VALUES (%s, 'adjust_credits', 'fp', '{}',"
            " now() - make_interval(hours => %s)) RETURNING idempotency_key",
            (f"run-purge-{hours}h", hours),
        )

    # 2nd run (analytics due at every run): everything reaches HubSpot, Redis and the views.
    code, second, err = run([], env | {"MOCKBOOK_ANALYTICS_INTERVAL": "0.001",
                                       "MOCKBOOK_IDEMPOTENCY_RETENTION_HOURS": "2"},
                            monkeypatch, capsys)
    assert code == 0, (second, err)
    assert set(statuses(second).values()) == {"ok"}, second
    push = second["steps"]["push"]
    assert push["sent"] == 5 + 5 + 2 and push["dead_lettered"] == 0  # bookings, contacts, exams
    assert pending(push_db) == 0
    remote = hubspot_bookings(sandbox)
    assert sorted(remote) == sorted(codes)
    assert sandbox.get(EXAMS, exam_a)["properties"]["total_bookings"] == "3"
    for s in students:
        [c] = query(
            push_db,
            "SELECT hubspot_id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s",
            (s,),
        )
        assert sandbox.get(CONTACTS, c["hubspot_id"])["properties"]["cs_credits"] == "2"
    # the audit notes of the five bookings
    assert second["steps"]["notes"]["created"] >= 5
    assert len(sandbox.objects(NOTES)) == second["steps"]["notes"]["created"]
    # the Redis keys
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert (r.get(f"capacity:{exam_a}"), r.get(f"exam:{exam_a}:bookings")) == ("7", "3")
    assert (r.get(f"capacity:{exam_b}"), r.get(f"exam:{exam_b}:bookings")) == ("2", "2")
    available = {e["mock_exam_id"]: e for e in json.loads(r.get("user:exams:available"))}
    assert available[exam_b]["remaining_seats"] == 2
    r.close()
    # the analytics views count the bookings; the refresh is recorded
    assert (
        query(push_db, "SELECT sum(active)::int AS n FROM hubspot_sync.booking_analytics")[0]["n"]
        == 5
    )
    assert (
        query(push_db, "SELECT last_refresh_at FROM hubspot_sync.sync_health")[0]["last_refresh_at"]
        is not None
    )
    # the purge: the 8-day-old done row only
    assert second["steps"]["purge"]["purged"] == 1
    assert (
        query(
            push_db,
            "SELECT count(*) AS n FROM hubspot_sync.sync_queue "
            "WHERE done_at < now() - interval '5 days'",
        )[0]["n"]
        == 1
    )
    assert second["steps"]["purge"]["idempotency_keys_purged"] == 1
    assert second["steps"]["purge"]["idempotency_retention_hours"] == 2
    assert [r["idempotency_key"] for r in query(
        push_db, "SELECT idempotency_key FROM hubspot_sync.idempotency_results"
                 " WHERE idempotency_key LIKE 'run-purge-%'")] == ["run-purge-1h"]

    # 3rd run: nothing to do; the analytics are not due (default 15 min interval).
    code, third, _ = run([], env, monkeypatch, capsys)
    assert code == 0
    assert third["steps"]["push"]["sent"] == 0
    assert third["steps"]["analytics"]["status"] == "skipped"
    assert third["steps"]["analytics"]["due_in"] > 800

    # The human summary: a table with a row per step.
    code, out, _ = run_main(["run"], env, monkeypatch, capsys)
    assert code == 0
    for name in ("pull", "waitlist", "complete", "cache", "push", "notes", "analytics", "purge"):
        assert name in out


def test_hubspot_down_fails_its_steps_and_the_others_run(
    push_db: str, sandbox: Sandbox, redis_url, monkeypatch, capsys
) -> None:
    fast(sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "6"}])
    seed_contacts(sandbox, [{"student_id": "DOWN1", "cs_credits": "2"}])
    env = env_for(push_db, sandbox, REDIS_URL=redis_url, HUBSPOT_SEARCH_RATE="50")
    assert run([], env, monkeypatch, capsys)[0] == 0
    pull_helpers.book(push_db, "DOWN1", exam_id)
    sandbox.stop()  # HubSpot stops answering

    code, report, err = run([], env | {"HUBSPOT_TIMEOUT_SECONDS": "1"}, monkeypatch, capsys)
    assert code == 75  # EX_TEMPFAIL: HubSpot down, cron tries again
    assert statuses(report) == {
        "pull": "failed",
        "waitlist": "ok",
        "complete": "ok",
        "cache": "ok",
        "push": "failed",
        "notes": "failed",
        "analytics": "skipped",
        "purge": "ok",
    }
    assert "HubSpot unreachable" in report["steps"]["pull"]["error"]
    # no outbox attempt was spent on an unreachable HubSpot; the cache is right anyway
    rows = query(push_db, "SELECT attempts FROM hubspot_sync.sync_queue WHERE done_at IS NULL")
    assert rows and all(r["attempts"] == 0 for r in rows)
    assert redis.Redis.from_url(redis_url).get(f"capacity:{exam_id}") == b"5"

    # Misconfiguration (an object type HubSpot does not know) is exit 2, the rest still runs.
    sandbox.start()
    code, report, _ = run([], env | {"HUBSPOT_BOOKINGS_OBJECT_TYPE": "2-404"}, monkeypatch, capsys)
    assert code == 2, report  # the steps' errors say why, should a transient answer come
    assert report["steps"]["push"]["status"] == "config_error"
    assert report["steps"]["cache"]["status"] == "ok"
    # No token at all: exit 2 before anything, one line.
    code, _, err = run_main(["run"], env | {"HUBSPOT_ACCESS_TOKEN": ""}, monkeypatch, capsys)
    assert code == 2 and "HUBSPOT_ACCESS_TOKEN" in err, err


def closed_port() -> int:
    """A local port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", ["run", "worker"])
def test_no_token_is_exit_2_before_the_database_is_asked(command, monkeypatch, capsys) -> None:
    """A missing token is a setting to fix whatever state the database is in: exit 2 and one
    line naming it, never 75 (try again) because the server is down, busy or out of
    connections at that moment; with the token set, the same database is 75."""
    env = {
        "DATABASE_URL": f"postgresql://mockbook_glue@127.0.0.1:{closed_port()}/mockbook",
        "HUBSPOT_BASE_URL": "http://127.0.0.1:9",
        "HUBSPOT_ACCESS_TOKEN": "",
    }
    code, _, err = run_main([command], env, monkeypatch, capsys)
    assert (code, err.count("\n")) == (2, 1), err
    assert "HUBSPOT_ACCESS_TOKEN" in err
    code, _, err = run_main([command], env | {"HUBSPOT_ACCESS_TOKEN": "pat-x"}, monkeypatch, capsys)
    assert code == 75, err
    assert "HUBSPOT_ACCESS_TOKEN" not in err


def test_a_second_run_exits_75_at_once_or_waits_for_the_lock(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """The test holds the run lock as a running `mockbook run` would."""
    fast(sandbox)
    env = env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    with psycopg.connect(push_db, autocommit=True) as holder:
        holder.execute(LOCK_SQL)
        # it returns at all while the lock is held: it did not wait for it
        code, out, err = run_main(["run"], env, monkeypatch, capsys)
        assert code == 75, err
        assert "another mockbook run is running" in err and HOLDER in err, err
        code, out, _ = run_main(["run", "--json"], env, monkeypatch, capsys)
        assert (code, json.loads(out)["busy"], json.loads(out)["holder"]) == (75, True, HOLDER)
        # nothing ran: no pull was recorded
        assert query(push_db, "SELECT count(*) AS n FROM hubspot_sync.sync_metadata")[0]["n"] == 0

        waiting = mockbook(["run", "--wait", "--json"], env)
        # It says once that it waits for the lock (a JSON line: stderr is not a terminal) and
        # goes on trying: read its stderr up to that line.
        said: list[str] = []
        for line in waiting.stderr:
            said.append(line)
            if '"event": "lock_wait"' in line:
                break
        assert said and '"event": "lock_wait"' in said[-1], "".join(said)
        assert waiting.poll() is None  # still waiting for it
        holder.execute(UNLOCK_SQL)
        out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, "".join(said) + err
    report = json.loads(out)
    assert report["ok"] and report["lock_waited_seconds"] > 0
