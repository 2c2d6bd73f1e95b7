"""The push under faults, against the conformance-checked sandbox:
5xx, timeouts and a 429 storm delay changes but lose none and dead-letter none; a permanently
invalid record is dead-lettered alone while everything else flows, shown by `mockbook dlq list`,
and delivered after it is fixed and `mockbook dlq retry` is run."""

from __future__ import annotations

import importlib
import json
import threading
from typing import Any

import push_helpers
import sandbox_fixtures
from push_helpers import (
    book,
    bookings,
    client_for,
    contacts,
    env_for,
    hubspot_bookings,
    make_world,
    pending,
    query,
    run_main,
    settings_for,
)

import glue.hubspot.client
from glue.config import PushSettings, Settings
from glue.credit_fields import CREDIT_FIELD_NAMES as CREDIT_PROPERTIES
from glue.db.database import Database
from glue.hubspot.client import BatchResult, HubSpotClient, HubSpotError, RecordError
from glue.hubspot.ratelimit import build_limiter
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.push import Pusher, Work, push
from glue.sync.push.send import Sender

sandbox = sandbox_fixtures.sandbox
clock = sandbox_fixtures.clock
push_db = push_helpers.push_db

CREDITS = (
    "sj_credits",
    "cs_credits",
    "sjmini_credits",
    "mock_discussion_token",
    "shared_mock_credits",
)
# batches of 150 records under a short lease: several batches, rows of a lost one back soon
SMALL_BATCHES = PushSettings(batch_size=150, lease_seconds=30)


def drain(url: str, sb: Sandbox, *, max_runs: int = 20, **settings_overrides) -> list:
    """Push until the queue is empty (each run lingers for rows in backoff), at most
    ``max_runs`` runs; all runs' stats."""
    settings = settings_for(url, sb, **settings_overrides)
    client = client_for(settings, max_retries=1)
    runs = []
    with Database(url) as db:
        while pending(url) and len(runs) < max_runs:
            pusher = Pusher(db, client, settings, push_settings=SMALL_BATCHES)
            runs.append(pusher.run(linger=5.0))
    return runs, client


def assert_hubspot_matches_database(url: str, sb: Sandbox) -> None:
    remote = hubspot_bookings(sb)  # asserts one HubSpot booking per booking code
    local = bookings(url)
    assert sorted(remote) == sorted(b["booking_id"] for b in local)
    for b in local:
        assert b["hubspot_id"] == remote[b["booking_id"]]["id"]
        assert remote[b["booking_id"]]["properties"]["is_active"] == b["is_active"]
    for c in contacts(url):
        props = sb.get(CONTACTS, c["hubspot_id"])["properties"]
        assert {k: props[k] for k in CREDITS} == {k: str(c[k]) for k in CREDITS}
    for e in query(url, "SELECT * FROM hubspot_sync.hubspot_mock_exams"):
        assert sb.get(EXAMS, e["hubspot_id"])["properties"]["total_bookings"] == str(
            e["total_bookings"]
        )


def test_5xx_timeouts_and_a_429_storm_lose_nothing(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=240, exams=3)
    book(push_db, [(s, world.exams[i % 3]) for i, s in enumerate(world.students)])
    with Database(push_db) as db, db.pool.connection() as conn:  # some later changes too
        conn.execute(
            "SELECT hubspot_sync.cancel_booking(p_booking_id := booking_id) "
            "FROM hubspot_sync.hubspot_bookings ORDER BY booking_id LIMIT 20"
        )
    sandbox.faults.seed = 7
    sandbox.faults.error_rate = 0.10
    sandbox.faults.timeout_rate = 0.05
    # A call that gets no answer: the sandbox ends it unanswered itself (after 0.05 s). The
    # client keeps the tests' long timeout, so no other call times out on a loaded machine.
    sandbox.faults.timeout_seconds = 0.05

    def storm_once_pushing() -> None:  # a 429 storm once the push is under way (3 writes in)
        writes = lambda reqs: sum(r["method"] != "GET" for r in reqs) >= 3  # noqa: E731
        if sandbox.wait_for(writes, timeout=120):
            sandbox.faults.storm(1.5)

    storm = threading.Thread(target=storm_once_pushing, daemon=True)
    storm.start()
    runs, client = drain(push_db, sandbox)
    storm.join(timeout=1)
    stats = sandbox.stats
    assert stats["faults"]["error"] > 0 and stats["faults"]["timeout"] > 0
    assert stats["faults"]["storm"] > 0 and client.stats.rate_limited > 0
    assert client.stats.retries > 0 or sum(r.retried for r in runs) > 0
    assert pending(push_db) == 0
    assert sum(r.dead_lettered for r in runs) == 0
    assert query(push_db, "SELECT count(*) AS n FROM hubspot_sync.sync_errors")[0]["n"] == 0
    assert_hubspot_matches_database(push_db, sandbox)


