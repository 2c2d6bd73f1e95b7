"""The HubSpot sandbox, driven by the official SDK: objects v3 single and batch calls, schemas,
auth, state helpers and the conformance checker. Fixtures assert, after every test, that each
request and response conformed to HubSpot's OpenAPI specs."""

from __future__ import annotations

import json
import re
import socket
import threading
import uuid

import pytest
import sandbox_fixtures
from hubspot.crm.objects import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.schemas import (
    ObjectSchemaEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypePropertyCreate,
)
from sandbox_fixtures import TOKEN, make_client

from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Conformance, Sandbox

# Shared fixtures (a fresh conformance-checked sandbox per test, and an SDK client for it).
sandbox = sandbox_fixtures.sandbox
hubspot_client = sandbox_fixtures.hubspot_client

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _body(exc: ApiException) -> dict:
    return json.loads(exc.body)


def _assert_error_shape(body: dict, category: str) -> None:
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["message"]
    uuid.UUID(body["correlationId"])


def _create(client, type_id: str, **props: str):
    return client.crm.objects.basic_api.create(
        type_id, SimplePublicObjectInputForCreate(properties=props, associations=[])
    )


def _upsert_inputs(rows: list[tuple[str, dict]], traces: bool = True):
    return BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            SimplePublicObjectBatchInputUpsert(
                id=key,
                id_property="booking_id",
                properties=props,
                object_write_trace_id=f"trace-{key}" if traces else None,
            )
            for key, props in rows
        ]
    )


# ---- single objects --------------------------------------------------------------------------
def test_single_object_lifecycle_and_shapes(sandbox: Sandbox, hubspot_client) -> None:
    api = hubspot_client.crm.objects.basic_api
    created, status, headers = api.create_with_http_info(
        BOOKINGS,
        SimplePublicObjectInputForCreate(
            properties={"booking_id": "BK-1", "name": "Ada"}, associations=[]
        ),
    )
    assert status == 201
    assert headers["X-HubSpot-RateLimit-Max"] == "100"
    props = created.properties
    assert all(isinstance(v, str) for v in props.values())
    assert props["hs_object_id"] == created.id
    for name in ("createdate", "hs_createdate", "hs_lastmodifieddate"):
        assert ISO_MS.match(props[name]), name

    by_key = api.get_by_id(
        BOOKINGS, "BK-1", id_property="booking_id", properties=["name", "booking_id"]
    )
    assert by_key.id == created.id and by_key.properties["name"] == "Ada"
    default_only = api.get_by_id(BOOKINGS, created.id)
    assert "name" not in default_only.properties  # reads return defaults plus what was asked

    updated = api.update(
        BOOKINGS,
        "BK-1",
        SimplePublicObjectInput(properties={"name": "Bea"}),
        id_property="booking_id",
    )
    assert updated.properties["name"] == "Bea"
    assert updated.properties["hs_lastmodifieddate"] >= props["hs_lastmodifieddate"]

    _, status, _ = api.archive_with_http_info(BOOKINGS, created.id)
    assert status == 204
    with pytest.raises(ApiException) as err:
        api.get_by_id(BOOKINGS, created.id)
    assert err.value.status == 404
    _assert_error_shape(_body(err.value), "OBJECT_NOT_FOUND")
    assert sandbox.objects(BOOKINGS)[0]["archived"] is True


def test_contacts_use_lastmodifieddate_and_unique_email(sandbox: Sandbox, hubspot_client) -> None:
    contact = _create(hubspot_client, "contacts", email="Ada@Example.com", firstname="Ada")
    assert ISO_MS.match(contact.properties["lastmodifieddate"])
    assert "hs_lastmodifieddate" not in contact.properties
    with pytest.raises(ApiException) as err:
        _create(hubspot_client, CONTACTS, email="ada@example.com")
    assert err.value.status == 409
    body = _body(err.value)
    _assert_error_shape(body, "CONFLICT")
    assert f"Existing ID: {contact.id}" in body["message"]
    assert sandbox.get_by("contacts", "email", "Ada@Example.com")["id"] == contact.id


