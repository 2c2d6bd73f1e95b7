"""The push against the HubSpot sandbox, conformance-checked: bookings upserted once by
booking code with their properties and associations, HubSpot ids written back in the transaction
that completes the outbox rows, coalescing, 100 inputs per call, contacts' credits (by id, or
matched by email), exams' total_bookings, and push --all / --exam."""

from __future__ import annotations

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from push_helpers import (
    book,
    bookings,
    calls,
    client_for,
    contacts,
    hubspot_bookings,
    make_world,
    pending,
    query,
    settings_for,
)

from glue.config import PushSettings
from glue.db.database import Database
from glue.hubspot.catalogue import hubspot_date
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.push import Pusher, push

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

CREDITS = (
    "sj_credits",
    "cs_credits",
    "sjmini_credits",
    "mock_discussion_token",
    "shared_mock_credits",
)


def run_push(url: str, sb: Sandbox, **options) -> tuple:
    settings = settings_for(url, sb)
    client = client_for(settings)
    with Database(url) as db:
        stats = push(db, client, settings, linger=0, **options)
    return stats, client


def test_bookings_reach_hubspot_once_with_properties_and_associations(
    push_db: str, sandbox: Sandbox
) -> None:
    world = make_world(push_db, sandbox, students=5)
    exam = world.exams[0]
    book(push_db, [(s, exam) for s in world.students])
    stats, client = run_push(push_db, sandbox)

    assert stats.dead_lettered == 0 and stats.retried == 0
    assert pending(push_db) == 0
    remote = hubspot_bookings(sandbox)
    local = bookings(push_db)
    assert sorted(remote) == sorted(b["booking_id"] for b in local) and len(local) == 5
    exam_row = query(push_db, "SELECT * FROM hubspot_sync.hubspot_mock_exams")[0]
    for b in local:
        obj = remote[b["booking_id"]]
        assert b["hubspot_id"] == obj["id"]  # written back
        assert b["hubspot_last_sync_at"] is not None
        props = obj["properties"]
        contact_id = world.contact_ids[b["student_id"]]
        assert props["is_active"] == "Active"
        assert props["token_used"] == "Situational Judgment Token"
        assert props["idempotency_key"] == b["idempotency_key"]
        assert props["mock_type"] == "Situational Judgment"
        # sent as midnight UTC in epoch ms, read back as HubSpot returns a date property
        assert hubspot_date(exam_row["exam_date"]).isdigit()
        assert props["exam_date"] == exam_row["exam_date"].isoformat()
        assert props["start_time"] == "09:00" and props["end_time"] == "12:00"
        assert props["associated_mock_exam"] == exam
        assert props["associated_contact_id"] == contact_id
        assert props["student_id"] == b["student_id"]
        assert props["email"] == b["student_email"]
        assert props["attending_location"] == "mississauga"
        assert props["dominant_hand"] == "" and props["attendance"] == ""
        linked = {(a["to_type"], a["to_id"]) for a in sandbox.associations(BOOKINGS, obj["id"])}
        assert linked == {(CONTACTS, contact_id), (EXAMS, exam)}
    # The exam's total and each contact's credits are in HubSpot too.
    assert sandbox.get(EXAMS, exam)["properties"]["total_bookings"] == "5"
    synced = {
        r["contact_id"]: r for r in query(push_db, "SELECT * FROM hubspot_sync.contact_credit_sync")
    }
    for c in contacts(push_db):
        props = sandbox.get(CONTACTS, c["hubspot_id"])["properties"]
        assert {k: props[k] for k in CREDITS} == {k: str(c[k]) for k in CREDITS}
        assert c["sj_credits"] == 2
        # The credit merge knows what HubSpot now holds (what the push sent).
        assert synced[c["id"]]["credits"] == {k: c[k] for k in CREDITS}
        assert synced[c["id"]]["pushing"] is None
    # Calls: contacts update, bookings upsert, two association batches, exam update.
    assert len(calls(sandbox, "/batch/upsert", BOOKINGS)) == 1
    assert len(calls(sandbox, "/batch/associate/default")) == 2
    assert client.stats.calls == len(sandbox.requests)
    # The run is recorded for sync_health.
    health = query(push_db, "SELECT * FROM hubspot_sync.sync_health")[0]
    assert health["last_push_at"] is not None and health["pending"] == 0

    # A second push has nothing to do and sends nothing.
    before = len(sandbox.requests)
    stats, _ = run_push(push_db, sandbox)
    assert stats.sent == 0
    # only the reads of the preflight's portal check (glue.hubspot.setup: schemas, props, labels)
    assert [r["method"] for r in sandbox.requests[before:]] == ["GET"] * 8


