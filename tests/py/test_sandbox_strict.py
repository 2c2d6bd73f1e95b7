"""The sandbox is as strict as HubSpot: it starts as an empty portal, and refuses what
HubSpot refuses, with HubSpot's error bodies. Each rule's HubSpot doc is cited where the sandbox
implements it (glue/sandbox/schema.py, assoc.py, errors.py, ratelimit.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sandbox_fixtures
import urllib3

from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, NOTES, Sandbox
from glue.sandbox.ratelimit import DAILY, RateLimiter

sandbox = sandbox_fixtures.sandbox
empty_sandbox = sandbox_fixtures.empty_sandbox
TOKEN = sandbox_fixtures.TOKEN
HTTP = urllib3.PoolManager(retries=False)
MIDNIGHT = "1795910400000"  # 2026-11-29T00:00:00Z


def call(sb: Sandbox, method: str, path: str, body: object = None) -> tuple[int, dict]:
    r = HTTP.request(
        method,
        sb.base_url + path,
        body=None if body is None else json.dumps(body),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    return r.status, (json.loads(r.data) if r.data else {})


def upsert(sb: Sandbox, *props: dict) -> tuple[int, dict]:
    inputs = [{"id": p["booking_id"], "idProperty": "booking_id", "properties": p} for p in props]
    return call(sb, "POST", f"/crm/v3/objects/{BOOKINGS}/batch/upsert", {"inputs": inputs})


def problems(body: dict) -> list[dict]:
    """The per-property problems HubSpot lists in a VALIDATION_ERROR message."""
    prefix = "Property values were not valid: "
    assert body["message"].startswith(prefix), body
    return json.loads(body["message"][len(prefix) :])


def assert_validation_error(status: int, body: dict, error: str, name: str) -> dict:
    assert status == 400, body
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    found = problems(body)
    assert {"isValid": False, "error": error, "name": name} | found[0] == found[0]
    assert body["context"]["propertyName"] == [p["name"] for p in found]
    return found[0]


# ---- an empty portal ---------------------------------------------------------------------------
def test_an_empty_portal_has_only_hubspots_own_objects_and_properties(
    empty_sandbox: Sandbox,
) -> None:
    status, body = call(empty_sandbox, "GET", "/crm-object-schemas/v3/schemas")
    assert status == 200 and body["results"] == []
    status, body = call(empty_sandbox, "GET", f"/crm/v3/objects/{BOOKINGS}?limit=1")
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert "Unable to infer object type" in body["message"]
    status, body = call(empty_sandbox, "GET", "/crm/v3/properties/contacts")
    names = {p["name"] for p in body["results"]}
    assert {"email", "firstname", "lastname"} <= names
    assert not names & {"sj_credits", "student_id"}  # mockbook's are created by setup
    # a credit write is refused: the property does not exist yet
    cid = empty_sandbox.seed(CONTACTS, [{"email": "a@example.com"}])[0]
    status, body = call(
        empty_sandbox,
        "POST",
        "/crm/v3/objects/contacts/batch/update",
        {"inputs": [{"id": cid, "properties": {"sj_credits": "3"}}]},
    )
    assert_validation_error(status, body, "PROPERTY_DOESNT_EXIST", "sj_credits")


def test_a_ready_portal_has_what_setup_creates(sandbox: Sandbox) -> None:
    status, body = call(sandbox, "GET", f"/crm-object-schemas/v3/schemas/{BOOKINGS}")
    assert status == 200
    props = {p["name"]: p for p in body["properties"]}
    assert props["booking_id"]["hasUniqueValue"] is True
    assert props["exam_date"]["type"] == "date"
    assert [o["value"] for o in props["attendance"]["options"]] == ["Yes", "No"]
    status, body = call(sandbox, "GET", f"/crm/v4/associations/{EXAMS}/{EXAMS}/labels")
    assert {"category": "USER_DEFINED", "typeId": 1340, "label": "requires attendance at"} in body[
        "results"
    ]


# ---- property values -----------------------------------------------------------------------------
def test_an_unknown_property_refuses_the_whole_batch(sandbox: Sandbox) -> None:
    good = {"booking_id": "BK-1", "is_active": "Active"}
    bad = {"booking_id": "BK-2", "no_such_property": "x"}
    status, body = upsert(sandbox, good, bad)
    found = assert_validation_error(status, body, "PROPERTY_DOESNT_EXIST", "no_such_property")
    assert found["message"] == 'Property "no_such_property" does not exist'
    assert sandbox.objects(BOOKINGS) == []  # nothing written, not even the valid input


def test_an_enumeration_takes_only_its_options(sandbox: Sandbox) -> None:
    status, body = upsert(sandbox, {"booking_id": "BK-1", "is_active": "active"})
    found = assert_validation_error(status, body, "INVALID_OPTION", "is_active")
    assert found["message"].startswith('"active" was not one of the allowed options: [Active,')
    status, _ = upsert(sandbox, {"booking_id": "BK-1", "is_active": "Cancelled"})
    assert status == 200
    status, _ = upsert(sandbox, {"booking_id": "BK-1", "attendance": ""})  # "" clears
    assert status == 200


def test_a_number_property_takes_only_numbers(sandbox: Sandbox) -> None:
    eid = sandbox.seed(EXAMS, [{"mock_exam_name": "x"}])[0]
    status, body = call(
        sandbox,
        "PATCH",
        f"/crm/v3/objects/{EXAMS}/{eid}",
        {"properties": {"total_bookings": "three"}},
    )
    assert_validation_error(status, body, "INVALID_DOUBLE", "total_bookings")


def test_a_date_must_be_midnight_utc_and_reads_back_as_a_date(sandbox: Sandbox) -> None:
    ten_am = str(int(MIDNIGHT) + 10 * 3600 * 1000)
    status, body = upsert(sandbox, {"booking_id": "BK-1", "exam_date": ten_am})
    found = assert_validation_error(status, body, "INVALID_DATE", "exam_date")
    assert found["message"] == f"{ten_am} is at 10:0:0.0 UTC, not midnight!"
    status, body = upsert(sandbox, {"booking_id": "BK-1", "exam_date": "2026-11-29T09:00:00Z"})
    assert_validation_error(status, body, "INVALID_DATE", "exam_date")
    status, body = upsert(sandbox, {"booking_id": "BK-1", "exam_date": MIDNIGHT})
    assert status == 200
    assert body["results"][0]["properties"]["exam_date"] == "2026-11-29"
    status, body = upsert(sandbox, {"booking_id": "BK-2", "exam_date": "2026-12-01"})
    assert body["results"][0]["properties"]["exam_date"] == "2026-12-01"


def test_a_datetime_takes_epoch_ms_or_iso_and_reads_back_as_iso(sandbox: Sandbox) -> None:
    eid = sandbox.seed(EXAMS, [{"mock_exam_name": "x"}])[0]
    path = f"/crm/v3/objects/{EXAMS}/{eid}"
    ms = int(datetime(2026, 3, 1, 14, 30, tzinfo=UTC).timestamp() * 1000)
    status, body = call(
        sandbox, "PATCH", path, {"properties": {"scheduled_activation_datetime": str(ms)}}
    )
    assert status == 200
    assert body["properties"]["scheduled_activation_datetime"] == "2026-03-01T14:30:00.000Z"
    status, body = call(
        sandbox, "PATCH", path, {"properties": {"scheduled_activation_datetime": "soon"}}
    )
    assert_validation_error(status, body, "INVALID_DATETIME", "scheduled_activation_datetime")


def test_a_note_needs_hs_timestamp(sandbox: Sandbox) -> None:
    body = {"inputs": [{"properties": {"hs_note_body": "hello"}, "associations": []}]}
    status, answer = call(sandbox, "POST", "/crm/v3/objects/notes/batch/create", body)
    assert_validation_error(status, answer, "REQUIRED_PROPERTY", "hs_timestamp")
    assert sandbox.objects(NOTES) == []
    body["inputs"][0]["properties"]["hs_timestamp"] = "2026-03-01T14:30:00Z"
    status, answer = call(sandbox, "POST", "/crm/v3/objects/notes/batch/create", body)
    assert status == 201
    assert answer["results"][0]["properties"]["hs_timestamp"] == "2026-03-01T14:30:00.000Z"


def test_a_unique_property_refuses_a_second_record(sandbox: Sandbox) -> None:
    status, body = call(
        sandbox,
        "POST",
        f"/crm/v3/objects/{BOOKINGS}",
        {"properties": {"booking_id": "BK-1"}, "associations": []},
    )
    assert status == 201
    status, body = call(
        sandbox,
        "POST",
        f"/crm/v3/objects/{BOOKINGS}",
        {"properties": {"booking_id": "BK-1"}, "associations": []},
    )
    assert status == 409 and body["category"] == "CONFLICT"
    assert body["context"]["property"] == ["booking_id"]


# ---- associations --------------------------------------------------------------------------------
def test_an_association_type_must_be_defined(sandbox: Sandbox) -> None:
    bid = sandbox.seed(BOOKINGS, [{"booking_id": "BK-1"}])[0]
    cid = sandbox.seed(CONTACTS, [{"email": "a@example.com"}])[0]
    spec = {"associationCategory": "USER_DEFINED", "associationTypeId": 424242}
    body = {"inputs": [{"from": {"id": bid}, "to": {"id": cid}, "types": [spec]}]}
    status, answer = call(
        sandbox, "POST", f"/crm/v4/associations/{BOOKINGS}/contacts/batch/create", body
    )
    assert status == 207
    error = answer["errors"][0]
    assert error["category"] == "VALIDATION_ERROR"
    assert error["context"]["associationTypeId"] == ["424242"]
    assert "424242" in error["message"] and "not defined" in error["message"]
    assert sandbox.associations(BOOKINGS, bid) == []
    # the prerequisite label is an exam -> exam type, not a booking -> contact one
    spec["associationTypeId"] = 1340
    status, answer = call(
        sandbox, "POST", f"/crm/v4/associations/{BOOKINGS}/contacts/batch/create", body
    )
    assert status == 207 and "not defined" in answer["errors"][0]["message"]


def test_no_default_association_between_undefined_pairs(empty_sandbox: Sandbox) -> None:
    cid = empty_sandbox.seed(CONTACTS, [{"email": "a@example.com"}])[0]
    other = empty_sandbox.seed(CONTACTS, [{"email": "b@example.com"}])[0]
    body = {"inputs": [{"from": {"id": cid}, "to": {"id": other}}]}
    status, answer = call(
        empty_sandbox,
        "POST",
        "/crm/v4/associations/contacts/contacts/batch/associate/default",
        body,
    )
    assert status == 200 and answer["results"] == []
    assert answer["errors"][0]["category"] == "VALIDATION_ERROR"
    assert "No association is defined" in answer["errors"][0]["message"]


def test_labels_define_association_types(empty_sandbox: Sandbox) -> None:
    body = {"label": "Mentor", "name": "mentor", "inverseLabel": "Mentee"}
    status, answer = call(
        empty_sandbox, "POST", "/crm/v4/associations/contacts/contacts/labels", body
    )
    assert status == 200
    mentor, mentee = answer["results"]
    assert (mentor["label"], mentee["label"]) == ("Mentor", "Mentee")
    a, b = empty_sandbox.seed(CONTACTS, [{"email": "a@x.ca"}, {"email": "b@x.ca"}])
    spec = {"associationCategory": "USER_DEFINED", "associationTypeId": mentor["typeId"]}
    status, answer = call(
        empty_sandbox,
        "POST",
        "/crm/v4/associations/contacts/contacts/batch/create",
        {"inputs": [{"from": {"id": a}, "to": {"id": b}, "types": [spec]}]},
    )
    assert status == 201 and answer["results"][0]["labels"] == ["Mentor"]
    # the other direction carries the inverse label's type
    assert empty_sandbox.associations(CONTACTS, b)[0]["types"] == [mentee["typeId"]]
    status, answer = call(
        empty_sandbox, "POST", "/crm/v4/associations/contacts/contacts/labels", body
    )
    assert status == 409


# ---- query parameters, limits --------------------------------------------------------------------
def test_archived_must_be_the_boolean_the_spec_declares() -> None:
    with Sandbox(access_token=TOKEN, conformance=False, setup=True) as sb:
        status, body = call(sb, "GET", "/crm/v3/objects/contacts?limit=10&archived=True")
        assert status == 400 and body["category"] == "VALIDATION_ERROR"
        assert body["context"] == {"archived": ["True"]}
        status, body = call(sb, "GET", "/crm/v3/objects/contacts?limit=10&archived=true")
        assert status == 200


def test_the_daily_limit_resets_at_midnight_in_the_portal_time_zone() -> None:
    now = [datetime(2026, 3, 2, 3, 0, tzinfo=UTC)]  # 22:00 on March 1st in Toronto
    limiter = RateLimiter(None, 10.0, 2, None, timezone="America/Toronto", now=lambda: now[0])
    assert limiter.acquire().ok and limiter.acquire().ok
    refused = limiter.acquire()
    assert not refused.ok and refused.policy == DAILY
    assert refused.retry_after == pytest.approx(2 * 3600)  # until 00:00 Toronto (05:00 UTC)
    now[0] = datetime(2026, 3, 2, 4, 59, tzinfo=UTC)  # UTC midnight passed, not Toronto's
    assert not limiter.acquire().ok
    now[0] = datetime(2026, 3, 2, 5, 0, 1, tzinfo=UTC)
    assert limiter.acquire().ok


def test_search_lag_hides_fresh_writes_from_search(sandbox: Sandbox) -> None:
    sandbox.search_lag = sandbox_fixtures.REALISTIC_SEARCH_LAG
    status, _ = upsert(sandbox, {"booking_id": "BK-LAG"})
    assert status == 200
    search = {
        "filterGroups": [
            {"filters": [{"propertyName": "booking_id", "operator": "EQ", "value": "BK-LAG"}]}
        ],
        "sorts": [],
        "properties": ["booking_id"],
        "limit": 10,
        "after": "0",
    }
    status, body = call(sandbox, "POST", f"/crm/v3/objects/{BOOKINGS}/search", search)
    assert status == 200 and body["total"] == 0
    sandbox.search_lag = 0
    status, body = call(sandbox, "POST", f"/crm/v3/objects/{BOOKINGS}/search", search)
    assert body["total"] == 1


def test_mockbook_sandbox_sets_the_search_lag_and_the_portal_time_zone(monkeypatch) -> None:
    """`mockbook sandbox --search-lag S --portal-timezone TZ` reaches the sandbox it serves (the
    search index's lag and the time zone whose midnight resets the daily limit); without them,
    3 s and America/Toronto."""
    from zoneinfo import ZoneInfo

    from click.testing import CliRunner

    import glue.sandbox
    from glue.cli import cli

    served: list[Sandbox] = []

    def serve(port: int, host: str = "127.0.0.1", **options: object) -> None:
        options.pop("webhook_url", None)
        options.pop("webhook_secret", None)
        served.append(Sandbox(port, host=host, conformance=False, **options))  # type: ignore[arg-type]

    monkeypatch.setattr(glue.sandbox, "serve", serve)
    runner = CliRunner()
    args = ["sandbox", "--port", "0", "--search-lag", "0.5", "--portal-timezone", "Asia/Tokyo"]
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["sandbox", "--port", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    tokyo, default = served
    assert tokyo.search_lag == 0.5 and tokyo.limiter.timezone == ZoneInfo("Asia/Tokyo")
    assert default.search_lag == sandbox_fixtures.REALISTIC_SEARCH_LAG == 3.0
    assert default.limiter.timezone == ZoneInfo("America/Toronto")
    result = runner.invoke(cli, ["sandbox", "--portal-timezone", "Mars/Olympus"])
    assert result.exit_code == 2 and "unknown time zone 'Mars/Olympus'" in result.output
    assert len(served) == 2
