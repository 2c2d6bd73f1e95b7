"""HubSpot webhook intake: the v3 signature, the intake over real HTTP (uvicorn), the
events stored then applied through the pull's functions, and the sandbox sending webhooks like
HubSpot end to end (retries, a lost delivery caught by the pull, duplicates and out-of-order
deliveries harmless). Timings are not asserted here: B9 in bench/ measures them.

Redis: REDIS_URL's server, database 11, flushed around each test that uses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import push_helpers
import pytest
import redis
import sandbox_fixtures
import urllib3
from pull_helpers import (
    book,
    contact,
    exam,
    fast,
    hubspot,
    ledger,
    one,
    q,
    seed_contacts,
    seed_exams,
)
from waiting import wait_until

from glue.cache import capacity_key
from glue.config import ConfigError
from glue.db.database import Database
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sandbox.webhooks import WebhookSender, attach
from glue.sync.pull import pull
from glue.sync.push import push
from glue.sync.webhook_apply import ProcessStats, WebhookProcessor
from glue.sync.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EventStore,
    HttpServer,
    WebhookConfig,
    WebhookService,
    build_app,
    check_signature,
    parse_listen,
    sign_v3,
    subscriptions,
)

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
SECRET = "client-secret-for-tests"
TEST_REDIS_DB = 11
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=5))


def redis_url() -> str:
    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit(base._replace(path=f"/{TEST_REDIS_DB}"))


@pytest.fixture
def r() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url(), decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def wait_for(check: Callable[[], Any], timeout: float = 120.0) -> Any:
    return wait_until("the webhook's effect", check, timeout=timeout)


def event(event_id: int, object_id: str, kind: str = "propertyChange", **extra: Any) -> dict:
    base = {
        "eventId": event_id,
        "subscriptionId": 5,
        "portalId": 4242424,
        "appId": 1,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": f"object.{kind}",
        "objectTypeId": EXAMS,
        "attemptNumber": 0,
        "objectId": int(object_id),
    }
    return base | extra


def post(
    url: str,
    events: Any,
    *,
    secret: str = SECRET,
    signed_url: str | None = None,
    timestamp: int | None = None,
    signature: str | None = None,
) -> urllib3.BaseHTTPResponse:
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    ts = str(int(time.time() * 1000) if timestamp is None else timestamp)
    sig = signature or sign_v3(secret, "POST", signed_url or url, body, ts)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sig, TIMESTAMP_HEADER: ts}
    return HTTP.request("POST", url, body=body, headers=headers)


# ---- the signature ------------------------------------------------------------------------------
def test_signature_is_hubspots_v3_scheme() -> None:
    body = b'[{"eventId":1}]'
    ts = "1700000000000"
    uri = "https://hooks.example.com/webhooks/hubspot?portal=1"
    expected = base64.b64encode(
        hmac.new(
            SECRET.encode(), b"POST" + uri.encode() + body + ts.encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert sign_v3(SECRET, "POST", uri, body, ts) == expected
    now = 1700000000000 + 1000
    ok = check_signature(SECRET, "POST", uri, body, ts, expected, now_ms=now)
    assert ok is None
    # HubSpot decodes these URL-encoded characters of the URI before signing
    encoded = "https://hooks.example.com/webhooks/hubspot%3Fportal=1"
    assert check_signature(SECRET, "POST", encoded, body, ts, expected, now_ms=now) is None


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"secret": "another-secret"}, "does not match"),
        ({"body": b'[{"eventId":2}]'}, "does not match"),
        ({"uri": "http://10.0.0.5:8080/webhooks/hubspot"}, "does not match"),
        ({"method": "PUT"}, "does not match"),
        ({"now_ms": 1700000000000 + 5 * 60 * 1000 + 1}, "stale"),
        ({"now_ms": 1700000000000 - 6 * 60 * 1000}, "future"),
        ({"signature": ""}, "missing"),
        ({"timestamp": "yesterday"}, "epoch"),
    ],
)
def test_forged_or_stale_signatures_are_refused(change: dict, why: str) -> None:
    args = {
        "secret": SECRET,
        "method": "POST",
        "uri": "https://hooks.example.com/webhooks/hubspot",
        "body": b'[{"eventId":1}]',
        "timestamp": "1700000000000",
        "now_ms": 1700000000000,
    }
    args["signature"] = sign_v3(SECRET, "POST", args["uri"], args["body"], args["timestamp"])
    args.update(change)
    problem = check_signature(
        args["secret"],
        args["method"],
        args["uri"],
        args["body"],
        args["timestamp"],
        args["signature"],
        now_ms=args["now_ms"],
    )
    assert problem is not None and why in problem


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="HUBSPOT_CLIENT_SECRET"):
        WebhookConfig.from_env({})
    assert WebhookConfig.from_env({"HUBSPOT_APP_SECRET": "s"}).secret == "s"
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        WebhookConfig.from_env({"HUBSPOT_CLIENT_SECRET": "s"}, public_url="hooks.example.com")
    with pytest.raises(ConfigError, match="PATH"):
        WebhookConfig.from_env({"HUBSPOT_CLIENT_SECRET": "s"}, path="hooks")
    assert parse_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_listen(":9000") == ("127.0.0.1", 9000)
    with pytest.raises(ConfigError, match="HOST:PORT"):
        parse_listen("localhost:http")


# ---- the intake over HTTP -----------------------------------------------------------------------
@pytest.fixture
def intake(push_db: str) -> Iterator[tuple[str, str]]:
    """(url, database url) of an intake that stores deliveries (no processor)."""
    db = Database(push_db)
    config = WebhookConfig(secret=SECRET)
    server = HttpServer(build_app(config, EventStore(db).store))
    port = server.start()
    try:
        yield f"http://127.0.0.1:{port}{config.path}", push_db
    finally:
        server.stop()
        db.close()


def stored(url: str) -> list[dict]:
    return q(url, "SELECT * FROM hubspot_sync.webhook_events ORDER BY id")


def test_intake_stores_a_valid_delivery_and_refuses_forged_and_stale_ones(
    intake: tuple[str, str],
) -> None:
    url, db = intake
    events = [event(1, "501", propertyName="capacity", propertyValue="9"), event(2, "502")]
    answer = post(url, events)
    assert answer.status == 200 and answer.json() == {"stored": 2, "duplicates": 0}
    rows = stored(db)
    assert [(r["event_id"], r["object_id"], r["object_type_id"]) for r in rows] == [
        (1, "501", EXAMS),
        (2, "502", EXAMS),
    ]
    assert rows[0]["payload"]["propertyValue"] == "9"

    forged = post(url, [event(3, "503")], secret="not-the-secret")
    stale = post(url, [event(4, "504")], timestamp=int(time.time() * 1000) - 6 * 60 * 1000)
    unsigned = HTTP.request("POST", url, body=json.dumps([event(5, "505")]).encode())
    assert (forged.status, stale.status, unsigned.status) == (401, 401, 401)
    assert "stale" in stale.json()["message"]
    assert len(stored(db)) == 2, "a refused delivery stores nothing"


def test_intake_deduplicates_redeliveries_and_checks_the_body(intake: tuple[str, str]) -> None:
    url, db = intake
    first = post(url, [event(10, "601")])
    again = post(url, [event(10, "601", attemptNumber=1), event(11, "601")])
    assert first.json() == {"stored": 1, "duplicates": 0}
    assert again.status == 200 and again.json() == {"stored": 1, "duplicates": 1}
    assert [r["event_id"] for r in stored(db)] == [10, 11]

    too_many = post(url, [event(100 + i, str(700 + i)) for i in range(101)])
    not_json = post(url, b"{not json")
    no_id = post(url, [{"subscriptionType": "contact.creation", "objectId": 1, "occurredAt": 1}])
    long_id = post(url, [event(12, "601", objectId="9" * 101)])  # refused by the database
    statuses = (too_many.status, not_json.status, no_id.status, long_id.status)
    assert statuses == (400, 400, 400, 400)
    hundred = post(url, [event(1000 + i, str(800 + i)) for i in range(100)])
    assert hundred.status == 200 and hundred.json()["stored"] == 100
    assert len(stored(db)) == 102


def test_behind_a_proxy_the_public_url_is_the_signed_uri(push_db: str) -> None:
    db = Database(push_db)
    public = "https://hooks.example.com/mockbook/hubspot"
    config = WebhookConfig(secret=SECRET, public_url=public, path="/hubspot")
    server = HttpServer(build_app(config, EventStore(db).store))
    port = server.start()
    try:
        local = f"http://127.0.0.1:{port}/hubspot"
        assert post(local, [event(1, "1")], signed_url=public).status == 200
        assert post(local, [event(2, "2")]).status == 401, "signed for the internal URL"
    finally:
        server.stop()
        db.close()


def test_intake_answers_503_when_the_database_cannot_store(push_db: str) -> None:
    def broken(_events: list) -> dict:
        import psycopg

        raise psycopg.OperationalError("connection refused")

    server = HttpServer(build_app(WebhookConfig(secret=SECRET), broken))
    port = server.start()
    try:
        answer = post(f"http://127.0.0.1:{port}/webhooks/hubspot", [event(1, "1")])
        assert answer.status == 503, "HubSpot retries a delivery that got no 2xx"
    finally:
        server.stop()


# ---- end to end: the sandbox sends, the service applies -----------------------------------------
class Harness:
    """Exams and contacts in the sandbox and in Postgres (one pull), the webhook service
    running, the sandbox sending it webhooks."""

    def __init__(self, url: str, sb: Sandbox, *, redis: bool = False) -> None:
        fast(sb)
        self.url, self.sb = url, sb
        overrides = {"redis_url": redis_url()} if redis else {}
        self.settings, self.client, self.reader = hubspot(url, sb, **overrides)
        self.exams = seed_exams(sb, [{"capacity": "10"}, {"capacity": "20"}])
        self.contacts = seed_contacts(sb, [{"student_id": "W1001"}])
        self.db = Database(url)
        pull(self.db, self.client, self.settings, reader=self.reader)
        self.service = WebhookService(
            self.settings, url, WebhookConfig(secret=SECRET), reader=self.reader
        )
        port = self.service.start()
        self.target = f"http://127.0.0.1:{port}/webhooks/hubspot"
        self.sender: WebhookSender = attach(sb, self.target, SECRET, retry_delays=(0.2,) * 9)

    def close(self) -> None:
        self.sender.stop()
        self.service.stop()
        self.db.close()

    def settled(self) -> bool:
        """Every delivery answered and every stored event processed."""
        if not self.sender.idle():
            return False
        return one(
            self.url,
            "SELECT count(*) = 0 FROM hubspot_sync.webhook_events WHERE processed_at IS NULL",
        )


@pytest.fixture
def world(push_db: str, sandbox: Sandbox) -> Iterator[Harness]:
    harness = Harness(push_db, sandbox)
    try:
        yield harness
    finally:
        harness.close()


def outbox(url: str, table: str) -> int:
    return one(url, "SELECT count(*) FROM hubspot_sync.sync_queue WHERE table_name = %s", (table,))


def test_capacity_edited_in_hubspot_reaches_postgres_and_redis(
    push_db: str, sandbox: Sandbox, r: redis.Redis
) -> None:
    h = Harness(push_db, sandbox, redis=True)
    try:
        exam_id = h.exams[0]
        queued = outbox(push_db, "hubspot_mock_exams")
        sandbox.touch(EXAMS, exam_id, capacity="14")
        wait_for(lambda: exam(push_db, exam_id)["capacity"] == 14)
        wait_for(lambda: r.get(capacity_key(exam_id)) == "14")
        assert outbox(push_db, "hubspot_mock_exams") == queued, "no echo back to HubSpot"
        row = stored(push_db)[-1]
        assert (row["subscription_type"], row["payload"]["propertyName"]) == (
            "object.propertyChange",
            "capacity",
        )
        actors = q(
            push_db,
            "SELECT DISTINCT performed_by FROM hubspot_sync.supabase_audit_log "
            "WHERE table_name = 'hubspot_mock_exams' AND performed_by = 'hubspot:webhook'",
        )
        assert actors, "applied by the pull's function, audited as the webhook"
    finally:
        h.close()


def test_a_change_is_applied_once_per_current_state_whatever_the_order(world: Harness) -> None:
    """Out-of-order and duplicate deliveries: the processor reads the object's current state."""
    exam_id = world.exams[1]
    world.sender.pause()
    world.sb.touch(EXAMS, exam_id, capacity="25")
    world.sb.touch(EXAMS, exam_id, capacity="30")
    # deliver the events newest first, each twice
    with world.sender._lock:
        world.sender._pending.reverse()
        world.sender._pending.extend(dict(e) for e in list(world.sender._pending))
    world.sender.resume()
    wait_for(world.settled)
    assert exam(world.url, exam_id)["capacity"] == 30
    rows = stored(world.url)
    assert len(rows) == 2, "each event stored once"
    assert world.sender.delivered == 4