def test_many_changes_of_one_booking_are_one_input_of_its_current_state(
    push_db: str, sandbox: Sandbox
) -> None:
    world = make_world(push_db, sandbox, students=1)
    [result] = book(push_db, [(world.students[0], world.exams[0])])
    with Database(push_db) as db, db.pool.connection() as conn:
        for i in range(9):
            conn.execute(
                "UPDATE hubspot_sync.hubspot_bookings SET name = %s WHERE id = %s",
                (f"name {i}", result["id"]),
            )
    queued = query(
        push_db,
        "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE table_name = 'hubspot_bookings'",
    )[0]["n"]
    assert queued == 10
    run_push(push_db, sandbox)
    [upsert] = calls(sandbox, "/batch/upsert", BOOKINGS)
    assert len(upsert["json"]["inputs"]) == 1
    assert upsert["json"]["inputs"][0]["properties"]["name"] == "name 8"
    assert upsert["json"]["inputs"][0]["objectWriteTraceId"] == str(result["id"])
    assert hubspot_bookings(sandbox)[result["booking_id"]]["properties"]["name"] == "name 8"
    assert pending(push_db) == 0


def test_250_bookings_take_three_upserts_of_at_most_100(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=250)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    stats, client = run_push(push_db, sandbox)
    upserts = calls(sandbox, "/batch/upsert", BOOKINGS)
    assert sorted(len(r["json"]["inputs"]) for r in upserts) == [50, 100, 100]
    assert all(
        len(r["json"]["inputs"]) <= 100
        for r in sandbox.requests
        if r["json"] and "inputs" in r["json"] and "/crm/v3/" in r["path"]
    )
    assert len(hubspot_bookings(sandbox)) == 250
    assert stats.sent == 250 + 250 + 1 and pending(push_db) == 0
    assert sandbox.get(EXAMS, world.exams[0])["properties"]["total_bookings"] == "250"
    # 3 upserts + 5 contact reads (the credit merge before writing: a read with history takes
    # at most 50, glue.hubspot.client.MAX_HISTORY_BATCH) + 3 contact updates + 2 association
    # batches (one per target type, for all 250) + 1 exam update + the 8 reads of the start-up
    # portal check (glue.hubspot.setup)
    assert client.stats.calls == 14 + 8
    history_reads = [
        len(r["json"]["inputs"])
        for r in calls(sandbox, "/batch/read", CONTACTS)
        if r["json"].get("propertiesWithHistory")
    ]
    assert history_reads == [50] * 5
    assert [len(r["json"]["inputs"]) for r in calls(sandbox, "/batch/associate/default")] == [
        250,
        250,
    ]
    assert all(b["hubspot_id"] for b in bookings(push_db))


def test_contacts_without_hubspot_id_are_matched_by_email(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=3, without_hubspot_id=2)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    stats, _ = run_push(push_db, sandbox)
    assert stats.dead_lettered == 0 and pending(push_db) == 0
    by_student = {c["student_id"]: c for c in contacts(push_db)}
    for sid in world.students:
        assert by_student[sid]["hubspot_id"] == world.contact_ids[sid]  # id written back
        remote = sandbox.get(CONTACTS, world.contact_ids[sid])["properties"]
        assert remote["sj_credits"] == "2"
    assert len(sandbox.objects(CONTACTS)) == 3  # matched, none created
    for b in bookings(push_db):
        linked = {a["to_id"] for a in sandbox.associations(BOOKINGS, b["hubspot_id"])}
        assert world.contact_ids[b["student_id"]] in linked


def test_a_contact_unknown_to_hubspot_is_created_by_email(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=1, without_hubspot_id=1, in_hubspot=False)
    book(push_db, [(world.students[0], world.exams[0])])
    stats, _ = run_push(push_db, sandbox)
    assert stats.dead_lettered == 0
    [c] = contacts(push_db)
    remote = sandbox.get(CONTACTS, c["hubspot_id"])
    assert remote["properties"]["email"] == c["email"]
    assert remote["properties"]["sj_credits"] == "2"


def test_status_changes_do_not_repeat_associations(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=2)
    results = book(push_db, [(s, world.exams[0]) for s in world.students])
    run_push(push_db, sandbox)
    first = len(calls(sandbox, "/batch/associate/default"))
    with Database(push_db) as db, db.pool.connection() as conn:
        conn.execute(
            "SELECT hubspot_sync.cancel_booking(p_booking_id := %s)", (results[0]["booking_id"],)
        )
    stats, _ = run_push(push_db, sandbox)
    assert stats.by_table["hubspot_bookings"] == 1
    assert len(calls(sandbox, "/batch/associate/default")) == first
    remote = hubspot_bookings(sandbox)[results[0]["booking_id"]]
    assert remote["properties"]["is_active"] == "Cancelled"
    assert sandbox.get(EXAMS, world.exams[0])["properties"]["total_bookings"] == "1"
    assert (
        sandbox.get(CONTACTS, world.contact_ids[world.students[0]])["properties"]["sj_credits"]
        == "3"
    )


