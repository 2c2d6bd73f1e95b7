"""Associations v4 in the HubSpot sandbox, through the official SDK."""

from __future__ import annotations

import json

import pytest
import sandbox_fixtures
from hubspot.crm.associations.v4 import (
    ApiException,
    AssociationSpec,
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiArchive,
    PublicAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)

from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, NOTES, Sandbox

# Shared fixtures (a fresh conformance-checked sandbox per test, and an SDK client for it).
sandbox = sandbox_fixtures.sandbox
hubspot_client = sandbox_fixtures.hubspot_client


def _labelled(pairs: list[tuple[str, str]], type_id: int, category: str = "HUBSPOT_DEFINED"):
    return BatchInputPublicAssociationMultiPost(
        inputs=[
            PublicAssociationMultiPost(
                _from=PublicObjectId(id=f),
                to=PublicObjectId(id=t),
                types=[AssociationSpec(association_category=category, association_type_id=type_id)],
            )
            for f, t in pairs
        ]
    )


def test_batch_create_is_idempotent_and_readable(sandbox: Sandbox, hubspot_client) -> None:
    [b1, b2] = sandbox.seed(BOOKINGS, [{"booking_id": "B1"}, {"booking_id": "B2"}])
    [c1] = sandbox.seed(CONTACTS, [{"email": "a@example.com"}])
    type_id = sandbox.association_type_id(BOOKINGS, CONTACTS)
    batch = hubspot_client.crm.associations.v4.batch_api
    for _ in range(2):  # the same association twice keeps one
        res, status, _ = batch.create_with_http_info(
            BOOKINGS, CONTACTS, _labelled([(b1, c1), (b2, c1)], type_id)
        )
        assert status == 201
        assert [(r.from_object_type_id, r.to_object_id) for r in res.results] == [
            (BOOKINGS, c1),
            (BOOKINGS, c1),
        ]
    assert sandbox.associations(BOOKINGS, b1) == [
        {"to_type": CONTACTS, "to_id": c1, "types": [type_id]}
    ]
    back = sandbox.associations(CONTACTS, c1)  # associations are visible from both ends
    assert sorted(a["to_id"] for a in back) == sorted([b1, b2])
    assert back[0]["types"] == [sandbox.association_type_id(CONTACTS, BOOKINGS)]

    read = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=b1)]
    )
    res, status, _ = batch.get_page_with_http_info(BOOKINGS, CONTACTS, read)
    assert status == 200
    [row] = res.results
    assert row._from.id == b1 and row.to[0].to_object_id == c1
    assert row.to[0].association_types[0].type_id == type_id

    read.inputs.append(PublicFetchAssociationsBatchRequest(id="123456"))
    res, status, _ = batch.get_page_with_http_info(BOOKINGS, CONTACTS, read)
    assert status == 207 and res.num_errors == 1


def test_batch_create_reports_missing_objects(sandbox: Sandbox, hubspot_client) -> None:
    [b1] = sandbox.seed(BOOKINGS, [{"booking_id": "B1"}])
    [e1] = sandbox.seed(EXAMS, [{"name": "exam"}])
    type_id = sandbox.association_type_id(BOOKINGS, EXAMS)
    res, status, _ = hubspot_client.crm.associations.v4.batch_api.create_with_http_info(
        BOOKINGS, EXAMS, _labelled([(b1, e1), (b1, "999999")], type_id)
    )
    assert status == 207
    assert [r.to_object_id for r in res.results] == [e1]
    assert res.errors[0].category == "OBJECT_NOT_FOUND"


def test_cap_of_2000_inputs(sandbox: Sandbox, hubspot_client) -> None:
    with pytest.raises(ApiException) as err:
        hubspot_client.crm.associations.v4.batch_api.create(
            BOOKINGS, CONTACTS, _labelled([("1", "2")] * 2001, 1)
        )
    assert err.value.status == 400
    assert json.loads(err.value.body)["category"] == "VALIDATION_ERROR"