def test_creation_deletion_and_unsubscribed_types(world: Harness) -> None:
    [new] = seed_exams(world.sb, [{"capacity": "7", "mock_exam_name": "Fresh"}])
    wait_for(
        lambda: q(
            world.url, "SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (new,)
        )
    )
    assert exam(world.url, new)["mock_exam_name"] == "Fresh"
    ot = world.sb.api.type_of(EXAMS)
    world.sb.store.archive(ot, world.sb.store.get(ot, world.exams[0]))
    wait_for(lambda: exam(world.url, world.exams[0])["is_active"] == "false")
    # a booking written in HubSpot: Postgres owns bookings, its events are stored and ignored
    world.sb.seed(BOOKINGS, [{"booking_id": "BK-20310101-ZZZZZZ", "is_active": "Active"}])
    wait_for(world.settled)
    booking_events = [r for r in stored(world.url) if r["object_type_id"] == BOOKINGS]
    assert booking_events and all(r["processed_at"] for r in booking_events)
    assert not q(world.url, "SELECT 1 FROM hubspot_sync.hubspot_bookings")


def test_a_booking_deleted_in_hubspot_is_recreated_by_the_next_push(world: Harness) -> None:
    """Through the webhooks: the deletion event queues the booking, so the next
    push re-creates it and takes its new id (no reconcile needed); cancel_booking(<new id>)."""
    seed_contacts(world.sb, [{"student_id": "W1003", "cs_credits": "2"}])
    wait_for(
        lambda: q(
            world.url,
            "SELECT 1 FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'W1003'",
        )
    )
    made = book(world.url, "W1003", world.exams[0])
    push(world.db, world.client, world.settings, linger=0)
    code = made["booking_id"]
    sql = "SELECT hubspot_id FROM hubspot_sync.hubspot_bookings WHERE booking_id = %s"
    old_id = one(world.url, sql, (code,))
    world.sb.archive(BOOKINGS, old_id)  # an admin deletes it in HubSpot
    wait_for(world.settled)
    assert push_helpers.pending(world.url) == 1, "the deletion queued the booking"
    push(world.db, world.client, world.settings, linger=0)
    new_id = world.sb.get_by(BOOKINGS, "booking_id", code)["id"]
    assert new_id != old_id and one(world.url, sql, (code,)) == new_id
    assert one(world.url, "SELECT hubspot_sync.cancel_booking(%s)", (new_id,))["success"] is True