def test_a_429_on_the_start_up_checks_reads_is_waited_out(
    push_db: str, sandbox: Sandbox, clock
) -> None:
    """the sync design: every call waits out a 429 and tries again, the preflight's reads
    included. The
    sandbox allows one call per 10 s window, so each call of the push is answered 429 (with
    Retry-After) before it gets through. The client mapped the errors of three SDK modules only
    (objects, associations v4, schemas; each module has its own ApiException): a 429 on the
    preflight's properties or association-labels read escaped as the raw ApiException of
    hubspot.crm.properties or ...associations.v4.schema, unretried, and the push died before
    claiming anything (the test_push_crash flake: restarts into a window its predecessors had
    filled)."""
    world = make_world(push_db, sandbox, students=3)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    sandbox.limiter.configure(rate_limit=1)  # 1 request per 10 s window
    settings = settings_for(push_db, sandbox)
    client = client_for(settings, sleep=clock.sleep)  # a Retry-After wait moves the clock
    # the 429s are the subject: the answers' rate-limit headers, which the client follows to
    # avoid them (glue.hubspot.ratelimit.HeaderBudget), are not read here
    client.limiter.observe = lambda headers: None
    with Database(push_db) as db:
        stats = push(db, client, settings, linger=0)

    refused = {r["path"] for r in sandbox.requests if r["status"] == 429}
    assert any(p.startswith("/crm/v3/properties/") for p in refused), refused
    assert any(p.endswith("/labels") for p in refused), refused
    assert client.stats.rate_limited == sandbox.stats["429"] > 0
    assert all(s >= 1 for s in clock.sleeps)  # HubSpot's Retry-After (seconds) was waited
    assert stats.by_table["hubspot_bookings"] == 3 and stats.dead_lettered == 0
    assert pending(push_db) == 0
    assert_hubspot_matches_database(push_db, sandbox)


def test_every_sdk_api_of_the_client_has_its_errors_mapped() -> None:
    """The guard for the test above: the ApiException of every SDK API the client holds is one
    it maps to HubSpotError (and so retries), the next API added included."""
    limiter = build_limiter(limit=1, window=1.0, daily=1, redis_url=None)
    client = HubSpotClient(access_token="t", limiter=limiter)
    apis = {name: api for name, api in vars(client).items() if name.endswith("_api")}
    assert {"properties_api", "property_groups_api", "labels_api"} <= set(apis), sorted(apis)
    for name, api in apis.items():
        package = importlib.import_module(type(api).__module__.split(".api.")[0])
        assert package.ApiException in glue.hubspot.client._SDK_EXCEPTIONS, name
        assert package.OpenApiException in glue.hubspot.client._SDK_CLIENT_ERRORS, name


