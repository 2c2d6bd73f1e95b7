"""The push's write-back meets a row another transaction holds (docs/rpc.md "Lock order";
db/functions/internal/complete_sync_batch.sql; glue.sync.push ``_complete_now``).

A student's booking or an admin's call holds its contact, booking or exam row for as long as its
transaction lasts. The push's write-back (``complete_sync_batch``: the outbox rows done and the
HubSpot ids written, one transaction) locks the same rows, after HubSpot took the records. It
used to wait for them with no time limit: the push's settle lane, and with it ``mockbook run``
or the worker, hung for as long as the other transaction did. Now its wait ends in BUSY after
``mockbook.lock_timeout`` and the push gives that record's rows back uncounted (as for a BUSY
from ``record_credit_push``); the others are completed. The next push sends it again — an
upsert by booking code, a credit write merged like a lost answer's retry — so nothing is lost
and nothing is counted twice.

Staged: the database's ``mockbook.lock_timeout`` is 200 ms; the test wraps the seam's
``complete_sync_batch`` so that, when the write-back of the record under test comes, a holder
connection locks that record's row first (as a student's transaction started while HubSpot was
answering would) and keeps it until the push has returned, or for at most 15 s.
"""

from __future__ import annotations

import threading

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from invariants import check_invariants, snapshot
from pull_helpers import (
    book,
    contact,
    fast,
    hubspot,
    ledger,
    ledger_mismatches,
    open_db,
    q,
    seed_contacts,
    seed_exams,
)
from push_helpers import hubspot_bookings, pending

from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sync.pull import pull
from glue.sync.push import Pusher

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

TABLES = {
    "contact": "hubspot_contact_credits",
    "booking": "hubspot_bookings",
    "exam": "hubspot_mock_exams",
}


@pytest.mark.parametrize("held", ["contact", "booking", "exam"])
def test_a_held_row_at_the_write_back_is_given_back_not_waited_for(
    push_db: str, sandbox: Sandbox, held: str
) -> None:
    fast(sandbox)
    student = f"PBW{held[0].upper()}"
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "20"}])
    [contact_id] = seed_contacts(sandbox, [{"student_id": student, "cs_credits": "5"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)  # the baseline: 5 on both sides
    with psycopg.connect(push_db, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET mockbook.lock_timeout = ''200ms''',"
            " current_database()); END $$"
        )
        snap = snapshot(conn)
    booked = book(push_db, student, exam_id)  # 5 -> 4; booking, contact and exam queued
    record = {
        "contact": contact(push_db, student)["id"],
        "booking": booked["id"],
        "exam": q(
            push_db,
            "SELECT id FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s",
            (exam_id,),
        )[0]["id"],
    }
    target = str(record[held])

    holder = psycopg.connect(push_db, autocommit=False)
    locked = threading.Event()
    outcome: dict[str, object] = {}
    try:
        with open_db(push_db) as db:
            real_complete = db.complete_sync_batch

            def complete(worker, row_ids, hubspot_ids, modified=None):  # type: ignore[no-untyped-def]
                if not locked.is_set() and target in hubspot_ids.get(TABLES[held], {}):
                    holder.execute(
                        f"SELECT 1 FROM hubspot_sync.{TABLES[held]} WHERE id = %s"
                        " FOR NO KEY UPDATE",
                        (target,),
                    )
                    locked.set()
                return real_complete(worker, row_ids, hubspot_ids, modified)

            db.complete_sync_batch = complete  # type: ignore[method-assign]
            pusher = Pusher(db, client, settings, worker="worker-A")

            def first_push() -> None:
                try:
                    outcome["rows"] = pusher.push_batch()
                except BaseException as exc:
                    outcome["error"] = exc

            thread = threading.Thread(target=first_push)
            thread.start()
            thread.join(timeout=15)
            returned_while_held = not thread.is_alive()
            holder.rollback()  # the student's transaction ends
            thread.join()
    finally:
        holder.close()

    assert locked.is_set(), f"staging: the {held}'s write-back never came"
    assert returned_while_held, (
        f"the push waited for the {held} row held by another transaction instead of ending"
        " its wait in BUSY after mockbook.lock_timeout (200 ms)"
    )
    assert "error" not in outcome, f"the push failed: {outcome.get('error')!r}"
    stats = pusher.stats
    # the held record's rows were given back, uncounted and not done; the others completed
    rows = q(
        push_db,
        "SELECT record_id, attempts, lease_owner, done_at, dead_at, last_error"
        " FROM hubspot_sync.sync_queue WHERE done_at IS NULL",
    )
    assert rows and {str(r["record_id"]) for r in rows} == {target}, rows
    assert all(
        r["attempts"] == 0
        and r["lease_owner"] is None
        and r["dead_at"] is None
        and "BUSY" in r["last_error"]
        for r in rows
    ), rows
    assert stats.sent == 2 and stats.retried == len(rows) and stats.dead_lettered == 0, stats

    # the next push sends it again: nothing lost, nothing twice
    q(push_db, "UPDATE hubspot_sync.sync_queue SET next_attempt_at = now() WHERE done_at IS NULL")
    with open_db(push_db) as db:
        again = Pusher(db, client, settings, worker="worker-B")
        again.push_batch()
    assert again.stats.sent == 1 and again.stats.retried == 0, again.stats
    assert pending(push_db) == 0
    [mine] = [b for code, b in hubspot_bookings(sandbox).items() if code == booked["booking_id"]]
    assert len(hubspot_bookings(sandbox)) == 1, "a second HubSpot booking"
    local = q(
        push_db,
        "SELECT hubspot_id FROM hubspot_sync.hubspot_bookings WHERE id = %s",
        (booked["id"],),
    )[0]
    assert local["hubspot_id"] == mine["id"]
    assert int(sandbox.get(CONTACTS, contact_id)["properties"]["cs_credits"]) == 4
    assert contact(push_db, student)["cs_credits"] == 4
    assert int(sandbox.get(EXAMS, exam_id)["properties"]["total_bookings"]) == 1
    # no phantom admin change: HubSpot's 4 is the push's own write, not a HubSpot adjustment
    assert [r for r in ledger(push_db, student) if r[0] == "hubspot_adjustment"] == []
    with open_db(push_db) as db:
        merged = pull(db, client, settings, reader=reader, only=("contacts",))
    assert merged.targets["contacts"].merged == 0
    assert ledger_mismatches(push_db) == []
    with psycopg.connect(push_db, autocommit=True) as conn:
        check_invariants(conn, snap)
