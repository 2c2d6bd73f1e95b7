"""HubSpot's answers rewritten byte by byte on the wire (tests/py/wire_proxy.py, in front of the
sandbox), through every reading path: each hostile shape of tests/py/hostile.py on each property
the path reads (from the catalogue), all cases of a path in one run; the whole answer wrong
shaped in every command; the webhook intake's signed body itself hostile.

What must hold: nothing hostile is stored (the local rows and the credit ledger are as before),
each refused record has a dead letter naming the record, the property and the fault, and the
command exits with its documented code, never with a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import push_helpers
import pytest
import sandbox_fixtures
import urllib3
from hostile import (
    ANSWERS,
    LIST_ANSWERS,
    PROPERTY_VALUES,
    VALUES,
    Hostile,
    rewrite_record,
    rewrite_value,
)
from pull_helpers import contact_props, exam_props, fast, one, q
from push_helpers import env_for, run_main
from wire_proxy import WireProxy

from glue.hubspot.catalogue import SYNCED
from glue.hubspot.client import UNREADABLE, HubSpotError
from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sync.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_v3

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

KINDS = {EXAMS: "exams", CONTACTS: "contacts"}
# a value of every property the paths read, where the usual seed leaves none
EXTRA = {EXAMS: {"scheduled_activation_datetime": "2031-01-01T09:00:00Z",
                 "total_bookings": "0"},
         CONTACTS: {"ndecc_exam_date": "2027-01-15"}}
SECRET = "client-secret-for-wire-tests"


def _cases(command: str) -> list[tuple[str, str, Hostile]]:
    """(object type, property, shape): every shape on every property ``command`` reads."""
    return [(kind, prop.name, shape) for kind, name in KINDS.items()
            for prop in SYNCED[name].select(reads=command) for shape in PROPERTY_VALUES]


@pytest.fixture
def proxy(sandbox: Sandbox) -> Iterator[WireProxy]:
    fast(sandbox)
    with WireProxy(sandbox.base_url) as wire:
        yield wire


def _seed(sb: Sandbox, cases: list[tuple[str, str, Hostile]]) -> list[str]:
    """One record per case, every property set; their HubSpot ids in case order."""
    ids: list[str] = []
    for i, (kind, _, _) in enumerate(cases):
        props = (exam_props(mock_exam_name=f"Wire {i}") if kind == EXAMS
                 else contact_props(f"WIRE{i}", sj_credits="4", cs_credits="4"))
        ids += sb.seed(kind, [{**props, **EXTRA[kind]}])
    return ids


def _hostile(cases: list[tuple[str, str, Hostile]], ids: list[str]) -> Any:
    def rewrite(_method: str, _path: str, status: int, body: bytes) -> bytes:
        if status >= 300:
            return body
        for (_, prop, shape), hid in zip(cases, ids, strict=True):
            body = rewrite_record(body, hid, prop, shape)
        return body

    return rewrite


def _state(url: str) -> dict[str, Any]:
    """Every exam and contact row as stored, and the credit ledger's length."""
    exams = q(url, "SELECT * FROM hubspot_sync.hubspot_mock_exams ORDER BY hubspot_id")
    contacts = q(url, "SELECT * FROM hubspot_sync.hubspot_contact_credits ORDER BY hubspot_id")
    drop = {"updated_at", "hubspot_last_sync_at"}
    return {
        "rows": {r["hubspot_id"]: {k: v for k, v in r.items() if k not in drop}
                 for r in exams + contacts},
        "ledger": one(url, "SELECT count(*) FROM hubspot_sync.credit_ledger"),
    }


def _letters(url: str) -> dict[str, str]:
    rows = q(url, "SELECT entity_id, error FROM hubspot_sync.sync_errors "
                  "WHERE direction = 'pull' AND NOT resolved")
    return {r["entity_id"]: r["error"] for r in rows}


