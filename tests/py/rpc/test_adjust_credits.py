"""adjust_credits (and mockbook_internal.apply_credit_delta, which it writes through): the delta's
bounds, a field named NULL, and a balance stored as NULL.
"""

from __future__ import annotations

import psycopg
import pytest
from booking_calls import one
from postgrest import RpcError, rpc
from test_who_acts import balance, call


@pytest.mark.parametrize("field", ["sj_credits", "cs_credits", "sjmini_credits",
                                   "mock_discussion_token", "shared_mock_credits"])
def test_a_change_to_a_balance_stored_as_null_counts_from_zero(db: psycopg.Connection,
                                                               field: str) -> None:
    """apply_credit_delta reads a NULL balance as 0, for every field: +2 makes it 2, and the
    ledger row says 2."""
    student = one(db, "SELECT tests.make_student()")
    db.execute(f"UPDATE hubspot_sync.hubspot_contact_credits SET {field} = NULL"
               " WHERE student_id = %s", (student,))
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field=field, p_delta=2,
        p_reason="goodwill", p_actor="test")
    assert one(db, f"SELECT {field} FROM hubspot_sync.hubspot_contact_credits"
                   " WHERE student_id = %s", (student,)) == 2
    assert one(db, "SELECT balance_after FROM hubspot_sync.credit_ledger WHERE student_id = %s"
                   " AND credit_field = %s ORDER BY created_at DESC LIMIT 1",
               (student, field)) == 2


@pytest.mark.parametrize("delta", [0, None, 1001, -1001])
def test_a_delta_adjust_credits_cannot_take_is_refused_naming_its_bounds(
        db: psycopg.Connection, delta: int | None) -> None:
    """A zero, missing or out-of-range delta is refused by adjust_credits' own argument check,
    which names the argument and its bounds, before anything reads or writes a balance."""
    student = one(db, "SELECT tests.make_student()")
    ledger = one(db, "SELECT count(*) FROM hubspot_sync.credit_ledger")
    with pytest.raises(RpcError) as refused:
        rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits",
            p_delta=delta, p_reason="goodwill", p_actor="test")
    assert refused.value.code == "INVALID_ARGUMENT"
    assert refused.value.detail == ("p_delta must be a non-zero integer between -1000 and 1000,"
                                    f" not {'NULL' if delta is None else delta}.")
    assert one(db, "SELECT count(*) FROM hubspot_sync.credit_ledger") == ledger


def test_a_missing_credit_field_is_named_null(db: psycopg.Connection) -> None:
    student = one(db, "SELECT tests.make_student()")
    with pytest.raises(RpcError) as refused:
        call(db, "adjust_credits", None, {"p_student_id": student, "p_credit_field": None,
                                          "p_delta": 1, "p_reason": "r", "p_actor": "ops"})
    assert refused.value.code == "INVALID_ARGUMENT"
    assert refused.value.detail.startswith("p_credit_field NULL is not one of ")


@pytest.mark.parametrize("delta", [1000, -1000])
def test_adjust_credits_takes_a_delta_at_either_bound(db: psycopg.Connection,
                                                      delta: int) -> None:
    """docs/rpc.md: p_delta between -1000 and 1000, both included."""
    student = one(db, "SELECT tests.make_student(p_sj := 1000)")
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits", p_delta=delta,
        p_reason="goodwill", p_actor="test")
    assert balance(db, student) == 1000 + delta
    assert one(db, "SELECT delta FROM hubspot_sync.credit_ledger WHERE student_id = %s",
               (student,)) == delta