def test_contact_credits_merge_as_a_delta_like_the_pull(world: Harness) -> None:
    cid = world.contacts[0]
    world.sb.touch(CONTACTS, cid, sj_credits="3", firstname="Renamed")
    wait_for(lambda: contact(world.url, "W1001")["sj_credits"] == 3)
    assert contact(world.url, "W1001")["firstname"] == "Renamed"
    assert [entry[1:] for entry in ledger(world.url, "W1001")][-1] == ("sj_credits", 3, 3)
    assert outbox(world.url, "hubspot_contact_credits") == 0, "no echo"
    # a merge event names the contact that absorbed the other: it is read again and applied
    world.sb.touch(CONTACTS, cid, sj_credits="5")
    wait_for(lambda: contact(world.url, "W1001")["sj_credits"] == 5)
    ot = world.sb.api.type_of(CONTACTS)
    world.sb.store.update(ot, world.sb.store.get(ot, cid), {"lastname": "Merged"})
    world.sender.merged(ot, world.sb.store.get(ot, cid), ["99999"])
    wait_for(lambda: contact(world.url, "W1001")["lastname"] == "Merged")
    merge = [r for r in stored(world.url) if r["subscription_type"] == "contact.merge"]
    assert merge and merge[0]["payload"]["mergedObjectIds"] == [99999]


