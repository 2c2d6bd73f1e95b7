"""Review of the audit notes (SPEC §6: notes associated to the booking AND the contact)."""

from __future__ import annotations

import psycopg
import push_helpers
import sandbox_fixtures
from pull_helpers import fast, hubspot, one, open_db, seed_account
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
