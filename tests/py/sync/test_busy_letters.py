"""A pull dead letter BUSY (the contact was being pushed through the pull's retries) is not a
problem for a person: the next pass reads the record again by id and closes it, including when
the record is gone from HubSpot meanwhile (deleted or merged away: nothing is left to apply), so
that none is left open once the outbox has drained."""

from __future__ import annotations

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import book, fast, hubspot, one, open_db, q, seed_contacts, seed_exams

from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sync.pull import pull

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def _open_busy(url: str) -> list[str]:
    return [r["entity_id"] for r in q(
        url, "SELECT entity_id FROM hubspot_sync.sync_errors WHERE direction = 'pull' "
             "AND NOT resolved AND error LIKE 'BUSY:%%' ORDER BY entity_id")]


def _lease(url: str, student_id: str, *, held: bool) -> None:
    """The contact's outbox row under a live lease (a push sending it), or done (drained)."""
    one(url, "UPDATE hubspot_sync.sync_queue AS s SET "
             "lease_owner = CASE WHEN %(h)s THEN 'a-push' END, "
             "lease_expires_at = CASE WHEN %(h)s THEN now() + interval '10 minutes' END, "
             "done_at = CASE WHEN %(h)s THEN NULL ELSE now() END "
             "FROM hubspot_sync.hubspot_contact_credits AS c "
             "WHERE s.table_name = 'hubspot_contact_credits' AND s.record_id = c.id "
             "AND c.student_id = %(s)s RETURNING 1", {"h": held, "s": student_id})


@pytest.mark.parametrize("gone", [False, True], ids=["still-there", "deleted-in-hubspot"])
def test_a_busy_letter_is_closed_by_the_next_pass(
    push_db: str, sandbox: Sandbox, gone: bool
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "10"}])
    [contact_id] = seed_contacts(sandbox, [{"student_id": "BUSY1", "cs_credits": "3"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        book(push_db, "BUSY1", exam_id)
        _lease(push_db, "BUSY1", held=True)
        sandbox.touch(CONTACTS, contact_id, cs_credits="5")  # an admin's edit meanwhile
        stats = pull(db, client, settings, reader=reader)
        assert [e["id"] for e in stats.targets["contacts"].errors] == [contact_id]
        assert _open_busy(push_db) == [contact_id]
        _lease(push_db, "BUSY1", held=False)  # the push wrote back: the outbox drained
        if gone:
            sandbox.archive(CONTACTS, contact_id)
        stats = pull(db, client, settings, reader=reader)
    assert _open_busy(push_db) == [], stats.as_dict()
    if not gone:  # applied: the admin's +2 merged over the booking's deduction
        assert one(push_db, "SELECT cs_credits FROM hubspot_sync.hubspot_contact_credits "
                            "WHERE student_id = 'BUSY1'") == 3 - 1 + 2


@pytest.mark.parametrize("later", ["applied", "older-than-applied"])
def test_a_record_locked_through_a_pass_is_busy_and_settled_by_a_later_pass(
    push_db: str, sandbox: Sandbox, later: str
) -> None:
    """Another transaction holds the exam's row through a whole pass (a real second connection):
    the pass answers BUSY and files the letter. Once the row is free, a later pass reads the
    exam again and closes the letter, whether it applies the read or finds it older than what
    was applied meanwhile (a read served behind a newer one: nothing of it is applied)."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "10"}])
    with psycopg.connect(push_db, autocommit=True) as conn:  # a lock wait ends soon
        conn.execute(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET mockbook.lock_timeout = %L',"
            " current_database(), '100ms'); END $$"
        )
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.touch(EXAMS, exam_id, capacity="12")
        with psycopg.connect(push_db) as holder:  # the row held until the block ends
            holder.execute(
                "SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s FOR UPDATE",
                (exam_id,),
            )
            stats = pull(db, client, settings, reader=reader)
        assert [e["id"] for e in stats.targets["exams"].errors] == [exam_id]
        assert _open_busy(push_db) == [exam_id]
        if later == "older-than-applied":
            one(push_db, "UPDATE hubspot_sync.exam_hubspot_sync AS s "
                         "SET hubspot_modified_at = now() + interval '1 day' "
                         "FROM hubspot_sync.hubspot_mock_exams AS e "
                         "WHERE s.exam_id = e.id AND e.hubspot_id = %s RETURNING 1", (exam_id,))
        stats = pull(db, client, settings, reader=reader)
    assert _open_busy(push_db) == [], stats.as_dict()
    capacity = one(push_db, "SELECT capacity FROM hubspot_sync.hubspot_mock_exams "
                            "WHERE hubspot_id = %s", (exam_id,))
    assert capacity == (12 if later == "applied" else 10)