def test_the_sandbox_merge_endpoint_sends_a_merge_event(world: Harness) -> None:
    """A merge made through the sandbox's HTTP endpoint (as an admin merging two contacts in
    HubSpot) reaches the intake as a signed `contact.merge` event naming the absorbed id, and the
    surviving contact is read again and applied."""
    cid = world.contacts[0]
    [other] = seed_contacts(world.sb, [{"student_id": "W1002", "lastname": "Absorbed"}])
    wait_for(world.settled)
    answer = urllib3.request(
        "POST",
        f"{world.sb.base_url}/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": str(cid), "objectIdToMerge": str(other)},
        headers={"Authorization": f"Bearer {push_helpers.TOKEN}"},
    )
    assert answer.status == 200, answer.data
    new = answer.json()["id"]  # HubSpot merges contacts into a new record with a new id
    wait_for(world.settled)
    merge = [r for r in stored(world.url) if r["subscription_type"] == "contact.merge"]
    assert merge and merge[-1]["payload"]["mergedObjectIds"] == [int(other)]
    assert str(merge[-1]["payload"]["primaryObjectId"]) == str(cid)
    assert str(merge[-1]["payload"]["newObjectId"]) == str(merge[-1]["object_id"]) == new
    assert merge[-1]["processed_at"] is not None
    # the local contact linked to the primary now names the new record
    wait_for(lambda: contact(world.url, "W1001")["hubspot_id"] == new)