def test_auth_required_when_token_set(sandbox: Sandbox) -> None:
    for token in (None, "wrong-token"):
        with pytest.raises(ApiException) as err:
            _create(make_client(sandbox, token), BOOKINGS, booking_id="X")
        assert err.value.status == 401
        _assert_error_shape(_body(err.value), "INVALID_AUTHENTICATION")
    assert sandbox.objects(BOOKINGS) == []


def test_reject_when_refuses_single_write(sandbox: Sandbox, hubspot_client) -> None:
    sandbox.reject_when(BOOKINGS, lambda p: p.get("name") == "poison", "name is poisoned")
    with pytest.raises(ApiException) as err:
        _create(hubspot_client, BOOKINGS, booking_id="P", name="poison")
    assert err.value.status == 400
    body = _body(err.value)
    _assert_error_shape(body, "VALIDATION_ERROR")
    assert body["message"] == "name is poisoned"
    assert sandbox.objects(BOOKINGS) == []


# ---- batch create ----------------------------------------------------------------------------
def _create_batch(rows: list[dict], traces: list[str | None]):
    return BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            SimplePublicObjectBatchInputForCreate(
                properties=row, associations=[], object_write_trace_id=trace
            )
            for row, trace in zip(rows, traces, strict=True)
        ]
    )


def test_batch_create_201(sandbox: Sandbox, hubspot_client) -> None:
    rows = [{"booking_id": f"B{i}"} for i in range(3)]
    res, status, _ = hubspot_client.crm.objects.batch_api.create_with_http_info(
        BOOKINGS, _create_batch(rows, [None] * 3)
    )
    assert status == 201
    assert res.status == "COMPLETE" and len(res.results) == 3
    assert res.started_at and res.completed_at


def test_batch_create_207_only_with_unique_trace_ids(sandbox: Sandbox, hubspot_client) -> None:
    sandbox.reject_when(BOOKINGS, lambda p: p.get("booking_id") == "BAD", "booking is invalid")
    rows = [{"booking_id": "OK1"}, {"booking_id": "BAD"}, {"booking_id": "OK2"}]
    batch = hubspot_client.crm.objects.batch_api

    # Without trace ids (or with a repeated one) one bad input fails the whole batch.
    for traces in ([None, None, None], ["t1", "t2", "t1"], ["t1", "t2", None]):
        with pytest.raises(ApiException) as err:
            batch.create(BOOKINGS, _create_batch(rows, traces))
        assert err.value.status == 400
        _assert_error_shape(_body(err.value), "VALIDATION_ERROR")
        assert sandbox.objects(BOOKINGS) == []

    res, status, _ = batch.create_with_http_info(BOOKINGS, _create_batch(rows, ["a", "b", "c"]))
    assert status == 207
    assert sorted(r.properties["booking_id"] for r in res.results) == ["OK1", "OK2"]
    assert {r.object_write_trace_id for r in res.results} == {"a", "c"}
    assert res.num_errors == 1
    error = res.errors[0]
    assert error.category == "VALIDATION_ERROR" and error.message == "booking is invalid"
    assert error.context["objectWriteTraceId"] == ["b"]
    assert len(sandbox.objects(BOOKINGS)) == 2


def test_batch_cap_is_100_inputs(sandbox: Sandbox, hubspot_client) -> None:
    batch = hubspot_client.crm.objects.batch_api
    rows = [{"booking_id": f"B{i}"} for i in range(101)]
    with pytest.raises(ApiException) as err:
        batch.create(BOOKINGS, _create_batch(rows, [None] * 101))
    assert err.value.status == 400
    body = _body(err.value)
    _assert_error_shape(body, "VALIDATION_ERROR")
    assert "100" in body["message"]
    with pytest.raises(ApiException) as err:
        batch.upsert(BOOKINGS, _upsert_inputs([(f"B{i}", {}) for i in range(101)]))
    assert err.value.status == 400
    assert sandbox.objects(BOOKINGS) == []
    res = batch.create(BOOKINGS, _create_batch(rows[:100], [None] * 100))
    assert len(res.results) == 100