def _check_refused(url: str, cases: list[tuple[str, str, Hostile]], ids: list[str],
                   before: dict[str, Any]) -> None:
    letters = _letters(url)
    after = _state(url)
    problems = []
    for (kind, prop, shape), hid in zip(cases, ids, strict=True):
        case = f"{KINDS[kind]} {prop} {shape.name}"
        want = f"property {prop} {shape.says_property}"
        if want not in letters.get(hid, ""):
            problems.append(f"{case}: dead letter {letters.get(hid)!r}, expected {want!r}")
        if after["rows"].get(hid) != before["rows"].get(hid):
            problems.append(f"{case}: stored {before['rows'].get(hid)} -> {after['rows'].get(hid)}")
    assert after["ledger"] == before["ledger"], "the credit ledger moved"
    assert problems == [], "\n".join(problems[:30])


def _touch_all(sb: Sandbox, cases: list[tuple[str, str, Hostile]], ids: list[str]) -> None:
    """An admin's edit of each record (a property the webhooks are subscribed to)."""
    for (kind, _, _), hid in zip(cases, ids, strict=True):
        sb.touch(kind, hid, **({"location": "edited"} if kind == EXAMS else {"lastname": "E"}))


@pytest.mark.parametrize("path", ["pull", "import", "reconcile", "repair", "webhooks"])
def test_every_hostile_value_of_every_property_on_every_reading_path(
    push_db: str, sandbox: Sandbox, proxy: WireProxy, monkeypatch, capsys, path: str
) -> None:
    command = {"repair": "reconcile", "webhooks": "pull"}.get(path, path)
    cases = _cases(command)
    ids = _seed(sandbox, cases)
    env = env_for(push_db, sandbox, HUBSPOT_BASE_URL=proxy.url)
    if path != "import":  # the records in Postgres first, read as they are
        code, out, err = run_main(["pull"], env, monkeypatch, capsys)
        assert code == 0, (code, out, err)
    before = _state(push_db)
    proxy.rewrite = _hostile(cases, ids)
    if path == "webhooks":
        _through_webhooks(push_db, sandbox, proxy, cases, ids)
    else:
        if path != "import":
            _touch_all(sandbox, cases, ids)
        args = {"repair": ["reconcile", "--repair"]}.get(path, [path])
        code, out, err = run_main(args, env, monkeypatch, capsys)
        assert "Traceback" not in err, err
        # pull, import: records not applied; reconcile: drift (HubSpot's values unreadable)
        assert code == 1, (code, out, err[-2000:])
    assert proxy.rewritten
    if path == "reconcile":  # a report: nothing stored, nothing dead-lettered
        assert _state(push_db) == before
        return
    _check_refused(push_db, cases, ids, before)


def _through_webhooks(url: str, sb: Sandbox, proxy: WireProxy,
                      cases: list[tuple[str, str, Hostile]], ids: list[str]) -> None:
    """Changes delivered by the sandbox's webhooks; the processor reads the records again
    through the proxy."""
    from pull_helpers import hubspot
    from test_webhooks import wait_for

    from glue.sandbox.webhooks import attach
    from glue.sync.webhooks import WebhookConfig, WebhookService

    settings, _, reader = hubspot(url, sb, hubspot_base_url=proxy.url)
    service = WebhookService(settings, settings.database_url, WebhookConfig(secret=SECRET),
                             reader=reader)
    port = service.start()
    sender = attach(sb, f"http://127.0.0.1:{port}/webhooks/hubspot", SECRET,
                    retry_delays=(0.2,) * 9)
    try:
        _touch_all(sb, cases, ids)

        def settled() -> bool:
            return sender.idle() and one(url, "SELECT count(*) = 0 FROM hubspot_sync."
                                              "webhook_events WHERE processed_at IS NULL")

        wait_for(settled, timeout=120)
    finally:
        sender.stop()
        service.stop()


