"""The lock helpers of the lock order (mockbook_internal.lock_contact, lock_booking, lock_exam,
lock_waitlist_entry; docs/rpc.md, "Lock order"): each locks its row and only it, and a wait for a
row held elsewhere ends BUSY within mockbook.lock_timeout (docs/dba.md's default where none is
set).
"""

from __future__ import annotations

import psycopg
import pytest
from booking_calls import one
from test_who_acts import scenario

# the lock helpers of the lock order: (function, key type, the table and key column it locks)
LOCKS = {
    "contact": ("lock_contact", "uuid", "hubspot_contact_credits", "id"),
    "booking": ("lock_booking", "uuid", "hubspot_bookings", "id"),
    "exam": ("lock_exam", "text", "hubspot_mock_exams", "hubspot_id"),
    "waitlist place": ("lock_waitlist_entry", "bigint", "waitlist_entries", "id"),
}


@pytest.mark.parametrize("target", list(LOCKS))
def test_a_lock_helper_locks_its_row_and_only_it(db: psycopg.Connection, database_url: str,
                                                 target: str) -> None:
    """Free, the row is locked at once (another transaction's NOWAIT on it fails, on another
    row succeeds); held by another transaction, the helper waits for that row, not another:
    BUSY past mockbook.lock_timeout, while a free row next to it is locked at once."""
    fn, kind, table, column = LOCKS[target]
    scenario(db)
    mine, other = (str(k) for (k,) in db.execute(
        f"SELECT {column} FROM hubspot_sync.{table} ORDER BY {column} LIMIT 2").fetchall())
    helper = f"SELECT mockbook_internal.{fn}(%s::{kind})"
    nowait = f"SELECT FROM hubspot_sync.{table} WHERE {column} = %s::{kind} FOR UPDATE NOWAIT"
    with psycopg.connect(database_url) as caller, psycopg.connect(database_url) as rival:
        caller.execute(helper, (mine,))
        with pytest.raises(psycopg.errors.LockNotAvailable):
            rival.execute(nowait, (mine,))
        rival.rollback()
        rival.execute(nowait, (other,))
        caller.rollback()
        rival.rollback()
        # the row held elsewhere: a bounded wait for it
        rival.execute(nowait, (mine,))
        caller.execute("SET mockbook.lock_timeout = '200ms'")
        with pytest.raises(psycopg.Error) as busy:
            caller.execute(helper, (mine,))
        assert busy.value.diag.message_primary == "BUSY"
        caller.rollback()
        caller.execute(helper, (other,))
        caller.rollback()
        rival.rollback()


def test_with_no_lock_timeout_set_a_wait_ends_busy_at_the_documented_default(
        db: psycopg.Connection, database_url: str) -> None:
    """docs/dba.md: mockbook.lock_timeout defaults to 2s. With none set, a helper waiting for a
    row held elsewhere answers BUSY by itself; it never waits on until something else stops it
    (the 10 s statement_timeout here stands in for the API's)."""
    fn, kind, table, column = LOCKS["exam"]
    scenario(db)
    key = str(one(db, f"SELECT {column} FROM hubspot_sync.{table} ORDER BY {column} LIMIT 1"))
    with psycopg.connect(database_url) as caller, psycopg.connect(database_url) as rival:
        rival.execute(f"SELECT FROM hubspot_sync.{table} WHERE {column} = %s::{kind} FOR UPDATE",
                      (key,))
        caller.execute("SET mockbook.lock_timeout = ''")
        caller.execute("SET statement_timeout = '10s'")
        with pytest.raises(psycopg.Error) as busy:
            caller.execute(f"SELECT mockbook_internal.{fn}(%s::{kind})", (key,))
        assert busy.value.diag.message_primary == "BUSY", busy.value
        rival.rollback()
