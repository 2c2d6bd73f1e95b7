"""The sandbox (and the glue) checked against HubSpot's documented behaviour.

Each test states what HubSpot documents, with the page, and fails where the sandbox standing in
for HubSpot departs from it: tests that pass on the sandbox would then pass on something HubSpot
refuses or no longer does.
"""

from __future__ import annotations

from typing import Any

import pull_helpers
import pytest
import sandbox_fixtures
import urllib3
from hubspot.crm.associations.v4 import (
    ApiException,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)

from glue.credit_fields import CREDIT_FIELD_NAMES
from glue.sandbox import BOOKINGS, CONTACTS, Sandbox
from glue.sandbox.batch import BatchApi
from glue.sandbox.errors import ApiError
from glue.sync.pull import Puller, TargetStats, targets

sandbox = sandbox_fixtures.sandbox
hubspot_client = sandbox_fixtures.hubspot_client

# https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api
# "Effective February 10th, 2025, any batch read requests submitted to the Associations API may
# not exceed 1000 IDs per request body ... Larger requests that exceed this limit will be
# rejected with an error response." (v3 and v4 /{from}/{to}/batch/read)
HUBSPOT_ASSOCIATION_READ_LIMIT = 1000


def test_associations_batch_read_refuses_more_than_1000_ids(
    sandbox: Sandbox, hubspot_client
) -> None:
    """The sandbox accepts up to 2,000 ids on associations v4 batch/read (its create limit), so a
    glue change sending 1,001-2,000 ids per read (reconcile's bookings, the pull's prerequisite
    lists) would pass every test and be refused by HubSpot (the reconcile / pull then fails)."""
    [b1] = sandbox.seed(BOOKINGS, [{"booking_id": "B1"}])
    body = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[
            PublicFetchAssociationsBatchRequest(id=str(b1 if i == 0 else 900000 + i))
            for i in range(HUBSPOT_ASSOCIATION_READ_LIMIT + 1)
        ]
    )
    batch = hubspot_client.crm.associations.v4.batch_api
    with pytest.raises(ApiException) as refused:
        batch.get_page_with_http_info(BOOKINGS, CONTACTS, body)
    assert refused.value.status == 400


def _merge(sb: Sandbox, primary: str, other: str) -> dict:
    answer = urllib3.request(
        "POST",
        f"{sb.base_url}/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": primary, "objectIdToMerge": other},
        headers={"Authorization": f"Bearer {sandbox_fixtures.TOKEN}"},
    )
    assert answer.status == 200, answer.data
    return answer.json()


def _read(sb: Sandbox, contact_id: str) -> dict:
    answer = urllib3.request(
        "GET",
        f"{sb.base_url}/crm/v3/objects/contacts/{contact_id}",
        headers={"Authorization": f"Bearer {sandbox_fixtures.TOKEN}"},
    )
    assert answer.status == 200, answer.data
    return answer.json()


def test_a_contact_merge_makes_a_new_record_with_a_new_id(sandbox: Sandbox) -> None:
    """https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies:
    "Currently, when contacts or companies are merged, the record ID of the primary record is used
    for the resulting merged record. Going forward, a new record with a new ID will be created for
    the resulting merged record, with both records merged into the new one. ... both of the
    previous IDs will point to the resulting merged record ... you will want to make sure you
    handle the case where an existing record ID can return a new merged record ID."

    The sandbox still merges the old way (the primary keeps its id: Store.merge), so no test ever
    exercises a local contact linked to the *primary* being re-linked (pull ``_relink_merged``,
    push ``_merge_credits``, reconcile ``merged_into``, the webhook's merge event), which is what
    every merge in HubSpot now produces."""
    [primary, other] = sandbox.seed(
        CONTACTS,
        [
            {"email": "keep@example.com", "student_id": "S1"},
            {"email": "gone@example.com", "student_id": "S2"},
        ],
    )
    merged = _merge(sandbox, str(primary), str(other))
    assert merged["id"] not in (str(primary), str(other)), (
        f"HubSpot creates a new record for a contact merge; the sandbox kept the primary's id "
        f"{merged['id']}"
    )
    # both previous ids now read as the new record
    assert _read(sandbox, str(primary))["id"] == merged["id"]
    assert _read(sandbox, str(other))["id"] == merged["id"]


