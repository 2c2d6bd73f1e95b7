"""Search in the HubSpot sandbox: operators, sorting, paging, HubSpot's caps, its per-second rate
limit and the indexing lag."""

from __future__ import annotations

import json

import pytest
import sandbox_fixtures
from hubspot.crm.objects import ApiException, Filter, FilterGroup, PublicObjectSearchRequest

from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox, search
from glue.sandbox.store import iso

# Shared fixtures (a fresh conformance-checked sandbox per test, and an SDK client for it).
sandbox = sandbox_fixtures.sandbox
hubspot_client = sandbox_fixtures.hubspot_client
clock = sandbox_fixtures.clock


def _req(
    groups: list[list[dict]] | None = None,
    *,
    limit: int = 10,
    after: str = "0",
    properties: list[str] | None = None,
    sorts: list[str] | None = None,
):
    return PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(**f) for f in g]) for g in groups or []],
        limit=limit,
        after=after,
        properties=properties or [],
        sorts=sorts or [],
    )


def _search(client, type_id: str, request):
    return client.crm.objects.search_api.do_search(type_id, request)


ROWS = [
    {"booking_id": "A", "mock_type": "SJ", "credits": "3", "exam_date": "2025-03-01"},
    {"booking_id": "B", "mock_type": "CS", "credits": "10", "exam_date": "2025-03-02"},
    {"booking_id": "C", "mock_type": "SJ", "credits": "1"},
    {"booking_id": "D", "mock_type": "Mini", "credits": "", "exam_date": "2025-04-01"},
]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "mock_type", "operator": "EQ", "value": "sj"}, "AC"),
        ({"propertyName": "mock_type", "operator": "NEQ", "value": "SJ"}, "BD"),
        ({"propertyName": "credits", "operator": "LT", "value": "3"}, "C"),
        ({"propertyName": "credits", "operator": "LTE", "value": "3"}, "AC"),
        ({"propertyName": "credits", "operator": "GT", "value": "3"}, "B"),
        ({"propertyName": "credits", "operator": "GTE", "value": "3"}, "AB"),
        ({"propertyName": "credits", "operator": "BETWEEN", "value": "2", "highValue": "10"}, "AB"),
        ({"propertyName": "mock_type", "operator": "IN", "values": ["CS", "Mini"]}, "BD"),
        ({"propertyName": "mock_type", "operator": "NOT_IN", "values": ["CS", "Mini"]}, "AC"),
        ({"propertyName": "exam_date", "operator": "HAS_PROPERTY"}, "ABD"),
        ({"propertyName": "credits", "operator": "NOT_HAS_PROPERTY"}, "D"),
        ({"propertyName": "exam_date", "operator": "GTE", "value": "1740873600000"}, "BD"),
        ({"propertyName": "exam_date", "operator": "LT", "value": "2025-03-02"}, "A"),
    ],
)
def test_search_operators(flt: dict, expected: str) -> None:
    view = [(str(i + 1), row) for i, row in enumerate(ROWS)]
    total, page, _ = search.run(view, {"filterGroups": [{"filters": [flt]}], "limit": 10}, 10)
    assert "".join(sorted(p["booking_id"] for _, p in page)) == expected
    assert total == len(expected)


# (id, credits) in the order the store holds them: ties, a text value, an empty one and one missing
ORDERED = [("8", "10"), ("3", ""), ("1", "3"), ("6", "1"), ("2", "10"), ("7", "abc"), ("5", None),
           ("4", "3")]


@pytest.mark.parametrize(
    ("sorts", "expected"),
    [
        # numbers before text, ties by id, the records without the property last (by id)
        (["credits"], "61428735"),
        ([{"propertyName": "credits", "direction": "DESCENDING"}], "72814635"),
        (["-credits"], "72814635"),
        ([], "12345678"),
        (["credits", "-hs_object_id"], "61428735"),
    ],
)
def test_search_pages_follow_one_order(sorts: list, expected: str) -> None:
    """Every page is its slice of one order, whatever the page size and the store's order."""
    view = [(rid, {} if v is None else {"credits": v}) for rid, v in ORDERED]
    for limit in (1, 3, 8, 10):
        ids, after = "", "0"
        while after is not None:
            body = {"sorts": sorts, "limit": limit, "after": after}
            total, page, after = search.run(list(view), body, 10)
            assert total == 8
            ids += "".join(rid for rid, _ in page)
        assert ids == expected, (limit, ids)


def test_search_over_http_groups_sorts_properties(sandbox: Sandbox, hubspot_client) -> None:
    sandbox.seed(BOOKINGS, ROWS)
    either = [
        [{"property_name": "mock_type", "operator": "EQ", "value": "CS"}],
        [{"property_name": "credits", "operator": "LT", "value": "2"}],
    ]
    res = _search(
        hubspot_client, BOOKINGS, _req(either, properties=["booking_id"], sorts=["-booking_id"])
    )
    assert res.total == 2
    assert [r.properties["booking_id"] for r in res.results] == ["C", "B"]
    assert "mock_type" not in res.results[0].properties
    assert set(res.results[0].properties) >= {"hs_object_id", "hs_lastmodifieddate"}


