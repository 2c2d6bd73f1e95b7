"""The HubSpot side of legacy booking codes (README "Legacy booking codes"):
the adoption gives a repeated production code a new unique one (`<code>-R<n>`) and keeps the old
code in legacy_booking_id, but the row's HubSpot object (its hubspot_id) still carries the old
code. The push upserts bookings by booking_id, so without care the first push of such a row
would not find its object under the new code and would create a second HubSpot booking, leaving
the original one behind (Active, with the old code). The push renames the object by its id
first, so the upsert finds it."""

from __future__ import annotations

import push_helpers
import sandbox_fixtures
from push_helpers import book, bookings, calls, make_world, pending, query
from test_push import run_push

from glue.sandbox import BOOKINGS, Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def test_a_renamed_legacy_booking_updates_its_own_hubspot_object(
    push_db: str, sandbox: Sandbox
) -> None:
    world = make_world(push_db, sandbox, students=2)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    run_push(push_db, sandbox)
    before = {b["id"]: b for b in bookings(push_db)}
    renamed, plain = sorted(before.values(), key=lambda b: b["booking_id"])
    legacy_code = renamed["booking_id"]
    # as the adoption leaves a repeated production code: a new code, the old one kept, the
    # HubSpot id unchanged, never pushed by mockbook
    query(
        push_db,
        "UPDATE hubspot_sync.hubspot_bookings SET booking_id = booking_id || '-R2',"
        " legacy_booking_id = booking_id, hubspot_last_sync_at = NULL WHERE id = %s"
        " RETURNING id",
        [renamed["id"]],
    )
    query(
        push_db,
        "UPDATE hubspot_sync.hubspot_bookings SET name = 'changed' WHERE id = ANY(%s) RETURNING id",
        [[renamed["id"], plain["id"]]],
    )
    objects_before = len(sandbox.objects(BOOKINGS))
    run_push(push_db, sandbox)

    assert pending(push_db) == 0
    after = {b["id"]: b for b in bookings(push_db)}
    assert after[renamed["id"]]["hubspot_id"] == renamed["hubspot_id"]  # the same object
    assert after[plain["id"]]["hubspot_id"] == plain["hubspot_id"]
    assert len(sandbox.objects(BOOKINGS)) == objects_before  # no second HubSpot booking
    obj = sandbox.get(BOOKINGS, renamed["hubspot_id"])
    assert obj["properties"]["booking_id"] == f"{legacy_code}-R2"
    assert obj["properties"]["name"] == "changed"
    assert not any(o["properties"]["booking_id"] == legacy_code for o in sandbox.objects(BOOKINGS))
    # only the legacy row is renamed by id, in one call before the upsert
    [rename] = calls(sandbox, "/batch/update", BOOKINGS)
    assert [i["id"] for i in rename["json"]["inputs"]] == [renamed["hubspot_id"]]

    # a later push of the row (already renamed in HubSpot) goes on as any other booking
    query(
        push_db,
        "UPDATE hubspot_sync.hubspot_bookings SET name = 'again' WHERE id = %s RETURNING id",
        [renamed["id"]],
    )
    run_push(push_db, sandbox)
    assert len(sandbox.objects(BOOKINGS)) == objects_before
    assert sandbox.get(BOOKINGS, renamed["hubspot_id"])["properties"]["name"] == "again"


def test_a_renamed_legacy_booking_archived_in_hubspot_is_recreated(
    push_db: str, sandbox: Sandbox
) -> None:
    """The rename by id is refused for an object HubSpot archived (a 207 error): the upsert
    re-creates the booking under its new code, as for any archived booking."""
    world = make_world(push_db, sandbox, students=1)
    book(push_db, [(world.students[0], world.exams[0])])
    run_push(push_db, sandbox)
    [row] = bookings(push_db)
    sandbox.archive(BOOKINGS, row["hubspot_id"])
    query(
        push_db,
        "UPDATE hubspot_sync.hubspot_bookings SET booking_id = booking_id || '-R2',"
        " legacy_booking_id = booking_id, hubspot_last_sync_at = NULL WHERE id = %s"
        " RETURNING id",
        [row["id"]],
    )
    stats, _ = run_push(push_db, sandbox)
    assert stats.dead_lettered == 0 and pending(push_db) == 0
    [after] = bookings(push_db)
    live = [o for o in sandbox.objects(BOOKINGS) if not o["archived"]]
    assert [o["properties"]["booking_id"] for o in live] == [f"{row['booking_id']}-R2"]
    assert after["hubspot_id"] == live[0]["id"] != row["hubspot_id"]
