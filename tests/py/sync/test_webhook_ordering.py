"""Webhook intake ("Changes made in HubSpot reach Postgres in seconds"): the
intake and the processor against HubSpot's documented webhook behaviour and against the pull
and the booking functions running beside them. Each test proves one behaviour.

HubSpot documents that webhook deliveries come in no guaranteed order
(https://developers.hubspot.com/docs/api/webhooks): the processor re-reads each object, but a
read can still be applied after a newer one (a read held through the BUSY retries while a
booking holds the contact, a second processor, the pull's search page applied beside it).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
import urllib3
from invariants import check_invariants, snapshot
from psycopg.types.json import Jsonb
from pull_helpers import contact, exam, fast, hubspot, ledger, one, seed_contacts, seed_exams
from test_concurrency import (
    book,
    connection_budget,
    email,
    make_students,
    run_concurrently,
    undocumented,
)
from test_lock_order import Call, connect, waiting_on_lock

from glue.db.database import Database
from glue.hubspot.reads import HubSpotReader
from glue.sandbox import CONTACTS, Sandbox
from glue.sync.pull import pull, targets
from glue.sync.webhook_apply import WebhookProcessor
from glue.sync.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EventStore,
    HttpServer,
    WebhookConfig,
    build_app,
    sign_v3,
)

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
SECRET = "client-secret-for-review"
MAX_BODY_BYTES = 1024 * 1024  # the intake's documented limit (README, docs/operations.md)
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=10))


def intake_event(event_id: int, object_id: str, **extra: Any) -> dict:
    return {
        "eventId": event_id,
        "subscriptionId": 5,
        "portalId": 4242424,
        "appId": 1,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "object.propertyChange",
        "objectTypeId": "2-50158939",
        "attemptNumber": 0,
        "objectId": int(object_id),
        "propertyName": "capacity",
    } | extra


def post(url: str, body: bytes, *, signed_url: str | None = None) -> urllib3.BaseHTTPResponse:
    """A delivery signed as HubSpot signs it (v3), for ``signed_url`` (default: ``url``)."""
    ts = str(int(time.time() * 1000))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_v3(SECRET, "POST", signed_url or url, body, ts),
        TIMESTAMP_HEADER: ts,
    }
    return HTTP.request("POST", url, body=body, headers=headers)


class LateReader:
    """A reader whose next batch read answers what HubSpot held earlier (``held``): a read
    made before the pull's, applied after it."""

    def __init__(self, reader: HubSpotReader, held: list[dict[str, Any]]) -> None:
        self.reader = reader
        self.held: list[dict[str, Any]] | None = held

    def read(self, object_type: str, ids: Sequence[str], **kwargs: Any) -> list[dict[str, Any]]:
        if self.held is not None and not kwargs.get("history"):
            held, self.held = self.held, None
            return held
        return self.reader.read(object_type, ids, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)


def contact_event(event_id: int, object_id: str, prop: str, value: str, at_ms: int) -> dict:
    return {
        "eventId": event_id,
        "subscriptionId": 7,
        "portalId": 4242424,
        "appId": 1,
        "occurredAt": at_ms,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": int(object_id),
        "propertyName": prop,
        "propertyValue": value,
    }


