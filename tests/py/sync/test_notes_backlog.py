"""claim_audit_notes costs what its batch costs, not what the backlog costs: each call reads a
window of the oldest pending audit rows through the pending index, so the buffers one call
touches stay the same whether 5,000 or 50,000 rows wait (the pull-notes step once took 37 s per
call at 48k). Rows still waiting for the push (a booking with no HubSpot id yet) at the head of
the backlog do not hold back the ready ones behind them."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

SETUP = """
UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now()
WHERE synced_to_hubspot_at IS NULL;
DO $$ BEGIN
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'NBX1{s}');
    PERFORM tests.make_student(p_cs := 2, p_student_id := 'NBS1{s}', p_hubspot_id := 'CNBS1{s}');
    PERFORM tests.make_student(p_cs := 2, p_student_id := 'NBS2{s}', p_hubspot_id := 'CNBS2{s}');
    PERFORM tests.book('NBS1{s}', 'NBX1{s}', 'nb-ready{s}', p_hand := 'left');
    PERFORM tests.book('NBS2{s}', 'NBX1{s}', 'nb-waiting{s}', p_hand := 'left');
END $$;
UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'BNB1{s}' WHERE student_id = 'NBS1{s}';
UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now()
WHERE synced_to_hubspot_at IS NULL;
"""
# n audit rows of one kind: attendance changes of the ready booking (each one a note), or
# changes of the booking not pushed yet (each one waiting for its HubSpot id)
BACKLOG = """
INSERT INTO hubspot_sync.supabase_audit_log
    (table_name, record_id, operation, changed_fields, old_values, new_values, performed_by)
SELECT 'hubspot_bookings', b.id, 'UPDATE', '["attendance"]', '{"attendance": null}',
       '{"attendance": "Yes"}', 'admin@school.ca'