def test_a_permanently_invalid_record_is_dead_lettered_alone(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    world = make_world(push_db, sandbox, students=30)
    poison_student = world.students[7]
    rejecting = {"on": True}
    sandbox.reject_when(
        BOOKINGS,
        lambda p: rejecting["on"] and p.get("student_id") == poison_student,
        "Property values were not valid: student is barred from this exam",
    )
    book(push_db, [(s, world.exams[0]) for s in world.students])
    runs, _ = drain(push_db, sandbox, max_attempts=3)

    # Everything else went through; the poison booking alone is dead.
    assert sum(r.dead_lettered for r in runs) == 1
    assert pending(push_db) == 0
    remote = hubspot_bookings(sandbox)
    local = {b["booking_id"]: b for b in bookings(push_db)}
    [poison] = [b for b in local.values() if b["student_id"] == poison_student]
    assert poison["booking_id"] not in remote and poison["hubspot_id"] is None
    assert sorted(remote) == sorted(k for k in local if k != poison["booking_id"])
    assert sandbox.get(CONTACTS, world.contact_ids[poison_student])["properties"]["sj_credits"] == (
        "2"
    )  # its contact and exam are other records: they flowed

    env = env_for(push_db, sandbox)
    code, out, err = run_main(["dlq", "list", "--json"], env, monkeypatch, capsys)
    assert code == 0, err
    [letter] = json.loads(out)
    assert letter["entity_type"] == "hubspot_bookings"
    assert letter["key"] == poison["booking_id"] and letter["attempts"] == 3
    assert "barred" in letter["error"]
    code, out, err = run_main(["dlq", "list"], env, monkeypatch, capsys)
    assert code == 0 and poison["booking_id"] in out and "barred" in out, err

    # Fixed in HubSpot; `mockbook dlq retry` queues it again and the next push delivers it.
    rejecting["on"] = False
    code, out, err = run_main(["dlq", "retry", str(letter["id"])], env, monkeypatch, capsys)
    assert code == 0 and "1 dead letter" in out, err
    runs, _ = drain(push_db, sandbox)
    assert sum(r.sent for r in runs) == 1
    assert_hubspot_matches_database(push_db, sandbox)
    code, out, _ = run_main(["dlq", "list", "--json"], env, monkeypatch, capsys)
    assert code == 0 and json.loads(out) == []


class _StrictContacts:
    """A stand-in HubSpot client whose contacts batch update refuses the whole batch (400, as
    HubSpot does for an invalid property value) whenever one poisoned contact is in it."""

    def __init__(self, poison: str) -> None:
        self.poison = poison
        self.batches: list[list[str]] = []
        self.bookings_type = BOOKINGS

    def update(self, object_type: str, inputs: list[dict]) -> BatchResult:
        ids = [i["id"] for i in inputs]
        self.batches.append(ids)
        if self.poison in ids:
            raise HubSpotError("Property values were not valid", status=400, operation="update")
        return BatchResult(200, [{"id": i} for i in ids], [])


class _EchoReader:
    """The credit merge's batch read for _StrictContacts: HubSpot holds what Postgres holds."""

    def __init__(self, url: str) -> None:
        self.url = url

    def read(
        self, object_type: str, ids: list[str], *, properties: Any, history: Any
    ) -> list[dict]:
        rows = query(
            self.url,
            "SELECT * FROM hubspot_sync.hubspot_contact_credits WHERE hubspot_id = ANY(%s)",
            (list(ids),),
        )
        return [
            {
                "id": r["hubspot_id"],
                "properties": {
                    "email": r["email"],
                    "student_id": r["student_id"],
                    **{f: str(r[f] or 0) for f in CREDIT_PROPERTIES},
                },
            }
            for r in rows
        ]


def test_a_whole_batch_refusal_is_bisected_down_to_the_culprit(push_db: str) -> None:
    with Database(push_db) as db:
        with db.pool.connection() as conn:
            for i in range(8):
                conn.execute(
                    "SELECT tests.make_student(p_sj := 1, p_student_id := %s, p_hubspot_id := %s)",
                    (f"BIS{i}", f"HB{i}"),
                )
        client = _StrictContacts("HB5")
        settings = Settings(database_url=push_db, hubspot_access_token="unused")
        pusher = Pusher(db, client, settings)  # type: ignore[arg-type]
        pusher.contacts.merge._reader = _EchoReader(push_db)  # type: ignore[assignment]
        rows = db.claim_sync_batch(pusher.worker, 100, 60)
        works = [
            Work(r["table_name"], r["record_id"], [r], s)
            for r in rows
            for s in [db.push_state(r["table_name"], [r["record_id"]])[r["record_id"]]]
        ]
        pusher.contacts.push(works, [])
    assert pusher.stats.sent == 7 and pusher.stats.retried == 1
    assert client.batches[0] == [f"HB{i}" for i in range(8)]
    assert client.batches[-1] == ["HB5"] or ["HB5"] in client.batches
    assert len(client.batches) <= 1 + 2 + 2 + 2  # log2(8) levels, not one call per contact
    [left] = query(push_db, "SELECT * FROM hubspot_sync.sync_queue WHERE done_at IS NULL")
    assert left["last_error"].startswith("update: HTTP 400")


def test_record_errors_without_trace_ids_are_matched_by_id() -> None:
    works = [Work("hubspot_mock_exams", i, [{"id": 1}], {"hubspot_id": f"E{i}"}) for i in range(3)]
    result = BatchResult(
        207, [], [RecordError("Object not found", "OBJECT_NOT_FOUND", context={"ids": ["E1"]})]
    )
    failed = Sender.errors_by_work(result, works, lambda w: [w.state["hubspot_id"]])
    assert [w.record_id for w, _ in failed.values()] == [1]


def test_a_batch_answer_missing_an_input_is_not_counted_as_written(
    push_db: str, sandbox: Sandbox
) -> None:
    """A multi-status (207) batch answer may hold neither a result nor an error for an input:
    that write is unconfirmed, so it is tried again, never counted as done (the contact and
    exam paths once completed such rows as written)."""
    world = make_world(push_db, sandbox, students=3)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    sandbox.faults.omit_results(2)  # the contacts' batch update, then the exams'
    settings = settings_for(push_db, sandbox)
    client = client_for(settings)
    with Database(push_db) as db:
        first = Pusher(db, client, settings, push_settings=SMALL_BATCHES).run(linger=0)
    assert sandbox.stats["faults"]["omitted_result"] == 2
    assert first.retried > 0 and first.dead_lettered == 0
    assert pending(push_db) > 0  # the unconfirmed contact's and exam's rows, due again
    runs, _ = drain(push_db, sandbox)
    assert pending(push_db) == 0 and sum(r.dead_lettered for r in runs) == 0
    assert_hubspot_matches_database(push_db, sandbox)