# ---- an empty value: what the catalogue declares ------------------------------------------------
@pytest.mark.parametrize("path", ["pull", "import", "repair", "webhooks"])
def test_an_empty_value_declared_unknown_keeps_the_stored_one_on_every_path(
    push_db: str, sandbox: Sandbox, proxy: WireProxy, monkeypatch, capsys, path: str
) -> None:
    empty = next(s for s in VALUES if s.name == "empty string")
    command = {"repair": "reconcile", "webhooks": "pull"}.get(path, path)
    cases = [(kind, prop.name, empty) for kind, name in KINDS.items()
             for prop in SYNCED[name].select(reads=command) if prop.empty == "unknown"]
    assert any(prop == "mock_exam_name" for _, prop, _ in cases)
    ids = _seed(sandbox, cases)
    env = env_for(push_db, sandbox, HUBSPOT_BASE_URL=proxy.url)
    assert run_main(["pull"], env, monkeypatch, capsys)[0] == 0
    before = _state(push_db)
    proxy.rewrite = _hostile(cases, ids)
    if path == "webhooks":
        _through_webhooks(push_db, sandbox, proxy, cases, ids)
    else:
        _touch_all(sandbox, cases, ids)
        args = {"repair": ["reconcile", "--repair"]}.get(path, [path])
        code, out, err = run_main(args, env, monkeypatch, capsys)
        assert "Traceback" not in err and code in (0, 1), (code, out, err[-2000:])
    assert proxy.rewritten
    after = _state(push_db)
    changed = [f"{KINDS[kind]} {prop}: {before['rows'][hid][_column(prop)]!r} -> "
               f"{after['rows'][hid][_column(prop)]!r}"
               for (kind, prop, _), hid in zip(cases, ids, strict=True)
               if after["rows"][hid][_column(prop)] != before["rows"][hid][_column(prop)]]
    assert changed == [] and not _letters(push_db), changed
    assert after["ledger"] == before["ledger"]


def _column(prop: str) -> str:
    return next(p.local for s in SYNCED.values() for p in s.props if p.name == prop)


# ---- the push's answers -----------------------------------------------------------------------
def test_a_hostile_value_in_the_push_answer_is_never_taken_as_written(
    push_db: str, sandbox: Sandbox, proxy: WireProxy, monkeypatch, capsys
) -> None:
    """Each booking's upsert answer carries one hostile value of one property the push writes:
    the booking is not taken as written (no HubSpot id stored), it is dead-lettered naming the
    property and the fault (one attempt allowed), and the push exits 1."""
    from push_helpers import book, make_world

    props = [p.name for p in SYNCED["bookings"].select(writes="push")]
    cases = [(prop, shape) for prop in props for shape in PROPERTY_VALUES]
    world = make_world(push_db, sandbox, students=len(cases), exams=1)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    case_of = dict(zip(world.students, cases, strict=True))
    codes = {r["booking_id"]: case_of[r["student_id"]] for r in q(
        push_db, "SELECT booking_id, student_id FROM hubspot_sync.hubspot_bookings")}

    def rewrite(_method: str, path: str, status: int, body: bytes) -> bytes:
        if not path.endswith("/batch/upsert") or status >= 300:
            return body
        for code, (prop, shape) in codes.items():
            at = body.find(b'"booking_id": "%s"' % code.encode())
            if at >= 0:  # the record's properties object around it
                start, end = body.rfind(b"{", 0, at), body.find(b"}", at)
                body = rewrite_value(body, prop.encode(), shape, start, end)
        return body

    proxy.rewrite = rewrite
    env = env_for(push_db, sandbox, HUBSPOT_BASE_URL=proxy.url, MOCKBOOK_MAX_ATTEMPTS="1")
    code, out, err = run_main(["push", "--linger", "0"], env, monkeypatch, capsys)
    assert "Traceback" not in err and code == 1, (code, out, err[-2000:])
    rows = q(push_db, "SELECT b.booking_id, b.hubspot_id, e.error FROM hubspot_sync."
                      "hubspot_bookings AS b LEFT JOIN hubspot_sync.sync_errors AS e "
                      "ON e.entity_id = b.id::text AND e.direction = 'push'")
    problems = []
    for row in rows:
        prop, shape = codes[row["booking_id"]]
        want = f"property {prop} {shape.says_property}"
        if row["hubspot_id"] is not None or want not in (row["error"] or ""):
            problems.append(f"{prop} {shape.name}: {row}")
    assert problems == [], "\n".join(problems[:20])


