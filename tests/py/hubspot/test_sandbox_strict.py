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


def patch_exam(sb: Sandbox, **props: str) -> tuple[int, dict]:
    eid = sb.seed(EXAMS, [{"mock_exam_name": "x"}])[0]
    return call(sb, "PATCH", f"/crm/v3/objects/{EXAMS}/{eid}", {"properties": props})


@pytest.mark.parametrize("value", [" 12", "12 ", "\t12", "12\u00a0"])
def test_a_number_with_leading_or_trailing_whitespace_is_refused(
    sandbox: Sandbox, value: str
) -> None:
    status, body = patch_exam(sandbox, capacity=value)
    found = assert_validation_error(status, body, "LEADING_TRAILING_WHITESPACE", "capacity")
    assert found["message"] == f'"{value}" includes leading or trailing whitespace.'


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "1_000", "1e5", "1,000", "4.6.8"])
def test_a_number_is_digits_a_sign_and_one_decimal_point_only(
    sandbox: Sandbox, value: str
) -> None:
    """Python's float() reads all of these; HubSpot's API takes none of them."""
    status, body = patch_exam(sandbox, capacity=value)
    assert_validation_error(status, body, "INVALID_DOUBLE", "capacity")


@pytest.mark.parametrize("value", ["12", "-3", "4.68", "0.5"])
def test_plain_numbers_are_taken(sandbox: Sandbox, value: str) -> None:
    status, body = patch_exam(sandbox, capacity=value)
    assert status == 200 and body["properties"]["capacity"] == value


@pytest.mark.parametrize(
    "email",
    ["no-at-sign", "a@localhost", "a@example", "a@@example.com", '"quoted"@example.com',
     "a b@example.com", " a@example.com", "a@example.c0m", "a@-example.com"],
)
def test_a_contact_email_must_be_an_address(sandbox: Sandbox, email: str) -> None:
    cid = sandbox.seed(CONTACTS, [{"email": "ok@example.com"}])[0]
    status, body = call(
        sandbox, "PATCH", f"/crm/v3/objects/contacts/{cid}", {"properties": {"email": email}}
    )
    found = assert_validation_error(status, body, "INVALID_EMAIL", "email")
    assert found["message"] == f"Email address {email} is invalid"
    assert sandbox.get(CONTACTS, cid)["properties"]["email"] == "ok@example.com"
    body = {"inputs": [{"properties": {"email": email}, "associations": []}]}
    status, answer = call(sandbox, "POST", "/crm/v3/objects/contacts/batch/create", body)
    assert_validation_error(status, answer, "INVALID_EMAIL", "email")


def test_an_upsert_creating_a_contact_by_an_invalid_email_is_refused(sandbox: Sandbox) -> None:
    """The id of an upsert by ``email`` becomes the new contact's email: checked as any value,
    the whole batch refused; an existing contact found by its address is updated."""
    sandbox.seed(CONTACTS, [{"email": "known@example.com"}])
    inputs = [
        {"id": "known@example.com", "idProperty": "email", "properties": {"firstname": "K"}},
        {"id": "new@example", "idProperty": "email", "properties": {"firstname": "N"}},
    ]
    path = "/crm/v3/objects/contacts/batch/upsert"
    status, body = call(sandbox, "POST", path, {"inputs": inputs})
    found = assert_validation_error(status, body, "INVALID_EMAIL", "email")
    assert found["message"] == "Email address new@example is invalid"
    assert [c["properties"]["email"] for c in sandbox.objects(CONTACTS)] == ["known@example.com"]
    inputs[1]["id"] = "new@example.com"
    status, body = call(sandbox, "POST", path, {"inputs": inputs})
    assert status == 200 and sorted(r["new"] for r in body["results"]) == [False, True]


def test_a_valid_contact_email_and_a_booking_email_string_are_taken(sandbox: Sandbox) -> None:
    body = {"properties": {"email": "First.Last+tag@school.example.ca"}, "associations": []}
    status, _ = call(sandbox, "POST", "/crm/v3/objects/contacts", body)
    assert status == 201
    # a booking's ``email`` is mockbook's own string property, not HubSpot's contact email
    status, _ = upsert(sandbox, {"booking_id": "BK-1", "email": "not checked"})
    assert status == 200


