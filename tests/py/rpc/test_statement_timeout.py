"""A caller's statement_timeout shorter than mockbook.lock_timeout: a call that waits on a lock
is cancelled by PostgreSQL (57014, "canceling statement due to statement timeout") before
mockbook's own bound answers BUSY. Nothing of the call remains either way, and both mean "try
the same call again" (docs/rpc.md, "Errors"). Supabase's defaults (anon 3 s, authenticated 8 s)
are above the 2 s lock wait, so there the answer is BUSY."""

from __future__ import annotations

import psycopg
import pytest

SETUP = """
DO $$ BEGIN
    PERFORM tests.make_exam(p_mock_type := 'Situational Judgment', p_hubspot_id := 'STX1');
    PERFORM tests.make_student(p_sj := 2, p_student_id := 'STS1');
END $$;
"""
BOOK = ("SELECT tests.book('STS1', 'STX1', %s)")


@pytest.mark.parametrize(("timeout", "sqlstate"), [("500ms", "57014"), ("5s", "PT503")],
                         ids=["below-the-lock-wait", "above-it"])
def test_a_lock_wait_under_a_short_statement_timeout(
    database_url: str, timeout: str, sqlstate: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as setup:
        if not setup.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams "
                             "WHERE hubspot_id = 'STX1'").fetchone():
            setup.execute(SETUP)
    holder = psycopg.connect(database_url)
    try:
        holder.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'STX1' "
                       "FOR UPDATE")
        with psycopg.connect(database_url, autocommit=True) as caller:
            caller.execute(f"SET statement_timeout = '{timeout}'")
            with pytest.raises(psycopg.Error) as raised:
                caller.execute(BOOK, (f"st-{timeout}",))
            assert raised.value.sqlstate == sqlstate
            caller.execute("RESET statement_timeout")
            # nothing of the call remains: no booking, no credit spent
            assert caller.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings "
                                  "WHERE student_id = 'STS1'").fetchone()[0] == 0
            assert caller.execute("SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits "
                                  "WHERE student_id = 'STS1'").fetchone()[0] == 2
    finally:
        holder.rollback()
        holder.close()