# ---- a wrong-shaped answer: one line, exit 75 ----------------------------------------------------
@pytest.mark.parametrize("shape", ANSWERS, ids=lambda s: s.name)
def test_every_wrong_shape_is_one_hubspot_error(
    sandbox: Sandbox, proxy: WireProxy, shape: Hostile
) -> None:
    """Every answer shape, on every kind of answer the glue reads records or per-input errors
    from (a search, a batch read, update and upsert, an associations create and read, the
    schemas): a transient HubSpot error (retried, then exit 75) in one short line, whatever part
    of the answer is wrong."""
    from pull_helpers import hubspot, seed_exams

    from glue.hubspot import wire
    from glue.hubspot.client import CONTACTS

    hid = seed_exams(sandbox, [{}])[0]
    cid = sandbox.seed(CONTACTS, [{"email": "wire@example.com"}])[0]
    _, client, reader = hubspot("postgresql://unused", sandbox,
                                       hubspot_base_url=proxy.url)
    client.backoff_base = 0.0
    proxy.rewrite = lambda _m, _p, status, body: shape.body(body) if status < 300 else body
    calls = {
        "search": lambda: reader.search(EXAMS, [], properties=["mock_exam_name"]),
        "batch read": lambda: reader.read(EXAMS, [hid], properties=["mock_exam_name"]),
        "batch update": lambda: client.update(EXAMS, [{"id": hid,
                                                       "properties": {"location": "x"}}]),
        "batch upsert": lambda: client.upsert(CONTACTS, "email", [
            {"id": "wire@example.com", "properties": {"firstname": "W"}}]),
        "associations create": lambda: client.associate(CONTACTS, EXAMS, [(cid, hid)]),
        "associations read": lambda: client.associations(CONTACTS, EXAMS, [cid]),
        "schemas": lambda: client.call("list schemas",
                                       client.schemas_api.get_all_with_http_info,
                                       shape=wire.SCHEMAS),
    }
    errors = []
    for name, call in calls.items():
        requests = len(sandbox.requests)
        try:  # (a shape about a part this answer lacks leaves it as it is)
            call()
        except HubSpotError as exc:
            errors.append(exc)
            assert len(sandbox.requests) - requests == 1 + client.max_retries, name  # retried
    said = [str(e) for e in errors]
    assert errors and all(e.category == UNREADABLE and e.transient for e in errors), said
    assert any(shape.says in s for s in said), said
    assert all(len(s) < 400 and "\n" not in s for s in said), said
    if shape in LIST_ANSWERS:  # wrong for every answer of a list: every call refused it
        assert len(errors) == len(calls), said