def test_an_older_read_applied_after_a_newer_one_never_reverts_credits(
    push_db: str, sandbox: Sandbox
) -> None:
    """An admin sets a student's sj_credits 5 -> 8, then 8 -> 6 (took two back). The webhook
    processor read the contact between the edits (8) but applies that read after the pull
    applied the newer state (6). the sync design: a credit change from HubSpot is merged as a delta
    against the last synced value; a read older than the one the base came from is not a
    change. Before the fix the old read was merged as +2: the student could book with two
    credits the admin had taken away (local 8 while HubSpot says 6), until a later pull."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [cid] = seed_contacts(sandbox, [{"student_id": "WR001", "sj_credits": "5"}])
    ot = sandbox.api.type_of(CONTACTS)
    with Database(push_db) as db:
        pull(db, client, settings, reader=reader)
        assert contact(push_db, "WR001")["sj_credits"] == 5
        base_ms = sandbox.store.get(ot, cid).updated_ms
        sandbox.store.update(
            ot, sandbox.store.get(ot, cid), {"sj_credits": "8"}, at_ms=base_ms + 1000
        )
        held = reader.read(CONTACTS, [cid], properties=targets(settings)["contacts"].properties)
        assert held[0]["properties"]["sj_credits"] == "8"
        sandbox.store.update(
            ot, sandbox.store.get(ot, cid), {"sj_credits": "6"}, at_ms=base_ms + 2000
        )
        EventStore(db).store([contact_event(1, cid, "sj_credits", "8", base_ms + 1000)])
        pull(db, client, settings, reader=reader)  # the newer state first
        assert contact(push_db, "WR001")["sj_credits"] == 6
        before = ledger(push_db, "WR001")

        processor = WebhookProcessor(db, LateReader(reader, held), settings)  # type: ignore[arg-type]
        stats = processor.process_once()
        assert stats.events == 1 and stats.error is None

        assert contact(push_db, "WR001")["sj_credits"] == 6, (
            "an older read of the contact was merged over a newer one"
        )
        assert ledger(push_db, "WR001") == before, "no ledger row for a stale read"
        # and the next change is merged against the right base
        sandbox.store.update(
            ot, sandbox.store.get(ot, cid), {"sj_credits": "7"}, at_ms=base_ms + 3000
        )
        EventStore(db).store([contact_event(2, cid, "sj_credits", "7", base_ms + 3000)])
        assert processor.process_once().events == 1
        assert contact(push_db, "WR001")["sj_credits"] == 7


# ---- the intake: an over-sized body ---------------------------------------------------------
def test_an_over_sized_delivery_is_refused_with_413_and_nothing_is_stored(push_db: str) -> None:
    """HubSpot sends at most 100 events per request (https://developers.hubspot.com/docs/api/webhooks),
    a few tens of kB (docs/operations.md sizes the proxy's client_max_body_size at 1m). The
    intake read any body whole into memory before looking at it: a sender, signed or not, could
    make it buffer gigabytes, and a signed 2 MiB delivery was stored. Now a body over
    1 MiB is answered 413 with a clear message, declared (Content-Length) or
    streamed (chunked), and nothing is stored."""
    db = Database(push_db)
    server = HttpServer(build_app(WebhookConfig(secret=SECRET), EventStore(db).store))
    port = server.start()
    url = f"http://127.0.0.1:{port}/webhooks/hubspot"
    try:
        huge = [intake_event(1, "901", propertyValue="x" * (MAX_BODY_BYTES + 10))]
        declared = post(url, json.dumps(huge).encode())
        assert declared.status == 413, declared.data[:200]
        assert "1048576" in declared.json()["message"]

        def chunks() -> Iterator[bytes]:
            body = json.dumps([intake_event(2, "902", propertyValue="y" * MAX_BODY_BYTES)])
            for start in range(0, len(body), 64 * 1024):
                yield body[start : start + 64 * 1024].encode()

        streamed = HTTP.request(
            "POST", url, body=chunks(), chunked=True, headers={"Content-Type": "application/json"}
        )
        assert streamed.status == 413, streamed.data[:200]
        assert one(push_db, "SELECT count(*) FROM hubspot_sync.webhook_events") == 0
        # a full delivery of 100 ordinary events is well under the limit
        ok = post(
            url, json.dumps([intake_event(10 + i, str(1000 + i)) for i in range(100)]).encode()
        )
        assert ok.status == 200 and ok.json()["stored"] == 100
    finally:
        server.stop()
        db.close()


# ---- a webhook for a contact a booking holds ---------------------------------------------------
def test_a_change_for_a_contact_a_booking_holds_is_applied_by_the_processor_not_left_to_the_pull(
    push_db: str, sandbox: Sandbox
) -> None:
    """A booking in flight holds the student's contact row (docs/rpc.md, Lock order) while an
    admin's credit change for that student arrives by webhook. apply_pulled_contacts never
    waits for the row (BUSY -> retry); the processor's apply tried three times, then marked the
    event processed and left the change to the next pull (a dead letter read again by id):
    a minute in the worker, the next cron cycle otherwise, instead of "in seconds".
    Now the event stays pending with the BUSY error and is applied by the processor's own
    retry once the booking committed. Real connections; the invariants after."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "5"}])
    [cid] = seed_contacts(sandbox, [{"student_id": "WR002", "cs_credits": "3"}])
    with Database(push_db) as db, psycopg.connect(push_db, autocommit=True) as check:
        pull(db, client, settings, reader=reader)
        snap = snapshot(check)
        sandbox.touch(CONTACTS, cid, cs_credits="5")  # an admin gives two credits
        EventStore(db).store([contact_event(3, cid, "cs_credits", "5", int(time.time() * 1000))])
        processor = WebhookProcessor(db, reader, settings, sleep=lambda _s: None)

        with psycopg.connect(push_db) as booking:  # one transaction, open until the commit
            made = booking.execute(
                "SELECT hubspot_sync.create_booking(p_student_id := 'WR002', "
                "p_email := 'wr002@example.com', p_mock_exam_id := %s, "
                "p_idempotency_key := %s, p_dominant_hand := 'right')",
                (exam_id, f"rev-{uuid.uuid4()}"),
            ).fetchone()[0]
            assert made["success"] is True
            stats = processor.process_once()  # the contact is held by the booking
            assert stats.events == 1
            booking.commit()

        pending = one(
            push_db,
            "SELECT count(*) FROM hubspot_sync.webhook_events WHERE processed_at IS NULL",
        )
        assert pending == 1, "the event was marked processed while its change was not applied"
        one(push_db, "UPDATE hubspot_sync.webhook_events SET leased_until = now() RETURNING 1")
        assert processor.process_once().events == 1
        row = contact(push_db, "WR002")
        assert row["cs_credits"] == 3 - 1 + 2, "the booking's deduction and the admin's +2"
        check_invariants(check, snap)


def exam_event(event_id: int, object_id: str, prop: str, value: str, at_ms: int) -> dict:
    return intake_event(event_id, object_id, propertyName=prop, propertyValue=value) | {
        "occurredAt": at_ms
    }


def exam_churn(url: str, hubspot_id: str) -> tuple[int, int]:
    """(audit rows of the exam, outbox rows): what a read that changes nothing must not add."""
    return (
        one(
            url,
            "SELECT count(*) FROM hubspot_sync.supabase_audit_log WHERE record_hubspot_id = %s",
            (hubspot_id,),
        ),
        one(url, "SELECT count(*) FROM hubspot_sync.sync_queue"),
    )


def test_an_older_exam_read_applied_after_a_newer_one_never_reverts_the_exam(
    push_db: str, sandbox: Sandbox
) -> None:
    """An admin raises an exam's capacity 10 -> 20 and moves its date, then deactivates it.
    The webhook processor read the exam before the edits but applies that read after the pull
    applied the newest state (HubSpot delivers webhooks in no guaranteed order; a read held
    through BUSY retries, a second processor, the pull's page beside it). HubSpot owns these
    fields: the older read is a state HubSpot has left. Before the fix it was applied
    as is: capacity back to 10, the old date, the exam open again for booking, until the next
    pull, with audit rows for the revert."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [eid] = seed_exams(sandbox, [{"capacity": "10", "exam_date": "2031-03-01"}])
    ot = sandbox.api.type_of(settings.exams_object_type)
    target = targets(settings)["exams"]
    with Database(push_db) as db:
        pull(db, client, settings, reader=reader)
        assert exam(push_db, eid)["capacity"] == 10
        held = reader.read(target.object_type, [eid], properties=target.properties)
        assert held[0]["properties"]["capacity"] == "10"
        base_ms = sandbox.store.get(ot, eid).updated_ms
        sandbox.store.update(
            ot,
            sandbox.store.get(ot, eid),
            {"capacity": "20", "exam_date": "2031-03-08"},
            at_ms=base_ms + 1000,
        )
        sandbox.store.update(
            ot, sandbox.store.get(ot, eid), {"is_active": "false"}, at_ms=base_ms + 2000
        )
        EventStore(db).store([exam_event(1, eid, "capacity", "20", base_ms + 1000)])
        pull(db, client, settings, reader=reader)  # the newer state first
        row = exam(push_db, eid)
        assert (row["capacity"], str(row["exam_date"]), row["is_active"]) == (
            20,
            "2031-03-08",
            "false",
        )
        before = exam_churn(push_db, eid)

        processor = WebhookProcessor(db, LateReader(reader, held), settings)  # type: ignore[arg-type]
        stats = processor.process_once()
        assert stats.events == 1 and stats.error is None

        row = exam(push_db, eid)
        assert (row["capacity"], str(row["exam_date"]), row["is_active"]) == (
            20,
            "2031-03-08",
            "false",
        ), "an older read of the exam was applied over a newer one"
        assert stats.exams.unchanged == 1 and stats.exams.updated == 0, stats.exams.as_dict()
        assert exam_churn(push_db, eid) == before, "no audit or outbox row for a stale read"
        # and the next change is applied
        sandbox.store.update(
            ot,
            sandbox.store.get(ot, eid),
            {"capacity": "25", "is_active": "true"},
            at_ms=base_ms + 3000,
        )
        EventStore(db).store([exam_event(2, eid, "capacity", "25", base_ms + 3000)])
        assert processor.process_once().exams.updated == 1
        row = exam(push_db, eid)
        assert (row["capacity"], row["is_active"]) == (25, "true")


@pytest.mark.parametrize("learned_by", ["pull", "webhook"])
def test_a_read_made_before_an_exam_was_deleted_never_reopens_it(
    push_db: str, sandbox: Sandbox, learned_by: str
) -> None:
    """An admin deletes (archives) an exam in HubSpot. A read of the exam made just before
    the deletion (hs_lastmodifieddate T1) is applied after the deactivation (archivedAt T2 >
    T1): HubSpot delivers webhooks in no guaranteed order, a read is held through BUSY
    retries, the pull's page is applied beside the processor. The deletion is learned by the
    pull (its list of archived exams) or by the webhook processor (a deletion event: the exam
    is no longer returned by a read). Before the fix the deactivation stored no HubSpot time,
    so the older live read was applied: the deleted exam open for booking again (is_active
    'true') until the next pull. A restore in HubSpot (a newer read, not archived) applies."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [eid] = seed_exams(sandbox, [{"capacity": "10", "exam_date": "2031-03-01"}])
    ot = sandbox.api.type_of(settings.exams_object_type)
    target = targets(settings)["exams"]
    with Database(push_db) as db:
        pull(db, client, settings, reader=reader)
        assert exam(push_db, eid)["is_active"] == "true"
        held = reader.read(target.object_type, [eid], properties=target.properties)
        t1 = sandbox.store.get(ot, eid).updated_ms  # the read's hs_lastmodifieddate
        sandbox.store.archive(ot, sandbox.store.get(ot, eid), at_ms=t1 + 1000)
        if learned_by == "pull":
            pull(db, client, settings, reader=reader)
        else:
            EventStore(db).store(
                [intake_event(1, eid, subscriptionType="object.deletion", occurredAt=t1 + 1000)]
            )
            stats = WebhookProcessor(db, reader, settings).process_once()
            assert stats.events == 1 and stats.error is None
            assert stats.exams.deactivated == 1, stats.exams.as_dict()
        assert exam(push_db, eid)["is_active"] == "false"
        before = exam_churn(push_db, eid)

        # the live read made before the deletion, applied after it
        EventStore(db).store([exam_event(2, eid, "capacity", "10", t1)])
        processor = WebhookProcessor(db, LateReader(reader, held), settings)  # type: ignore[arg-type]
        stats = processor.process_once()
        assert stats.events == 1 and stats.error is None
        assert exam(push_db, eid)["is_active"] == "false", (
            "a read made before the exam's deletion reopened it"
        )
        assert stats.exams.unchanged == 1 and stats.exams.updated == 0, stats.exams.as_dict()
        assert exam_churn(push_db, eid) == before, "no audit or outbox row for a stale read"

        # a restore in HubSpot: a newer read, not archived, is applied
        restored = exam_read(exam(push_db, eid), 12, t1 + 2000) | {"id": eid}
        restored["properties"]["is_active"] = "true"
        result = one(
            push_db,
            "SELECT mockbook_internal.apply_pulled_exams(%s, 'test:webhook-review')",
            (Jsonb([restored]),),
        )
        assert (result["updated"], result["errors"]) == (1, []), result
        assert (exam(push_db, eid)["capacity"], exam(push_db, eid)["is_active"]) == (12, "true")


def exam_read(row: dict[str, Any], capacity: int, modified_ms: int) -> dict[str, Any]:
    """A HubSpot read of a local exam, as the pull gets it: its fields, ``capacity`` and
    hs_lastmodifieddate ``modified_ms`` (epoch ms, as HubSpot stores date-times)."""
    props = {
        "mock_exam_name": row["mock_exam_name"],
        "mock_type": row["mock_type"],
        "exam_date": str(row["exam_date"]),
        "location": row["location"],
        "capacity": str(capacity),
        "is_active": row["is_active"],
        "mock_set": row["mock_set"],
        "hs_lastmodifieddate": str(modified_ms),
    }
    return {"id": row["hubspot_id"], "properties": props, "archived": False}


def apply_exams(records: list[dict[str, Any]]) -> Any:
    return lambda conn: conn.execute(
        "SELECT mockbook_internal.apply_pulled_exams(%s, 'test:webhook-review')",
        (Jsonb(records),),
    ).fetchone()[0]


def test_the_pull_applying_an_exam_beside_create_booking_keeps_the_newest_read(
    db: psycopg.Connection, database_url: str, glue_database_url: str
) -> None:
    """The pull (or the webhook processor) applies reads of an exam while students book it, on
    real connections. apply_pulled_exams takes the exam's row with lock_exam and reads and
    writes the last applied HubSpot time (exam_hubspot_sync) under that lock, so whichever
    waits for the other, the newest read wins: an older read applied after it changes nothing,
    each booking keeps its seat, and the invariants hold. Staged both ways (a booking
    holding the exam while the pull waits; the pull holding it while a booking and an older
    read wait), then raced: bookings and eight reads applied in random order."""
    tag = uuid.uuid4().hex[:8].upper()
    hs = one(
        database_url, "SELECT tests.make_exam(p_hubspot_id := %s, p_capacity := 4)", (f"WREX{tag}",)
    )
    students = make_students(db, 10, p_sj=2)
    row = exam(database_url, hs)
    t0 = int(time.time() * 1000)
    wait = "SET mockbook.lock_timeout = '20s'"
    snap = snapshot(db)

    # 1. a booking holds the exam's row; the pull's read (capacity 6) waits for it
    with connect(database_url, autocommit=False) as booking:  # open until the commit
        made = booking.execute(
            "SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s, "
            "p_mock_exam_id := %s, p_idempotency_key := %s, "
            "p_attending_location := 'mississauga')",
            (students[0], email(students[0]), hs, f"wr-{uuid.uuid4()}"),
        ).fetchone()[0]
        assert made["success"] is True
        pull = Call(
            glue_database_url, apply_exams([exam_read(row, 6, t0 + 2000)]), setup=wait
        ).start()
        waiting_on_lock(db, pull.pid)
        booking.commit()
    pull.join()
    assert pull.error is None, pull.error
    assert (pull.value["updated"], pull.value["retry"]) == (1, [])
    assert (exam(database_url, hs)["capacity"], exam(database_url, hs)["total_bookings"]) == (6, 1)

    # 2. the pull holds the exam (a newer read: capacity 3); a booking and an older read
    #    (capacity 6 again) wait for it
    with connect(glue_database_url, autocommit=False) as newer:
        result = apply_exams([exam_read(row, 3, t0 + 3000)])(newer)
        assert (result["updated"], result["retry"]) == (1, [])
        student = Call(database_url, book(students[1], hs), setup=wait).start()
        waiting_on_lock(db, student.pid)
        older = Call(
            glue_database_url, apply_exams([exam_read(row, 6, t0 + 2000)]), setup=wait
        ).start()
        waiting_on_lock(db, older.pid)
        newer.commit()
    student.join()
    older.join()
    assert student.error is None and student.value["success"] is True, student.error
    assert older.error is None, older.error
    assert (older.value["updated"], older.value["unchanged"], older.value["retry"]) == (0, 1, [])
    assert (exam(database_url, hs)["capacity"], exam(database_url, hs)["total_bookings"]) == (3, 2)

    # 3. raced: eight reads (capacity 10 .. 17, newer reads larger) and eight bookings
    reads = [exam_read(row, 10 + i, t0 + 4000 + 1000 * i) for i in range(8)]
    tasks = [apply_exams([r]) for r in reads] + [book(s, hs) for s in students[2:]]
    order = list(range(len(tasks)))
    random.Random(20261124).shuffle(order)
    outcomes = run_concurrently(database_url, [tasks[i] for i in order], connection_budget(db, 8))
    by_task = {i: o for i, o in zip(order, outcomes, strict=True)}
    assert undocumented(outcomes) == []
    applied = [
        i for i in range(len(reads)) if by_task[i].error is None and not by_task[i].value["retry"]
    ]
    assert applied, "no read of the exam was applied"
    after = exam(database_url, hs)
    assert after["capacity"] == 10 + max(applied), (
        f"capacity {after['capacity']}: an older read was applied over the newest "
        f"(reads applied: {sorted(applied)})"
    )
    booked = sum(
        1
        for i in range(len(reads), len(tasks))
        if by_task[i].error is None and by_task[i].value.get("success")
    )
    assert after["total_bookings"] == 2 + booked
    check_invariants(db, snap)