def test_a_value_holds_at_most_65536_characters(sandbox: Sandbox) -> None:
    status, _ = upsert(sandbox, {"booking_id": "BK-1", "name": "x" * 65_536})
    assert status == 200
    status, body = upsert(sandbox, {"booking_id": "BK-1", "name": "y" * 65_537})
    found = assert_validation_error(status, body, "MAX_LENGTH_EXCEEDED", "name")
    assert "65537" in found["message"] and "65536" in found["message"]
    assert hubspot_name(sandbox, "BK-1") == "x" * 65_536  # the refused value was not written


def hubspot_name(sb: Sandbox, booking_id: str) -> str:
    record = sb.get_by(BOOKINGS, "booking_id", booking_id)
    assert record is not None
    return record["properties"]["name"]


def test_a_batch_lists_the_invalid_values_of_every_input(sandbox: Sandbox) -> None:
    """One 400 VALIDATION_ERROR for the whole batch, naming each input's problems; nothing is
    written, not even the valid input."""
    status, body = upsert(
        sandbox,
        {"booking_id": "BK-1", "is_active": "Active"},
        {"booking_id": "BK-2", "exam_date": "2026-13-45"},
        {"booking_id": "BK-3", "is_active": "nope", "no_such_property": "x"},
    )
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert [(p["name"], p["error"]) for p in problems(body)] == [
        ("exam_date", "INVALID_DATE"),
        ("is_active", "INVALID_OPTION"),
        ("no_such_property", "PROPERTY_DOESNT_EXIST"),
    ]
    assert body["context"]["propertyName"] == ["exam_date", "is_active", "no_such_property"]
    assert sandbox.objects(BOOKINGS) == []


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


@pytest.mark.parametrize("value", ["2026-13-45", "2026-02-30", "0000-01-01", "999999999999999"])
def test_an_impossible_date_is_a_400_not_a_500(sandbox: Sandbox, value: str) -> None:
    """A 5xx reads as HubSpot failing, which the glue retries; a date that does not exist is the
    caller's mistake: INVALID_DATE, as HubSpot answers it."""
    status, body = upsert(sandbox, {"booking_id": "BK-1", "exam_date": value})
    found = assert_validation_error(status, body, "INVALID_DATE", "exam_date")
    assert found["message"] == f'"{value}" is not a valid date'
    assert sandbox.errors == []


@pytest.mark.parametrize("value", ["2026-13-45T10:00:00Z", "2026-02-30", "999999999999999"])
def test_an_impossible_datetime_is_a_400_not_a_500(sandbox: Sandbox, value: str) -> None:
    status, body = patch_exam(sandbox, scheduled_activation_datetime=value)
    assert_validation_error(status, body, "INVALID_DATETIME", "scheduled_activation_datetime")
    assert sandbox.errors == []


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


# ---- property and object definitions -------------------------------------------------------------
def prop_body(**fields: object) -> dict:
    body = {
        "name": "exam_score",
        "label": "Exam score",
        "type": "number",
        "fieldType": "number",
        "groupName": "contactinformation",
    }
    body.update(fields)
    return body


@pytest.mark.parametrize("name", ["Exam Score", "examScore", "1st_score", "exam-score", "_score"])
def test_a_property_name_is_lower_case_letters_digits_and_underscores(
    empty_sandbox: Sandbox, name: str
) -> None:
    status, body = call(empty_sandbox, "POST", "/crm/v3/properties/contacts", prop_body(name=name))
    assert status == 400 and body["category"] == "VALIDATION_ERROR", body
    assert body["context"] == {"name": [name]}
    status, body = call(empty_sandbox, "GET", "/crm/v3/properties/contacts")
    assert name not in {p["name"] for p in body["results"]}


