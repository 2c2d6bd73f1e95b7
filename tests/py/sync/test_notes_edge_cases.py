"""Edge cases of the audit notes."""

from __future__ import annotations

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import fast, hubspot, one, open_db, seed_account, seed_exams
from test_notes import associated

from glue.sandbox import BOOKINGS, CONTACTS, NOTES, Sandbox
from glue.sync.importer import run_import
from glue.sync.notes import push_audit_notes
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
clock = sandbox_fixtures.clock
push_db = push_helpers.push_db


def test_a_legacy_bookings_note_is_associated_to_its_contact(
    push_db: str, sandbox: Sandbox
) -> None:
    """A booking from before mockbook has no student_id: its contact is the one named by
    associated_contact_id (contact_id_of_booking, and the push associates it so). Its note must
    be associated to that contact too, not to the booking alone."""
    fast(sandbox)
    account = seed_account(sandbox, malformed=False)
    c1 = account["contacts"][0]
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        # as adopted from production: a row from before mockbook, without a student_id
        with psycopg.connect(push_db, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")  # no audit, no outbox
            conn.execute(
                "UPDATE hubspot_sync.hubspot_bookings SET student_id = NULL "
                "WHERE booking_id = 'BK-20310309-AAAAAA' AND associated_contact_id = %s",
                (c1,),
            )
        one(
            push_db,
            "SELECT hubspot_sync.cancel_booking(p_booking_id := 'BK-20310309-AAAAAA', "
            "p_actor := 'admin@school.ca')",
        )
        push(db, client, settings, linger=0)
        stats = push_audit_notes(db, client, settings, reader=reader)
    assert stats.created == 1, stats
    [note] = sandbox.objects(NOTES)
    assert note["properties"]["hs_note_body"].startswith("Booking BK-20310309-AAAAAA cancelled")
    booking_hs = sandbox.get_by(BOOKINGS, "booking_id", "BK-20310309-AAAAAA")["id"]
    assert associated(sandbox, note["id"]) == {BOOKINGS: booking_hs, CONTACTS: c1}


@pytest.mark.parametrize("pushed", [False, True], ids=["never-pushed", "pushed"])
def test_a_deleted_bookings_notes_are_written_not_left_pending(
    push_db: str, sandbox: Sandbox, pushed: bool
) -> None:
    """A booking deleted (by the DBA, or the demo removing its rows) before its audit rows
    became notes: claim_audit_notes found its HubSpot id only on the booking's row (gone) or on
    the audit row itself (NULL for the creation, written before any push), and returned only
    rows whose booking had a HubSpot id. So its rows, and the credit rows of its transaction,
    stayed pending for ever: never noted, never marked, re-read by every notes run.

    Now: a booking that reached HubSpot keeps its notes on it, the id read from any audit row of
    the booking (the push's write-back, the deletion); one that never reached HubSpot (deleted
    before its first push) is noted on its contact alone, which still carries the credit story.
    """
    fast(sandbox)
    account = seed_account(sandbox, malformed=False)
    [e3] = seed_exams(sandbox, [{"exam_date": "2031-04-01"}])
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        booked = one(
            push_db,
            "SELECT hubspot_sync.create_booking(p_student_id := 'IMP1',"
            " p_email := 'imp1@example.com', p_mock_exam_id := %s,"
            " p_idempotency_key := 'deleted-key', p_dominant_hand := 'left')",
            (e3,),
        )
        code = booked["booking_id"]
        booking_hs = None
        if pushed:
            push(db, client, settings, linger=0)
            booking_hs = sandbox.get_by(BOOKINGS, "booking_id", code)["id"]
        with psycopg.connect(push_db, autocommit=True) as owner:  # the DBA
            owner.execute(
                "DELETE FROM hubspot_sync.hubspot_bookings WHERE id = %s", (booked["id"],)
            )
        push(db, client, settings, linger=0)
        stats = push_audit_notes(db, client, settings, reader=reader)
        again = push_audit_notes(db, client, settings, reader=reader)

    left = one(
        push_db,
        "SELECT count(*) FROM hubspot_sync.supabase_audit_log WHERE synced_to_hubspot_at IS NULL",
    )
    assert left == 0, f"{left} audit row(s) left pending; notes run: {stats}"
    assert (stats.created, stats.failed, again.created) == (2, None, 0), stats
    who = one(push_db, "SELECT current_user")
    bodies = sorted(n["properties"]["hs_note_body"] for n in sandbox.objects(NOTES))
    assert bodies == sorted(
        [
            f"Booking {code} created by {who} for Clinical Skills on 2031-04-01; "
            "1 Clinical Skills credit used",
            f"Booking {code} deleted by {who}",
        ]
    )
    imp1 = account["contacts"][0]
    for note in sandbox.objects(NOTES):
        links = associated(sandbox, note["id"])
        assert links.get(CONTACTS) == imp1, links
        if not pushed:
            assert links == {CONTACTS: imp1}
        else:  # the booking was archived in HubSpot by the push of its deletion
            assert links.get(BOOKINGS) in (None, booking_hs), links


def test_a_note_whose_association_failed_counts_as_failed_until_it_lands(
    push_db: str, sandbox: Sandbox
) -> None:
    """A note is created, then associated with its booking and contact. An association HubSpot
    refuses (OBJECT_NOT_FOUND: the booking deleted in HubSpot meanwhile) was once dropped, the
    note counted as written without it (1,091 notes left unassociated, status ok). It is now
    failed (the step partial), tried again on each run, and counted until it lands."""
    fast(sandbox)
    account = seed_account(sandbox, malformed=False)
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        push_audit_notes(db, client, settings, reader=reader)  # the import's own rows
        one(push_db, "SELECT hubspot_sync.cancel_booking(p_booking_id := 'BK-20310309-AAAAAA', "
                     "p_actor := 'admin@school.ca')")
        push(db, client, settings, linger=0)
        booking = sandbox.get_by(BOOKINGS, "booking_id", "BK-20310309-AAAAAA")
        record = sandbox.store.get(sandbox.api.type_of(BOOKINGS), booking["id"])
        record.archived = True  # deleted in HubSpot between the push and the note
        first = push_audit_notes(db, client, settings, reader=reader)
        assert first.created == 1 and first.unassociated == 1
        [note] = sandbox.objects(NOTES)
        assert BOOKINGS not in associated(sandbox, note["id"])
        again = push_audit_notes(db, client, settings, reader=reader)
        assert again.created == 0 and again.unassociated == 1  # still counted as failed
        record.archived = False  # restored in HubSpot (its recycle bin keeps the id)
        landed = push_audit_notes(db, client, settings, reader=reader)
    assert landed.unassociated == 0
    assert associated(sandbox, note["id"]) == {
        BOOKINGS: booking["id"], CONTACTS: account["contacts"][0]}