def test_a_failed_delivery_is_retried_until_the_intake_answers(world: Harness) -> None:
    exam_id = world.exams[0]
    world.service.http.stop()
    world.sb.touch(EXAMS, exam_id, capacity="11")
    wait_for(lambda: world.sender.failures >= 2)
    assert exam(world.url, exam_id)["capacity"] == 10
    world.service.http.start()  # the same port again
    wait_for(lambda: exam(world.url, exam_id)["capacity"] == 11)
    row = stored(world.url)[-1]
    assert row["payload"]["attemptNumber"] >= 2, "the stored event is the retried delivery"


def test_a_delivery_refused_with_a_4xx_is_dropped_as_hubspot_drops_it(world: Harness) -> None:
    """HubSpot does not retry a 400/401/403/404/405 (docs/operations.md, "What HubSpot
    retries"): a wrong secret loses every delivery until the next pull. The sandbox sends as
    HubSpot does, so the tests see that loss instead of a retry that never comes in production."""
    exam_id = world.exams[0]
    world.sender.secret = "not-the-intake-secret"  # every delivery answered 401
    world.sb.touch(EXAMS, exam_id, capacity="12")
    wait_for(lambda: world.sender.rejected >= 1)
    assert world.sender.idle() and [e["status"] for e in world.sender.log] == [401]
    assert exam(world.url, exam_id)["capacity"] == 10
    pull(world.db, world.client, world.settings, reader=world.reader)
    assert exam(world.url, exam_id)["capacity"] == 12


def test_a_lost_delivery_is_caught_by_the_next_pull(world: Harness) -> None:
    exam_id = world.exams[0]
    world.sender.drop_next(1)
    world.sb.touch(EXAMS, exam_id, capacity="13")
    wait_for(world.settled)
    assert world.sender.dropped == 1
    assert exam(world.url, exam_id)["capacity"] == 10, "the webhook was lost"
    pull(world.db, world.client, world.settings, reader=world.reader)
    assert exam(world.url, exam_id)["capacity"] == 13