@pytest.mark.parametrize("command", [
    ["pull"], ["import"], ["reconcile"], ["reconcile", "--repair"], ["push", "--linger", "0"],
    ["notes", "--settle-seconds", "0"], ["hubspot", "setup", "--check"], ["run"],
], ids=lambda c: " ".join(c[:2]))
def test_every_command_exits_75_on_a_wrong_shaped_answer(
    push_db: str, sandbox: Sandbox, proxy: WireProxy, monkeypatch, capsys,
    command: list[str]
) -> None:
    """Each command that calls HubSpot, its answers wrong-shaped one after the other (each
    shape of LIST_ANSWERS in turn, on every answer of records it reads or writes): one line,
    exit 75, the calls retried; nothing dead-lettered, and no outbox attempt spent (HubSpot may
    have written what it answered for: the rows are given back)."""
    from push_helpers import book, make_world

    world = make_world(push_db, sandbox, students=2, exams=1)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    env = env_for(push_db, sandbox, HUBSPOT_BASE_URL=proxy.url)
    if command[0] == "notes":  # the bookings in HubSpot first: their notes need their ids
        assert run_main(["push", "--linger", "0"], env, monkeypatch, capsys)[0] == 0
    before = q(push_db, "SELECT id, attempts FROM hubspot_sync.sync_queue ORDER BY id")
    served = iter(LIST_ANSWERS * 1000)

    def wrong(path: str) -> bool:
        """setup: the lists of the portal's definitions (schemas, properties, labels); the
        others: their record reads and writes (their start-up check of the portal reads the
        definitions as they are)"""
        return command[0] == "hubspot" or "/search" in path or "/batch/" in path

    def rewrite(_method: str, path: str, status: int, body: bytes) -> bytes:
        return next(served).body(body) if status < 300 and wrong(path) else body

    proxy.rewrite = rewrite
    code, out, err = run_main(command, env, monkeypatch, capsys, waits=False)
    assert code == 75 and "Traceback" not in err, (code, out, err[-2000:])
    said = out + err + json.dumps(q(push_db, "SELECT last_error FROM hubspot_sync.sync_queue"),
                                  default=str)
    assert "not HubSpot's JSON" in said, (out, err)
    assert proxy.rewritten >= 3  # the call, and the client's retries of it
    letters = q(push_db, "SELECT entity_id, error FROM hubspot_sync.sync_errors")
    assert letters == [], letters
    after = q(push_db, "SELECT id, attempts FROM hubspot_sync.sync_queue ORDER BY id")
    assert after == before, (before, after)


# ---- a 429's Retry-After: HubSpot's windows bound every wait -------------------------------------
# what a proxy or a broken gateway may put in a 429's Retry-After: none is waited out as it says
RETRY_AFTERS = ("99999999", "inf", "1e400", "NaN", "-5", "soon",
                "Fri, 31 Dec 9999 23:59:59 GMT")