# HubSpot refuses a batch read asking for propertiesWithHistory with more than 50 inputs:
# 400 {"status":"error","message":"The maximum number of inputs supported in a batch request for
# property histories is 50. Please reduce the number of items and try again",
# "category":"VALIDATION_ERROR"} (reported from production in
# https://github.com/activepieces/activepieces/pull/9359 and
# https://github.com/PipedreamHQ/pipedream/pull/8462; HubSpot/hubspot-api-python#143 is the same
# limit on the list endpoint). The sandbox takes 100.
HISTORY_READ_LIMIT = 50
HISTORY_LIMIT_MESSAGE = (
    "The maximum number of inputs supported in a batch request for property histories is 50. "
    "Please reduce the number of items and try again"
)


def _batch_read_body(ids: list[str], *, history: bool) -> dict:
    body: dict[str, Any] = {"inputs": [{"id": i} for i in ids], "properties": ["email"]}
    if history:
        body["propertiesWithHistory"] = list(CREDIT_FIELD_NAMES)
    return body


def test_a_batch_read_with_history_refuses_more_than_50_inputs(sandbox: Sandbox) -> None:
    """The sandbox answers a 100-input batch read with propertiesWithHistory; HubSpot answers
    400 VALIDATION_ERROR above 50, so every glue read with history (the push's credit merge,
    the pull's and the webhook processor's recheck) is tested on a request HubSpot refuses."""
    ids = pull_helpers.seed_contacts(
        sandbox, [{"student_id": f"H{n:03d}"} for n in range(HISTORY_READ_LIMIT + 1)]
    )
    answer = urllib3.request(
        "POST",
        f"{sandbox.base_url}/crm/v3/objects/contacts/batch/read",
        json=_batch_read_body(ids, history=True),
        headers={"Authorization": f"Bearer {sandbox_fixtures.TOKEN}"},
    )
    assert answer.status == 400, (answer.status, answer.data[:200])


class _RecheckStore:
    """The pull's database, reduced to what ``Puller.apply`` calls for contacts: the first
    apply (search results, no history) lists every contact in ``recheck`` -- what
    apply_pulled_contacts answers for contacts the push wrote since their last read -- and the
    apply with history takes them."""

    def __init__(self) -> None:
        self.with_history: list[dict[str, Any]] = []
        self.pull_errors: list[str] = []

    def contacts_linked_to(self, ids: list[str]) -> list[dict[str, Any]]:
        return []

    def apply_contacts(self, records: list[dict[str, Any]], actor: str) -> dict[str, Any]:
        if any("propertiesWithHistory" in r for r in records):
            self.with_history += records
            return {"updated": len(records)}
        return {"recheck": [r["id"] for r in records]}

    def note_pull_error(self, table: str, hid: str, error: str, rec: dict) -> None:
        self.pull_errors.append(hid)

    def close_busy_letters(self, table: str, ids: list[str]) -> int:
        return 0  # no letter is open here


def test_the_pull_rereads_more_than_50_pushed_contacts_with_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the push wrote more than 50 contacts, the next pull's search page holds them all
    (their lastmodifieddate moved) and apply_pulled_contacts lists each in ``recheck``;
    ``Puller.apply`` reads them again with their credits' history through
    ``HubSpotReader.read``, which chunks by 100 (MAX_BATCH) whatever ``history`` is. Against
    HubSpot that read is a 400 (not transient: no retry), the HubSpotError stops the pass with
    its cursor before that page, and every later pass stops on the same page: the contacts pull
    never gets past it (the webhook processor's apply fails the same way, its events given up
    after 10 attempts). Here the sandbox enforces HubSpot's limit of 50."""
    original = BatchApi.batch_read

    def hubspot_batch_read(self: BatchApi, req: Any, t: str) -> tuple[int, Any]:
        body = req.obj()
        if body.get("propertiesWithHistory") and len(body.get("inputs") or []) > 50:
            raise ApiError(400, HISTORY_LIMIT_MESSAGE)
        return original(self, req, t)

    monkeypatch.setattr(BatchApi, "batch_read", hubspot_batch_read)  # before the routes bind
    with Sandbox(access_token=sandbox_fixtures.TOKEN, conformance=True, setup=True) as sb:
        pull_helpers.fast(sb)
        ids = pull_helpers.seed_contacts(sb, [{"student_id": f"P{n:03d}"} for n in range(60)])
        settings, _client, reader = pull_helpers.hubspot("postgresql://unused/db", sb)
        puller = Puller(None, reader, sleep=lambda _s: None)  # type: ignore[arg-type]
        store = _RecheckStore()
        puller.store = store  # type: ignore[assignment]
        records = [{"id": i, "properties": {}, "archived": False} for i in ids]
        puller.apply(targets(settings)["contacts"], records, TargetStats())  # HTTP 400 today
        assert sorted(r["id"] for r in store.with_history) == sorted(ids)
        assert sb.errors == [], sb.errors