def test_events_stored_before_a_crash_are_applied_on_start(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "10"}])
    with Database(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.touch(EXAMS, exam_id, capacity="16")
        # the intake stored the delivery, then the process died before applying it
        EventStore(db).store([event(77, exam_id)])
    assert exam(push_db, exam_id)["capacity"] == 10
    service = WebhookService(settings, push_db, WebhookConfig(secret=SECRET), reader=reader)
    service.start()
    try:
        wait_for(lambda: exam(push_db, exam_id)["capacity"] == 16)
    finally:
        service.stop()


def test_hubspot_down_leaves_the_events_pending(world: Harness) -> None:
    exam_id = world.exams[0]
    world.sb.faults.error_rate = 1.0
    world.sb.touch(EXAMS, exam_id, capacity="12")
    wait_for(
        lambda: one(
            world.url,
            "SELECT count(*) FROM hubspot_sync.webhook_events WHERE last_error IS NOT NULL",
        )
    )
    row = stored(world.url)[-1]
    assert row["processed_at"] is None and row["attempts"] >= 1
    world.sb.faults.error_rate = 0.0
    one(world.url, "UPDATE hubspot_sync.webhook_events SET leased_until = now() RETURNING 1")
    world.service.processor.wake()
    wait_for(lambda: exam(world.url, exam_id)["capacity"] == 12)


# ---- the sender and the commands ----------------------------------------------------------------
def test_sender_batches_at_most_100_events_per_request(world: Harness) -> None:
    world.sender.pause()
    ids = seed_exams(world.sb, [{"capacity": str(5 + i % 5)} for i in range(150)])
    world.sender.resume()
    wait_for(world.settled, timeout=60)
    sizes = [entry["events"] for entry in world.sender.log if entry["status"] == 200]
    assert max(sizes) == 100 and sum(sizes) == 150
    assert (
        one(
            world.url,
            "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = ANY(%s)",
            (ids,),
        )
        == 150
    )


def test_subscriptions_cover_contacts_and_exams() -> None:
    from glue.config import Settings

    subs = subscriptions(Settings())
    kinds = {(s["objectTypeId"], s["eventType"], s.get("propertyName")) for s in subs}
    assert ("0-1", "contact.propertyChange", "sj_credits") in kinds
    assert ("0-1", "contact.merge", None) in kinds
    assert (EXAMS, "object.propertyChange", "capacity") in kinds
    assert (EXAMS, "object.deletion", None) in kinds
    assert (BOOKINGS, "object.deletion", None) in kinds  # re-created by the push
    assert not any(s.get("propertyName") == "hs_lastmodifieddate" for s in subs)


def test_cli_serve_refuses_without_a_secret_and_serves_with_one(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    env = push_helpers.env_for(push_db, sandbox)
    monkeypatch.delenv("HUBSPOT_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("HUBSPOT_APP_SECRET", raising=False)
    code, _, err = push_helpers.run_main(
        ["webhooks", "serve", "--port", "0"], env, monkeypatch, capsys
    )
    assert code == 2 and "HUBSPOT_CLIENT_SECRET" in err
    code, _, err = push_helpers.run_main(
        ["worker", "--webhooks", "nowhere"],
        env | {"HUBSPOT_CLIENT_SECRET": SECRET},
        monkeypatch,
        capsys,
    )
    assert code == 2 and "HOST:PORT" in err
    code, out, _ = push_helpers.run_main(
        ["webhooks", "subscriptions", "--json"], env, monkeypatch, capsys
    )
    assert code == 0 and {"objectTypeId": "0-1", "eventType": "contact.creation"} in json.loads(out)

    proc = push_helpers.mockbook(
        ["webhooks", "serve", "--port", "0"], env | {"HUBSPOT_CLIENT_SECRET": SECRET}
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "listening on http://127.0.0.1:" in line, line
        url = line.split("listening on ", 1)[1].strip()
        assert post(url, [event(1, "1")], secret="forged").status == 401
        assert post(url, [event(1, "1")]).status == 200
        assert len(stored(push_db)) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    assert proc.returncode == 0


def test_worker_runs_the_intake_with_webhooks_option(push_db: str, sandbox: Sandbox) -> None:
    import re
    import signal

    fast(sandbox)
    env = push_helpers.env_for(push_db, sandbox) | {"HUBSPOT_CLIENT_SECRET": SECRET}
    proc = push_helpers.mockbook(["worker", "--json", "--webhooks", "127.0.0.1:0"], env)
    try:
        port = None
        assert proc.stderr is not None
        for line in proc.stderr:
            found = re.search(r"webhook intake listening on 127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port, "the worker did not start the intake"
        url = f"http://127.0.0.1:{port}/webhooks/hubspot"
        assert post(url, [event(1, "1")], secret="forged").status == 401
        assert post(url, [event(1, "1")]).status == 200
        assert [r["object_type_id"] for r in stored(push_db)] == [EXAMS]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_beside_the_worker_the_intake_spends_the_workers_rate_budget(
    push_db: str, sandbox: Sandbox
) -> None:
    from glue.hubspot.client import HubSpotClient

    settings, _, _ = hubspot(push_db, sandbox)
    shared = HubSpotClient.from_settings(settings).limiter
    service = WebhookService(settings, push_db, WebhookConfig(secret=SECRET), limiter=shared)
    try:
        assert service.processor.reader.client.limiter is shared
        alone = WebhookService(settings, push_db, WebhookConfig(secret=SECRET))
        assert alone.processor.reader.client.limiter is not shared
        alone.stop()
    finally:
        service.stop()


class _RecheckStore:
    """The processor's pull store, reduced to the contacts' apply: the apply of what the
    processor read lists every contact in ``recheck`` (what apply_pulled_contacts answers for
    contacts the push wrote since their last read); the apply with history takes them."""

    def __init__(self) -> None:
        self.with_history: list[dict[str, Any]] = []

    def contacts_linked_to(self, ids: list[str]) -> list[dict[str, Any]]:
        return []

    def apply_contacts(self, records: list[dict[str, Any]], actor: str) -> dict[str, Any]:
        if any("propertiesWithHistory" in r for r in records):
            self.with_history += records
            return {"updated": len(records)}
        return {"recheck": [r["id"] for r in records]}

    def note_pull_error(self, table: str, hid: str, error: str, rec: dict) -> None:
        raise AssertionError(f"{hid}: {error}")

    def close_busy_letters(self, table: str, ids: list[str]) -> int:
        return 0  # no letter is open here


def test_the_processor_rereads_more_than_50_pushed_contacts_with_history(
    sandbox: Sandbox,
) -> None:
    """The webhook path of test_hubspot_behaviour's pull test: one claim takes up to 500 events
    (CLAIM_LIMIT), so after the push wrote 60 contacts their 60 propertyChange events come in
    one batch, all 60 listed in ``recheck``. The re-read with history must go 50 at a time:
    the sandbox, as HubSpot, refuses more (400), and the events would fail until given up."""
    fast(sandbox)
    ids = seed_contacts(sandbox, [{"student_id": f"WH{n:03d}"} for n in range(60)])
    settings, _client, reader = hubspot("postgresql://unused/db", sandbox)
    processor = WebhookProcessor(None, reader, settings)  # type: ignore[arg-type]
    store = _RecheckStore()
    processor.puller.store = store  # type: ignore[assignment]
    batch = [
        {
            "id": n,
            "object_id": int(i),
            "object_type_id": CONTACTS,
            "subscription_type": "contact.propertyChange",
            "payload": {"propertyName": "cs_credits"},
        }
        for n, i in enumerate(ids)
    ]
    stats = ProcessStats()
    processor._apply("contacts", batch, stats)  # HTTP 400 with 100 per read
    assert stats.contacts_read == 60
    assert sorted(r["id"] for r in store.with_history) == sorted(ids)
    reads = [
        r for r in sandbox.requests if r["path"].endswith("/batch/read") and r["method"] == "POST"
    ]
    assert [len(r["json"]["inputs"]) for r in reads if r["json"].get("propertiesWithHistory")] == [
        50,
        10,
    ]