def test_default_associations_batch_and_single(sandbox: Sandbox, hubspot_client) -> None:
    [n1] = sandbox.seed(NOTES, [{"hs_note_body": "booked"}])
    [c1, c2] = sandbox.seed(CONTACTS, [{"email": "a@x.io"}, {"email": "b@x.io"}])
    v4 = hubspot_client.crm.associations.v4
    body = BatchInputPublicDefaultAssociationMultiPost(
        inputs=[
            PublicDefaultAssociationMultiPost(_from=PublicObjectId(id=n1), to=PublicObjectId(id=c1))
        ]
    )
    res, status, _ = v4.batch_api.create_default_with_http_info(NOTES, CONTACTS, body)
    assert status == 200
    specs = {(r._from.id, r.to.id): r.association_spec.association_type_id for r in res.results}
    assert specs == {(n1, c1): 202, (c1, n1): 201}  # HubSpot's note<->contact defaults

    res, status, _ = v4.basic_api.create_default_with_http_info(NOTES, n1, CONTACTS, c2)
    assert status == 200 and res.status == "COMPLETE"
    assert sorted(a["to_id"] for a in sandbox.associations(NOTES, n1)) == sorted([c1, c2])

    listed = v4.basic_api.get_page(NOTES, n1, CONTACTS)
    assert sorted(r.to_object_id for r in listed.results) == sorted([c1, c2])
    assert {t.type_id for r in listed.results for t in r.association_types} == {202}

    with pytest.raises(ApiException) as err:
        v4.basic_api.create_default(NOTES, n1, CONTACTS, "404404")
    assert err.value.status == 404

    archive = BatchInputPublicAssociationMultiArchive(
        inputs=[
            PublicAssociationMultiArchive(_from=PublicObjectId(id=n1), to=[PublicObjectId(id=c1)])
        ]
    )
    _, status, _ = v4.batch_api.archive_with_http_info(NOTES, CONTACTS, archive)
    assert status == 204
    assert [a["to_id"] for a in sandbox.associations(NOTES, n1)] == [c2]
    assert sandbox.associations(CONTACTS, c1) == []


def test_batch_archive_removes_every_type_both_ways_and_refuses_malformed_inputs(
    sandbox: Sandbox,
) -> None:
    """``batch/archive`` (the associations v4 spec's "Remove associations": ``from`` and a ``to``
    list per input, 204): one input removes several pairs, every type, seen from both ends; an
    input without its ``to`` list refuses the whole call, removing nothing (before, the valid
    inputs ahead of it were applied and the bad one read as "remove nothing")."""
    import urllib.error
    import urllib.request

    [b1, b2] = sandbox.seed(BOOKINGS, [{"booking_id": "B1"}, {"booking_id": "B2"}])
    [c1, c2, c3] = sandbox.seed(CONTACTS, [{"email": f"{n}@x.io"} for n in "abc"])
    type_id = sandbox.association_type_id(BOOKINGS, CONTACTS)
    for booking, contact in ((b1, c1), (b1, c2), (b1, c3), (b2, c1)):
        sandbox.associate(BOOKINGS, booking, CONTACTS, contact, [type_id])

    def archive(inputs: list) -> int:
        req = urllib.request.Request(
            f"{sandbox.base_url}/crm/v4/associations/{BOOKINGS}/{CONTACTS}/batch/archive",
            data=json.dumps({"inputs": inputs}).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {sandbox_fixtures.TOKEN}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            assert json.loads(err.read())["category"] == "VALIDATION_ERROR"
            return err.code

    def linked(booking: str) -> list[str]:
        return sorted(a["to_id"] for a in sandbox.associations(BOOKINGS, booking))

    bad = [{"from": {"id": b2}, "to": [{"id": c1}]}, {"from": {"id": b1}}]
    assert archive(bad) == 400
    assert linked(b1) == sorted([c1, c2, c3]) and linked(b2) == [c1]  # nothing removed
    failures = sandbox.conformance_failures
    assert failures and all("'to' is a required property" in f for f in failures), failures
    failures.clear()  # the malformed request was this test's own

    assert archive([{"from": {"id": b1}, "to": [{"id": c2}, {"id": c3}, {"id": "404404"}]}]) == 204
    assert linked(b1) == [c1] and linked(b2) == [c1]
    assert sorted(a["to_id"] for a in sandbox.associations(CONTACTS, c1)) == sorted([b1, b2])
    assert sandbox.associations(CONTACTS, c2) == sandbox.associations(CONTACTS, c3) == []