def test_push_all_and_exam_requeue_and_repair_hubspot(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=4, exams=2)
    book(push_db, [(s, world.exams[i % 2]) for i, s in enumerate(world.students)])
    run_push(push_db, sandbox)
    # Someone edits HubSpot behind our back; a full push puts the database's state back.
    codes = [b["booking_id"] for b in bookings(push_db)]
    for code in codes:
        sandbox.touch(BOOKINGS, hubspot_bookings(sandbox)[code]["id"], is_active="Failed")
    stats, _ = run_push(push_db, sandbox, requeue=True)
    assert stats.requeued == 4 + 4 + 2  # bookings, contacts, exams
    assert stats.sent == 10 and pending(push_db) == 0
    assert {o["properties"]["is_active"] for o in hubspot_bookings(sandbox).values()} == {"Active"}
    assert len(hubspot_bookings(sandbox)) == 4  # upserted: still one per code

    # --exam: that exam, its two bookings and their two contacts.
    before = len(calls(sandbox, "/batch/upsert", BOOKINGS))
    stats, _ = run_push(push_db, sandbox, exam=world.exams[0])
    assert stats.requeued == 1 + 2 + 2 and stats.sent == 5
    [upsert] = calls(sandbox, "/batch/upsert", BOOKINGS)[before:]
    assert {i["properties"]["associated_mock_exam"] for i in upsert["json"]["inputs"]} == {
        world.exams[0]
    }


def test_pusher_batches_are_bounded_by_max_batches(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=6)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        pusher = Pusher(
            db, client_for(settings), settings, push_settings=PushSettings(batch_size=4)
        )
        stats = pusher.run(max_batches=2, linger=0)
        assert stats.batches == 2
        assert pending(push_db) > 0
        stats = pusher.run(linger=0)
    assert pending(push_db) == 0
    assert len(hubspot_bookings(sandbox)) == 6


@pytest.mark.parametrize("without_hubspot_id", [0, 1], ids=["by_id", "by_email"])
def test_a_contact_held_while_its_credits_are_recorded_is_given_back_unsent(
    push_db: str, sandbox: Sandbox, without_hubspot_id: int
) -> None:
    """record_credit_push writes the credit merge's bookkeeping (contact_credit_sync) under the
    contacts' row locks (docs/rpc.md "Lock order"), each waited for at most
    mockbook.lock_timeout: a contact another transaction holds past it is BUSY. The push then
    gives that contact's row back uncounted and sends none of its credits (values sent but not
    recorded could later be read as an admin's change in HubSpot), whether it updates the
    contact by id or upserts it by email; the next push sends it."""
    world = make_world(
        push_db, sandbox, students=1, credits=3, without_hubspot_id=without_hubspot_id
    )
    [sid] = world.students
    with psycopg.connect(push_db, autocommit=True) as conn:
        conn.execute(
            "SELECT hubspot_sync.adjust_credits(p_student_id := %s, p_credit_field := "
            "'sj_credits', p_delta := -1, p_reason := 'test', p_actor := 'admin:test')",
            (sid,),
        )
        conn.execute(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET mockbook.lock_timeout = %L',"
            " current_database(), '100ms'); END $$"
        )
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        real_record = db.record_credit_push
        busy: list[BaseException] = []

        def record(credits: dict, *, sent: bool) -> int:
            with psycopg.connect(push_db) as holder:  # the contact's row held across the call
                holder.execute(
                    "SELECT 1 FROM hubspot_sync.hubspot_contact_credits"
                    " WHERE student_id = %s FOR UPDATE",
                    (sid,),
                )
                try:
                    return real_record(credits, sent=sent)
                except psycopg.Error as exc:
                    busy.append(exc)
                    raise

        db.record_credit_push = record  # type: ignore[method-assign]
        stats = Pusher(db, client_for(settings), settings).run(linger=0)
    assert [e.sqlstate for e in busy] == ["PT503"]
    assert stats.dead_lettered == 0
    rows = query(
        push_db,
        "SELECT table_name, attempts, last_error, lease_owner FROM hubspot_sync.sync_queue"
        " WHERE done_at IS NULL AND dead_at IS NULL",
    )
    assert rows  # the contact's rows, given back uncounted
    for row in rows:
        assert row["table_name"] == "hubspot_contact_credits"
        assert row["attempts"] == 0 and row["lease_owner"] is None
        assert row["last_error"].startswith("BUSY")
    assert sandbox.get(CONTACTS, world.contact_ids[sid])["properties"].get("sj_credits") != "2"

    with psycopg.connect(push_db, autocommit=True) as conn:  # due now, not after the backoff
        conn.execute("UPDATE hubspot_sync.sync_queue SET next_attempt_at = now()")
    stats, _ = run_push(push_db, sandbox)  # nothing held now
    assert stats.dead_lettered == 0 and pending(push_db) == 0
    assert sandbox.get(CONTACTS, world.contact_ids[sid])["properties"]["sj_credits"] == "2"
