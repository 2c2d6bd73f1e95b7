"""A stop is prompt in the one-shot commands: SIGTERM or Ctrl-C (SIGINT) during `mockbook push`
on a backlog ends it after the HubSpot call in hand and its write-back; the rest of its batch is
given back at once (due now, its attempt not counted), so nothing stays leased until the lease
runs out; the rows HubSpot took are done. `mockbook notes` stops after the batch in hand. The
bound below only stops a hung test: what is asserted is the work left and the leases."""

from __future__ import annotations

import signal
import subprocess
import threading

import psycopg
import pull_helpers
import push_helpers
import pytest
import sandbox_fixtures
from push_helpers import (
    book,
    calls,
    client_for,
    env_for,
    make_world,
    mockbook,
    pending,
    query,
    settings_for,
)
from test_notes_backlog import BACKLOG
from waiting import wait_until

from glue.db.database import Database
from glue.sandbox import BOOKINGS, NOTES, Sandbox
from glue.sync.push import Pusher

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

# seconds: only bounds a hang (a loaded machine may take many seconds for the call in hand and
# its write-back); a stop that did not come shows as the backlog sent to its end (asserted)
BOUND = 120.0

# rows claimed and not settled: a lease still running on a row that is not done
LEASED = (
    "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE done_at IS NULL "
    "AND dead_at IS NULL AND lease_owner IS NOT NULL AND lease_expires_at > now()"
)
LEFT = (
    "SELECT attempts, next_attempt_at <= now() AS due FROM hubspot_sync.sync_queue "
    "WHERE done_at IS NULL AND dead_at IS NULL"
)
DONE = "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE done_at IS NOT NULL"


def _n(url: str, sql: str) -> int:
    return query(url, sql)[0]["n"]


def _backlog(url: str, sb: Sandbox, students: int) -> None:
    world = make_world(url, sb, students=students, exams=2)
    book(url, [(s, world.exams[i % 2]) for i, s in enumerate(world.students)])


def _assert_given_back(url: str) -> None:
    assert _n(url, LEASED) == 0
    left = query(url, LEFT)
    assert left, "the backlog was pushed to its end: the stop came too late to tell"
    # given back at once, uncounted (never claimed rows look the same)
    assert all(r["due"] and r["attempts"] == 0 for r in left)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_stops_push_after_the_call_in_hand(
    push_db: str, sandbox: Sandbox, sig: signal.Signals
) -> None:
    pull_helpers.fast(sandbox)
    _backlog(push_db, sandbox, 1500)  # 1,500 bookings, their contacts, 2 exams: one batch
    sandbox.faults.latency = 0.1
    sandbox.faults.spare_portal_reads = True
    proc = mockbook(["push", "--linger", "0"], env_for(push_db, sandbox))
    try:
        wait_until("rows done", lambda: proc.poll() is not None or _n(push_db, DONE) >= 100,
                   timeout=120)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"push did not stop within {BOUND} s")
    finally:
        sandbox.faults.latency = 0
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, out + err  # stopped by a signal (glue.lifecycle)
    assert "stopped by a signal" in err
    _assert_given_back(push_db)
    # what HubSpot took is done: every booking done locally is in HubSpot with its id
    for b in query(push_db, "SELECT booking_id, hubspot_id FROM hubspot_sync.hubspot_bookings "
                            "WHERE hubspot_id IS NOT NULL"):
        assert sandbox.get_by(BOOKINGS, "booking_id", b["booking_id"])["id"] == b["hubspot_id"]


def test_a_stop_sends_no_call_after_the_one_in_hand(push_db: str, sandbox: Sandbox,
                                                    monkeypatch) -> None:
    """In process: the stop comes as the second booking upsert is answered; no other call is
    sent (but those the contacts' merges already had on their way), the rest is given back."""
    world = make_world(push_db, sandbox, students=400)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    settings = settings_for(push_db, sandbox)
    stop = threading.Event()
    with Database(push_db) as db:
        client = client_for(settings, stop=stop)
        real = client.upsert

        def upsert(object_type, id_property, inputs):
            answer = real(object_type, id_property, inputs)
            if len(calls(sandbox, "/batch/upsert", BOOKINGS)) == 2:
                stop.set()  # as the second one's answer lands
            return answer

        monkeypatch.setattr(client, "upsert", upsert)
        pusher = Pusher(db, client, settings, stop=stop)
        sent_before = len(sandbox.requests)
        stats = pusher.run(linger=0)
        after = sandbox.requests[sent_before:]
    assert stats.interrupted
    assert len(calls(sandbox, "/batch/upsert", BOOKINGS)) == 2  # the one in hand was the last
    last = max(i for i, r in enumerate(after) if r["path"].endswith("/batch/upsert")
               and f"/{BOOKINGS}/" in r["path"])
    # after it, only what the contacts' merges (the prep lane's reads) had on their way: no
    # booking and no association call (how many reads were in flight depends on the machine)
    later = [r["method"] + " " + r["path"] for r in after[last + 1:]]
    assert [c for c in later if f"/{BOOKINGS}/" in c or "/associations/" in c] == [], later
    _assert_given_back(push_db)
    assert pending(push_db) > 0


def test_sigterm_stops_notes_after_the_batch_in_hand(push_db: str, sandbox: Sandbox) -> None:
    pull_helpers.fast(sandbox)
    world = make_world(push_db, sandbox, students=1)
    book(push_db, [(world.students[0], world.exams[0])])
    env = env_for(push_db, sandbox)
    first = mockbook(["push", "--linger", "0"], env)
    assert first.wait(120) == 0
    with psycopg.connect(push_db, autocommit=True) as conn:
        conn.execute(BACKLOG, {"n": 3000, "student": world.students[0]})  # 3,000 notes
    sandbox.faults.latency = 0.1
    sandbox.faults.spare_portal_reads = True
    proc = mockbook(["notes"], env)
    try:
        wait_until("notes being written",
                   lambda: proc.poll() is not None or len(sandbox.objects(NOTES)) >= 200,
                   timeout=120)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"notes did not stop within {BOUND} s")
    finally:
        sandbox.faults.latency = 0
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, out + err
    written = len(sandbox.objects(NOTES))
    assert written < 3000  # stopped mid-backlog
    # every note HubSpot has is marked written: the next run writes none twice
    marked = _n(push_db, "SELECT count(*) AS n FROM hubspot_sync.supabase_audit_log "
                         "WHERE synced_to_hubspot_at IS NOT NULL AND table_name = "
                         "'hubspot_bookings' AND operation = 'UPDATE'")
    assert marked >= written