# ---- upsert, update, read, archive ----------------------------------------------------------
def test_upsert_by_booking_id_never_duplicates(sandbox: Sandbox, hubspot_client) -> None:
    batch = hubspot_client.crm.objects.batch_api
    rows = [(f"BK-{i}", {"name": f"n{i}"}) for i in range(5)]
    first, status, _ = batch.upsert_with_http_info(BOOKINGS, _upsert_inputs(rows))
    assert status == 200
    assert all(r.new for r in first.results)
    again = batch.upsert(BOOKINGS, _upsert_inputs([(k, {"name": "v2"}) for k, _ in rows]))
    assert not any(r.new for r in again.results)
    assert {r.id for r in again.results} == {r.id for r in first.results}

    # Concurrent retries of the same batch (a crashed-and-restarted pusher) stay idempotent.
    def push() -> None:
        make_client(sandbox).crm.objects.batch_api.upsert(
            BOOKINGS, _upsert_inputs([(f"BK-{i}", {"name": "v3"}) for i in range(8)])
        )

    threads = [threading.Thread(target=push) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [o["properties"]["booking_id"] for o in sandbox.objects(BOOKINGS)]
    assert sorted(keys) == sorted(f"BK-{i}" for i in range(8))


def test_upsert_rejects_duplicate_ids_and_non_unique_id_property(
    sandbox: Sandbox, hubspot_client
) -> None:
    batch = hubspot_client.crm.objects.batch_api
    with pytest.raises(ApiException) as err:
        batch.upsert(BOOKINGS, _upsert_inputs([("A", {}), ("A", {})], traces=False))
    assert err.value.status == 400
    bad = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[SimplePublicObjectBatchInputUpsert(id="x", id_property="name", properties={})]
    )
    with pytest.raises(ApiException) as err:
        batch.upsert(BOOKINGS, bad)
    assert err.value.status == 400
    assert sandbox.objects(BOOKINGS) == []


def test_upsert_207_partial_failure(sandbox: Sandbox, hubspot_client) -> None:
    sandbox.reject_when(BOOKINGS, lambda p: p.get("name") == "poison", "poisoned")
    res, status, _ = hubspot_client.crm.objects.batch_api.upsert_with_http_info(
        BOOKINGS, _upsert_inputs([("A", {"name": "ok"}), ("B", {"name": "poison"})])
    )
    assert status == 207
    assert [r.properties["booking_id"] for r in res.results] == ["A"]
    assert res.errors[0].context["objectWriteTraceId"] == ["trace-B"]
    assert sandbox.get_by(BOOKINGS, "booking_id", "B") is None


def test_batch_update_read_archive(sandbox: Sandbox, hubspot_client) -> None:
    batch = hubspot_client.crm.objects.batch_api
    ids = sandbox.seed(EXAMS, [{"total_bookings": "0"}, {"total_bookings": "1"}])
    upd = BatchInputSimplePublicObjectBatchInput(
        inputs=[
            SimplePublicObjectBatchInput(id=ids[0], properties={"total_bookings": "5"}),
            SimplePublicObjectBatchInput(id="999999", properties={"total_bookings": "5"}),
        ]
    )
    res, status, _ = batch.update_with_http_info(EXAMS, upd)
    assert status == 207
    assert res.errors[0].category == "OBJECT_NOT_FOUND"
    assert sandbox.get(EXAMS, ids[0])["properties"]["total_bookings"] == "5"

    read = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i in ids],
        properties=["total_bookings"],
        properties_with_history=[],
    )
    res, status, _ = batch.read_with_http_info(EXAMS, read)
    assert status == 200
    assert sorted(r.properties["total_bookings"] for r in res.results) == ["1", "5"]
    read.inputs.append(SimplePublicObjectId(id="424242"))
    res, status, _ = batch.read_with_http_info(EXAMS, read)
    assert status == 207
    assert res.errors[0].context["ids"] == ["424242"]

    _, status, _ = batch.archive_with_http_info(
        EXAMS, BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=ids[0])])
    )
    assert status == 204
    assert [o["archived"] for o in sandbox.objects(EXAMS)] == [True, False]