@pytest.mark.parametrize("command", [
    ["pull"], ["import"], ["reconcile"], ["push", "--linger", "0"],
    ["notes", "--settle-seconds", "0"], ["hubspot", "setup", "--check"], ["run"],
], ids=lambda c: " ".join(c[:2]))
def test_every_command_waits_a_429_out_within_hubspots_window(
    push_db: str, sandbox: Sandbox, proxy: WireProxy, monkeypatch, capsys, command: list[str]
) -> None:
    """Every other answer a 429 whose Retry-After (and rate-limit interval) is garbage or
    beyond HubSpot's longest window (10 s): each wait the client makes is at most 10 s (the
    waits are recorded, not slept), and the command ends as it would without the 429s (this
    world's exams lack HubSpot's type: the pull leaves them, reconcile reports them, exit 1)."""
    from push_helpers import book, make_world

    from glue.hubspot.client import MAX_RETRY_AFTER, HubSpotClient

    world = make_world(push_db, sandbox, students=2, exams=1)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    env = env_for(push_db, sandbox, HUBSPOT_BASE_URL=proxy.url)
    if command[0] != "push":  # the bookings in HubSpot first: the others then find no drift
        assert run_main(["push", "--linger", "0"], env, monkeypatch, capsys)[0] == 0
    waits: list[float] = []
    monkeypatch.setattr(HubSpotClient, "_pause", lambda _self, seconds: waits.append(seconds))
    answers = iter(range(10**6))

    def restatus(_method: str, _path: str, status: int) -> tuple[int, dict[str, str]] | None:
        n = next(answers)
        if status >= 300 or n % 2 or n >= 2 * len(RETRY_AFTERS):
            return None
        return 429, {"Retry-After": RETRY_AFTERS[n // 2],
                     "X-HubSpot-RateLimit-Interval-Milliseconds": "99999999"}

    proxy.restatus = restatus
    code, out, err = run_main(command, env, monkeypatch, capsys)
    assert code in (0, 1) and "Traceback" not in err, (code, out, err[-2000:])
    assert "429" not in out + err, (out, err)  # every call went through in the end
    assert len(waits) == len(RETRY_AFTERS), waits
    assert all(0 <= w <= MAX_RETRY_AFTER for w in waits), waits


# ---- the webhook intake: the signed body is the hostile bytes -----------------------------
def _event(i: int) -> bytes:
    return (b'{"eventId": %d, "subscriptionId": 7, "portalId": 42, "occurredAt": %d, '
            b'"subscriptionType": "object.propertyChange", "objectTypeId": "2-1", '
            b'"objectId": %d, "propertyName": "capacity", "propertyValue": "12"}'
            % (1000 + i, int(time.time() * 1000), 5000 + i))


EVENT_FIELDS = ("eventId", "subscriptionId", "occurredAt", "objectId", "subscriptionType")
NUMBERS = {"eventId", "subscriptionId", "occurredAt", "objectId"}
SAMPLE = b"[" + _event(0) + b"]"


def _event_cases() -> list[tuple[str, Hostile]]:
    """(field, shape) pairs where the shape makes the event malformed: a small whole number is
    an id's or a time's, and null an optional field's."""
    return [(f, s) for f in EVENT_FIELDS for s in VALUES if s.says_event
            and not (s.name == "number" and f in NUMBERS)
            and not (s.raw == b"null" and f == "subscriptionId")]


@pytest.fixture
def intake(push_db: str) -> Iterator[tuple[str, str]]:
    from pull_helpers import open_db

    from glue.sync.webhook_server import HttpServer
    from glue.sync.webhook_store import EventStore
    from glue.sync.webhooks import WebhookConfig, build_app

    db = open_db(push_db)
    store = EventStore(db)
    server = HttpServer(build_app(WebhookConfig(secret=SECRET), store.store), "127.0.0.1", 0)
    port = server.start()
    try:
        yield f"http://127.0.0.1:{port}/webhooks/hubspot", push_db
    finally:
        server.stop()
        store.close()
        db.close()


def _post(url: str, body: bytes) -> urllib3.BaseHTTPResponse:
    ts = str(int(time.time() * 1000))
    return urllib3.request("POST", url, body=body, retries=False, timeout=10, headers={
        "Content-Type": "application/json", TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: sign_v3(SECRET, "POST", url, body, ts)})


@pytest.mark.parametrize(("field", "shape"), _event_cases(),
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_a_malformed_event_gets_400_and_the_others_are_stored(
    intake: tuple[str, str], field: str, shape: Hostile
) -> None:
    url, db = intake
    events = [_event(0), rewrite_value(_event(1), field.encode(), shape), _event(2)]
    answer = _post(url, b"[" + b", ".join(events) + b"]")
    said = answer.data.decode()
    assert answer.status == 400, said
    body = json.loads(said)
    assert body["stored"] == 2 and [r["index"] for r in body["refused"]] == [1], body
    assert field in body["refused"][0]["why"], body
    stored = q(db, "SELECT event_id FROM hubspot_sync.webhook_events ORDER BY event_id")
    assert [r["event_id"] for r in stored] == [1000, 1002]


@pytest.mark.parametrize("shape", [s for s in ANSWERS if s.body(SAMPLE) != SAMPLE],
                         ids=lambda s: s.name)
def test_a_malformed_body_gets_400_and_nothing_is_stored(
    intake: tuple[str, str], shape: Hostile
) -> None:
    url, db = intake
    answer = _post(url, shape.body(SAMPLE))
    assert answer.status == 400, answer.data[:300]
    assert one(db, "SELECT count(*) FROM hubspot_sync.webhook_events") == 0