@pytest.mark.parametrize(
    ("kind", "field_type"),
    [("number", "select"), ("number", "text"), ("string", "number"), ("date", "text"),
     ("bool", "select"), ("enumeration", "number"), ("datetime", "number")],
)
def test_a_field_type_must_suit_the_property_type(
    empty_sandbox: Sandbox, kind: str, field_type: str
) -> None:
    option = {"label": "A", "value": "A", "hidden": False, "displayOrder": 0}
    body = prop_body(type=kind, fieldType=field_type, options=[option])
    status, answer = call(empty_sandbox, "POST", "/crm/v3/properties/contacts", body)
    assert status == 400 and answer["category"] == "VALIDATION_ERROR", answer
    assert answer["context"] == {"type": [kind], "fieldType": [field_type]}


def test_an_update_keeps_type_and_field_type_together(empty_sandbox: Sandbox) -> None:
    status, _ = call(empty_sandbox, "POST", "/crm/v3/properties/contacts", prop_body())
    assert status == 201
    path = "/crm/v3/properties/contacts/exam_score"
    status, body = call(empty_sandbox, "PATCH", path, {"fieldType": "select"})
    assert status == 400 and body["context"] == {"type": ["number"], "fieldType": ["select"]}
    status, body = call(empty_sandbox, "PATCH", path, {"type": "string"})  # fieldType number
    assert status == 400
    status, body = call(empty_sandbox, "PATCH", path, {"type": "string", "fieldType": "text"})
    assert status == 200 and (body["type"], body["fieldType"]) == ("string", "text")


def schema_body(**fields: object) -> dict:
    body = {
        "name": "widgets",
        "labels": {"singular": "Widget", "plural": "Widgets"},
        "primaryDisplayProperty": "widget_name",
        "requiredProperties": ["widget_name"],
        "properties": [
            {"name": "widget_name", "label": "Name", "type": "string", "fieldType": "text"}
        ],
        "associatedObjects": ["CONTACT"],
    }
    body.update(fields)
    return body


@pytest.mark.parametrize("name", ["my widgets", "1widgets", "widgets!", "_widgets"])
def test_a_custom_object_name_is_letters_digits_and_underscores(
    empty_sandbox: Sandbox, name: str
) -> None:
    status, body = call(
        empty_sandbox, "POST", "/crm-object-schemas/v3/schemas", schema_body(name=name)
    )
    assert status == 400 and body["category"] == "VALIDATION_ERROR", body
    assert body["context"] == {"name": [name]}
    status, body = call(empty_sandbox, "GET", "/crm-object-schemas/v3/schemas")
    assert body["results"] == []


def test_a_custom_objects_properties_follow_the_property_rules(empty_sandbox: Sandbox) -> None:
    bad_name = {"name": "Widget Name", "label": "Name", "type": "string", "fieldType": "text"}
    bad_pair = {"name": "size", "label": "Size", "type": "number", "fieldType": "select"}
    for prop in (bad_name, bad_pair):
        status, body = call(
            empty_sandbox,
            "POST",
            "/crm-object-schemas/v3/schemas",
            schema_body(properties=[schema_body()["properties"][0], prop]),
        )
        assert status == 400 and body["category"] == "VALIDATION_ERROR", body
    status, body = call(empty_sandbox, "POST", "/crm-object-schemas/v3/schemas", schema_body())
    assert status == 201 and body["name"] == "widgets"


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


def test_an_unlabelled_association_type_has_no_label_never_null(sandbox: Sandbox) -> None:
    """HubSpot's Associations Schema v4 spec (AssociationSpecWithLabel) makes ``label`` an
    optional string: a default (unlabelled) type leaves it out; ``null`` breaks the spec."""
    status, body = call(sandbox, "GET", f"/crm/v4/associations/{BOOKINGS}/contacts/labels")
    assert status == 200 and body["results"], body
    default = sandbox.association_type_id(BOOKINGS, CONTACTS)
    assert {"category": "HUBSPOT_DEFINED", "typeId": default} in body["results"]
    status, body = call(sandbox, "GET", f"/crm/v4/associations/{EXAMS}/{EXAMS}/labels")
    for result in body["results"]:
        assert "label" not in result or isinstance(result["label"], str), result
    assert {"category": "USER_DEFINED", "typeId": 1340, "label": "requires attendance at"} in body[
        "results"
    ]


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
        options.pop("stop", None)  # (the command's stop event: this stand-in does not serve)
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