# ---- schemas, state helpers --------------------------------------------------------------------
def test_schemas_list_get_create(sandbox: Sandbox, hubspot_client) -> None:
    schemas = hubspot_client.crm.schemas.core_api
    names = {s.name: s.object_type_id for s in schemas.get_all().results}
    assert names["bookings"] == BOOKINGS and names["mock_exams"] == EXAMS
    assert schemas.get_by_id(BOOKINGS).name == "bookings"
    egg = ObjectSchemaEgg(
        name="rooms",
        labels=ObjectTypeDefinitionLabels(singular="Room", plural="Rooms"),
        required_properties=[],
        associated_objects=["CONTACT"],
        properties=[
            ObjectTypePropertyCreate(
                name="room_code",
                label="Room",
                type="string",
                field_type="text",
                has_unique_value=True,
            )
        ],
    )
    created = schemas.create(egg)
    assert created.object_type_id.startswith("2-")
    res = hubspot_client.crm.objects.batch_api.upsert(
        created.object_type_id,
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(id="R1", id_property="room_code", properties={})
            ]
        ),
    )
    assert res.results[0].new is True


def test_register_object_type_seed_touch_and_reset(sandbox: Sandbox, hubspot_client) -> None:
    sandbox.register_object_type("2-777", "widgets", unique_properties=["sku"])
    [wid] = sandbox.seed("2-777", [{"sku": "W1", "qty": 3}])
    before = sandbox.get("2-777", wid)
    sandbox.touch("2-777", wid, qty="4")
    after = sandbox.get("2-777", wid)
    assert after["properties"]["qty"] == "4"
    assert after["properties"]["hs_lastmodifieddate"] >= before["properties"]["hs_lastmodifieddate"]
    got = hubspot_client.crm.objects.basic_api.get_by_id(
        "2-777", "W1", id_property="sku", properties=["qty"]
    )
    assert got.properties["qty"] == "4"
    assert sandbox.requests[-1]["path"] == "/crm/v3/objects/2-777/W1"
    assert sandbox.stats["calls"] == 1
    sandbox.faults.error_rate = 0.5
    sandbox.reset()
    assert sandbox.objects("2-777") == [] and sandbox.requests == []
    assert sandbox.stats["calls"] == 0 and sandbox.faults.error_rate == 0