FROM hubspot_sync.hubspot_bookings AS b, generate_series(1, %(n)s)
WHERE b.student_id = %(student)s
"""


def _buffers(conn: psycopg.Connection) -> tuple[int, int]:
    """(shared buffers one claim of 100 touches, notes it returned), each claim rolled back:
    the least of three claims after a first one. The count includes the catalog pages a claim
    reads when it plans its statements again (after the VACUUM ANALYZE before it, or when a
    busy server's other sessions reset this one's catalog caches): a cost of that one call,
    not of the backlog, which every claim would pay alike."""
    seen = []
    for _ in range(4):
        with conn.transaction(force_rollback=True):
            (plan,) = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
                "SELECT * FROM mockbook_internal.claim_audit_notes(100)").fetchone()
        top = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
        seen.append((top["Shared Hit Blocks"] + top["Shared Read Blocks"], top["Actual Rows"]))
    return min(seen[1:])


@pytest.mark.parametrize("waiting_first", [False, True], ids=["ready", "waiting-first"])
def test_a_claim_costs_the_same_at_5k_and_50k_pending_rows(
    database_url: str, waiting_first: bool
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        s = "W" if waiting_first else "R"
        conn.execute(SETUP.replace("{s}", s))
        if waiting_first:
            conn.execute(BACKLOG, {"n": 2000, "student": f"NBS2{s}"})
        conn.execute(BACKLOG, {"n": 5000, "student": f"NBS1{s}"})
        # vacuumed before each measure: the dead index entries earlier tests left in this
        # database are not the claim's cost (under a loaded run they were not yet reclaimed)
        conn.execute("VACUUM (ANALYZE) hubspot_sync.supabase_audit_log")
        small, notes = _buffers(conn)
        assert notes == 100
        conn.execute(BACKLOG, {"n": 45000, "student": f"NBS1{s}"})
        conn.execute("VACUUM (ANALYZE) hubspot_sync.supabase_audit_log")
        large, notes = _buffers(conn)
        assert notes == 100
        # the same work, within 2x: a claim reading the backlog touched ~10x the buffers; the
        # claim's own pages grow a little with the backlog (1.1-1.4x at ten times the rows on a
        # quiet server), and a loaded one has read 1.9x
        assert large <= small * 2 + 50, (small, large)
        conn.execute("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now() "
                     "WHERE synced_to_hubspot_at IS NULL")


def _set_aside(conn: psycopg.Connection) -> int:
    """Claims until none returns a note (only waiting rows are pending): each sets aside the
    waiting rows of the windows it looks at. Returns how many rows are set aside."""
    while conn.execute("SELECT count(*) FROM mockbook_internal.claim_audit_notes(1000)"
                       ).fetchone()[0]:
        pass
    return conn.execute("SELECT count(*) FROM hubspot_sync.supabase_audit_log "
                        "WHERE synced_to_hubspot_at IS NULL AND note_waits").fetchone()[0]


def test_a_backlog_waiting_for_hubspot_ids_costs_the_claims_nothing(database_url: str) -> None:
    """After an outage every pending row may wait for its booking's HubSpot id: once set aside,
    1,000 or 50,000 of them cost a claim the same, and they come back when the id arrives."""
    ready = BACKLOG.replace("generate_series(1, %(n)s)", "generate_series(1, 100)")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SETUP.replace("{s}", "O"))
        measured = []
        for n in (1000, 49000):
            conn.execute(BACKLOG, {"n": n, "student": "NBS2O"})
            waiting = _set_aside(conn)
            conn.execute(ready, {"student": "NBS1O"})
            conn.execute("VACUUM (ANALYZE) hubspot_sync.supabase_audit_log")
            cost, notes = _buffers(conn)
            assert notes == 100
            measured.append((waiting, cost))
            conn.execute("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now() "
                         "WHERE synced_to_hubspot_at IS NULL AND NOT note_waits")
        (small_n, small), (large_n, large) = measured
        assert (small_n, large_n) == (1000, 50000)
        # a claim reading the waiting rows touched ~30x the buffers at 50,000
        assert large <= small * 2 + 50, measured
        # the push writes the booking's HubSpot id back: its rows are pending notes again
        conn.execute("BEGIN")
        conn.execute("SELECT set_config('mockbook.origin', 'sync', true)")
        conn.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'BNB2O' "
                     "WHERE student_id = 'NBS2O'")
        conn.execute("COMMIT")
        assert conn.execute("SELECT count(*) FROM hubspot_sync.supabase_audit_log "
                            "WHERE note_waits AND synced_to_hubspot_at IS NULL").fetchone()[0] == 0
        got = conn.execute("SELECT booking_hubspot_id FROM "
                           "mockbook_internal.claim_audit_notes(100)").fetchall()
        assert got == [("BNB2O",)] * 100
        conn.execute("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now() "
                     "WHERE synced_to_hubspot_at IS NULL")


def test_an_id_written_back_while_a_claim_sets_its_rows_aside_brings_them_back(
    database_url: str,
) -> None:
    """The claim share-locks the booking whose rows it sets aside: the push's write-back of the
    booking's HubSpot id waits for the claim to commit, then finds the rows set aside and makes
    them pending again (were it not to wait, the rows would stay aside for good)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SETUP.replace("{s}", "C"))
        conn.execute(BACKLOG, {"n": 10, "student": "NBS2C"})
        with psycopg.connect(database_url) as claim, psycopg.connect(database_url) as push:
            assert claim.execute("SELECT count(*) FROM mockbook_internal.claim_audit_notes(100)"
                                 ).fetchone() == (0,)
            pid = push.info.backend_pid
            done = threading.Event()

            def write_back() -> None:
                push.execute("SELECT set_config('mockbook.origin', 'sync', true)")
                push.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'BNB2C' "
                             "WHERE student_id = 'NBS2C'")
                push.commit()
                done.set()

            t = threading.Thread(target=write_back)
            t.start()
            deadline = time.monotonic() + 60
            while conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                               (pid,)).fetchone() != ("Lock",):
                assert not done.is_set(), "the write-back did not wait for the claim"
                assert time.monotonic() < deadline, "the write-back never waited for the claim"
                time.sleep(0.05)
            claim.commit()
            t.join(60)
            assert done.is_set()
        assert conn.execute("SELECT count(*) FROM hubspot_sync.supabase_audit_log "
                            "WHERE note_waits AND synced_to_hubspot_at IS NULL").fetchone() == (0,)
        got = conn.execute("SELECT booking_hubspot_id FROM "
                           "mockbook_internal.claim_audit_notes(100)").fetchall()
        assert got == [("BNB2C",)] * 10
        conn.execute("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now() "
                     "WHERE synced_to_hubspot_at IS NULL")
