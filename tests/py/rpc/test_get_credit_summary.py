"""get_credit_summary, and the one order of the credit fields it lists
(mockbook_internal.credit_fields).
"""

from __future__ import annotations

import psycopg
from booking_calls import one
from postgrest import rpc_rows


def test_a_balance_stored_as_null_is_zero(db: psycopg.Connection) -> None:
    """Production's credit columns may hold NULL: the summary shows 0 for each, and nothing
    usable."""
    student = one(db, "SELECT tests.make_student()")
    db.execute("UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = NULL,"
               " cs_credits = NULL, sjmini_credits = NULL, mock_discussion_token = NULL,"
               " shared_mock_credits = NULL WHERE student_id = %s", (student,))
    [row] = rpc_rows(db, "get_credit_summary", p_student_id=student,
                     p_email=one(db, "SELECT tests.email_of(%s)", (student,)))
    assert [row[k] for k in ("sj_credits", "cs_credits", "sjmini_credits",
                             "mock_discussion_token", "shared_mock_credits")] == [0] * 5
    assert set(row["available"].values()) == {0}


def test_the_credit_fields_have_one_order(db: psycopg.Connection) -> None:
    assert db.execute("SELECT credit_field, position FROM mockbook_internal.credit_fields()"
                      " ORDER BY position").fetchall() == [
        ("sj_credits", 1), ("cs_credits", 2), ("sjmini_credits", 3),
        ("mock_discussion_token", 4), ("shared_mock_credits", 5)]