# ---- conformance --------------------------------------------------------------------------------
def test_malformed_request_is_reported_by_conformance(sandbox: Sandbox) -> None:
    import urllib.request

    bad = json.dumps({"inputs": [{"properties": {"booking_id": 7}}]}).encode()  # not a string
    req = urllib.request.Request(
        f"{sandbox.base_url}/crm/v3/objects/{BOOKINGS}/batch/create",
        data=bad,
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:  # the sandbox, like HubSpot, is lenient...
        assert resp.status == 201
    failures = list(sandbox.conformance_failures)
    # ... but the exchange breaks the spec twice: an integer value and no 'associations'.
    assert any("is not of type 'string'" in f for f in failures), failures
    assert any("'associations' is a required property" in f for f in failures), failures
    sandbox.conformance_failures.clear()


def test_conformance_checker_directly() -> None:
    checker = Conformance()
    ok = {
        "id": "1",
        "properties": {"a": "b"},
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z",
        "archived": False,
    }
    create = {"properties": {"a": "b"}, "associations": []}
    assert checker.check("POST", "/crm/v3/objects/contacts", None, {}, create, 201, {}, ok) == []
    problems = checker.check(
        "POST",
        "https://api.hubapi.com/crm/v3/objects/2-1",
        None,
        {},
        create,
        201,
        {},
        {**ok, "id": 1},
    )
    assert problems and all("1 is not of type 'string'" in p for p in problems)
    assert len(problems) == 2  # checked against the generic and the custom-objects spec
    search = checker.check(
        "POST", "/crm/v3/objects/0-1/search", None, {}, {"filterGroups": []}, None
    )
    assert any("'after' is a required property" in p for p in search)
    assert checker.check("GET", "/crm/v3/unknown", None, {}, None, 200, {}, {})
    error = {"status": "error", "message": "x", "correlationId": "not-a-uuid"}
    assert checker.check(
        "GET", "/crm/v4/objects/0-1/1/associations/0-46", None, {}, None, 404, {}, error
    )


def test_an_exchange_checked_again_is_not_validated_again(monkeypatch) -> None:
    """Each half of a check is kept under what it reads: the same exchange again is answered
    without validating; another body, status or a header the spec declares is validated."""
    from openapi_core import OpenAPI

    validated: list[str] = []
    for half in ("request", "response"):
        real = getattr(OpenAPI, f"iter_{half}_errors")

        def counted(self, *args, _real=real, _half=half):
            validated.append(_half)
            return _real(self, *args)

        monkeypatch.setattr(OpenAPI, f"iter_{half}_errors", counted)
    checker = Conformance()
    unique = uuid.uuid4().hex  # nothing this process checked before
    create = {"properties": {"note": unique}, "associations": []}
    ok = {"id": "1", "properties": {"note": unique}, "createdAt": "2024-01-01T00:00:00.000Z",
          "updatedAt": "2024-01-01T00:00:00.000Z", "archived": False}

    def check(answer: dict, headers: dict | None = None) -> list[str]:
        validated.clear()
        return checker.check("POST", "/crm/v3/objects/2-1", None, {}, create, 201,
                             headers or {}, answer)

    assert check(ok) == [] and validated == ["request", "response"] * 2  # objects and custom
    assert check(ok) == [] and validated == []
    wrong = check({**ok, "id": 1})  # the same request, another answer
    assert wrong and all("1 is not of type 'string'" in p for p in wrong)
    assert validated == ["response", "response"]
    assert check({**ok, "id": 1}) == wrong and validated == []
    assert check(ok, {"X-HubSpot-RateLimit-Remaining": "7"}) == [] and validated == []
    # a header the spec declares (Location, of a created property) is part of what is read
    prop = {"name": f"p{unique}", "label": "P", "type": "string", "fieldType": "text",
            "groupName": "g"}
    answered = {**prop, "createdAt": "2024-01-01T00:00:00.000Z"}
    for location, checked in (("/a", ["request", "response"]), ("/b", ["response"]),
                              ("/b", [])):
        validated.clear()
        checker.check("POST", "/crm/v3/properties/contacts", None, {}, prop, 201,
                      {"Location": location}, answered)
        assert validated == checked, location


def test_a_request_cut_off_mid_body_is_never_acted_on(sandbox: Sandbox) -> None:
    """A writer killed while sending its body leaves a request the server never got whole.

    HubSpot does not act on it, so the sandbox must not either: nothing stored, nothing logged,
    and no conformance failure for a body that was never sent (a CI run once failed on one).
    """
    body = json.dumps({"inputs": [{"properties": {"booking_id": "cut-1"}, "associations": []}]})
    head = (
        f"POST /crm/v3/objects/{BOOKINGS}/batch/create HTTP/1.1\r\n"
        f"Host: {sandbox.host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    before = len(sandbox.requests)
    with socket.create_connection((sandbox.host, sandbox.port)) as conn:
        conn.sendall(head.encode() + body[: len(body) // 2].encode())
        conn.shutdown(socket.SHUT_WR)  # the writer dies here
        conn.settimeout(10)
        assert conn.recv(1024) == b""  # no answer: the connection is just closed
    assert len(sandbox.requests) == before
    assert sandbox.conformance_failures == []