def test_search_paging(sandbox: Sandbox, hubspot_client) -> None:
    sandbox.seed(EXAMS, [{"n": str(i)} for i in range(25)])
    seen, after, pages = [], "0", 0
    while after is not None:
        res = _search(hubspot_client, EXAMS, _req(limit=10, after=after, properties=["n"]))
        assert res.total == 25
        seen += [r.properties["n"] for r in res.results]
        after = res.paging.next.after if res.paging else None
        pages += 1
    assert pages == 3 and sorted(seen, key=int) == [str(i) for i in range(25)]


def test_search_caps_results_at_10000(sandbox: Sandbox, hubspot_client) -> None:
    sandbox.seed(EXAMS, [{"n": str(i)} for i in range(10_050)])
    res = _search(hubspot_client, EXAMS, _req(limit=200, after="9800"))
    assert res.total == 10_050 and len(res.results) == 200
    assert res.paging.next.after == "10000"
    with pytest.raises(ApiException) as err:
        _search(hubspot_client, EXAMS, _req(limit=200, after=res.paging.next.after))
    assert err.value.status == 400
    assert json.loads(err.value.body)["category"] == "VALIDATION_ERROR"


def _eq(i: int) -> dict:
    return {"property_name": f"p{i}", "operator": "EQ", "value": "x"}


@pytest.mark.parametrize(
    ("groups", "limit"),
    [
        ([[_eq(0)]] * 6, 10),  # 6 filter groups > 5
        ([[_eq(i) for i in range(7)]], 10),  # 7 filters in one group > 6
        ([[_eq(i) for i in range(5)]] * 4, 10),  # 20 filters in all > 18 (but 5 per group)
        ([], 201),  # limit > 200
    ],
)
def test_search_limits_are_enforced(sandbox: Sandbox, hubspot_client, groups, limit) -> None:
    with pytest.raises(ApiException) as err:
        _search(hubspot_client, CONTACTS, _req(groups, limit=limit))
    assert err.value.status == 400
    assert json.loads(err.value.body)["category"] == "VALIDATION_ERROR"


def test_search_body_over_3000_chars_is_refused(sandbox: Sandbox, hubspot_client) -> None:
    long_value = [[{"property_name": "email", "operator": "EQ", "value": "x" * 3000}]]
    with pytest.raises(ApiException) as err:
        _search(hubspot_client, CONTACTS, _req(long_value))
    assert err.value.status == 400
    ok = [[{"property_name": "email", "operator": "EQ", "value": "x" * 2000}]]
    assert _search(hubspot_client, CONTACTS, _req(ok)).total == 0


def test_search_has_its_own_per_second_limit(sandbox: Sandbox, hubspot_client, clock) -> None:
    statuses = []
    for _ in range(7):
        try:
            _search(hubspot_client, CONTACTS, _req())
            statuses.append(200)
        except ApiException as exc:
            statuses.append(exc.status)
            body = json.loads(exc.body)
    assert statuses.count(429) >= 1 and statuses[:5] == [200] * 5
    assert body["policyName"] == "SECONDLY" and body["errorType"] == "RATE_LIMIT"
    clock.advance(1.05)  # the next second
    assert _search(hubspot_client, CONTACTS, _req()).total == 0


def test_search_lag_and_modified_date_filters(sandbox: Sandbox, hubspot_client, clock) -> None:
    # a lag no real time elapsing on a loaded machine reaches (the fake clock jumps past it)
    sandbox.search_lag = 60
    [old] = sandbox.seed(EXAMS, [{"name": "old"}])  # seeded data is already indexed
    clock.advance(0.01)
    start = int(clock.time() * 1000)
    sandbox.touch(EXAMS, old, name="edited by admin")
    since_ms = [[{"property_name": "hs_lastmodifieddate", "operator": "GTE", "value": str(start)}]]
    since_iso = [[{"property_name": "hs_lastmodifieddate", "operator": "GTE", "value": iso(start)}]]
    assert _search(hubspot_client, EXAMS, _req(since_ms)).total == 0  # not indexed yet
    everything = _search(hubspot_client, EXAMS, _req(properties=["name"]))
    assert [r.properties["name"] for r in everything.results] == ["old"]  # stale version
    clock.advance(60.05)  # past the lag
    for groups in (since_ms, since_iso):
        res = _search(hubspot_client, EXAMS, _req(groups, properties=["name"]))
        assert [r.properties["name"] for r in res.results] == ["edited by admin"]
    contacts_filter = [
        [{"property_name": "lastmodifieddate", "operator": "GTE", "value": str(start)}]
    ]
    sandbox.search_lag = 0
    sandbox.seed(CONTACTS, [{"email": "a@b.c"}])
    assert _search(hubspot_client, CONTACTS, _req(contacts_filter)).total == 1
