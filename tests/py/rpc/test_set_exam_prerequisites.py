"""set_exam_prerequisites: an exam id at and past its limit, before the idempotency key, and an
exam stored without a list.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from booking_calls import new_exam
from postgrest import RpcError
from test_who_acts import call


@pytest.mark.parametrize("length", [255, 256])
def test_set_exam_prerequisites_checks_a_256_character_exam_id_before_the_key(
        db: psycopg.Connection, length: int) -> None:
    """docs/rpc.md, Errors: text arguments take at most 255 characters, checked before the
    idempotency key: one past it is INVALID_ARGUMENT naming the argument, even under a key used
    for another call; within the limit that key's own answer."""
    key = f"edge-{uuid.uuid4()}"
    call(db, "set_exam_prerequisites", None,
         {"p_exam_id": new_exam(db), "p_prerequisite_ids": [], "p_idempotency_key": key})
    with pytest.raises(RpcError) as refused:
        call(db, "set_exam_prerequisites", None,
             {"p_exam_id": "X" * length, "p_prerequisite_ids": [], "p_idempotency_key": key})
    if length > 255:
        assert refused.value.code == "INVALID_ARGUMENT"
        assert "p_exam_id" in refused.value.detail
    else:
        assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_prerequisites_are_set_on_an_exam_whose_id_has_255_characters(
        db: psycopg.Connection) -> None:
    """An exam id takes up to 255 characters in every function that writes prerequisites."""
    exam, first = new_exam(db), new_exam(db, day=5)
    long_id = "x" * 255
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET hubspot_id = %s WHERE hubspot_id = %s",
               (long_id, exam))
    done = call(db, "set_exam_prerequisites", None, {"p_exam_id": long_id,
                                                     "p_prerequisite_ids": [first]})
    assert done["prerequisite_exam_ids"] == [first]


def test_prerequisites_set_on_an_exam_whose_list_is_null(db: psycopg.Connection) -> None:
    """An adopted exam may hold NULL for its prerequisites: the change reads it as none."""
    exam, first = new_exam(db), new_exam(db, day=5)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET prerequisite_exam_ids = NULL"
               " WHERE hubspot_id = %s", (exam,))
    done = call(db, "set_exam_prerequisites", None, {"p_exam_id": exam,
                                                     "p_prerequisite_ids": [first]})
    assert (done["previous_prerequisite_exam_ids"], done["previous_count"],
            done["added_count"], done["removed_count"]) == ([], 0, 1, 0)
