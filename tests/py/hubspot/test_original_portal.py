"""`mockbook hubspot setup` against a portal that already has the original apps' properties.

The portal is built from what the original apps' repository (harmon-tuazon/
PD_Mocks_Booking_ExpressVersion) says of their HubSpot properties:

- documentation/hubspot-schema-results.json, the properties API's own answer for the production
  portal: contacts' ``student_id`` a unique number, ``ndecc_exam_date`` a date, the credits
  numbers; bookings' ``booking_id`` a unique string; mock exams' ``capacity`` a number,
  ``exam_date`` a date, ``mock_exam_id`` a unique number;
- the apps' feature documents: mock exams' ``mock_set`` (enumeration, select, A-H) and
  ``scheduled_activation_datetime`` (datetime), bookings' attendance (enumeration, Yes/No) and
  status (an enumeration of Active, Cancelled, Completed);
- the apps' code: bookings' ``dominant_hand`` written as true/false (a checkbox, bool),
  ``attending_location`` as one of the proper-cased campus names (an enumeration), and their
  ``mock_type``, ``exam_date``, ``start_time`` and ``end_time`` calculated from the exam (the
  user app stopped writing them: "Setting them directly causes READ_ONLY_VALUE errors"); mock
  exams' ``start_time`` / ``end_time`` written as epoch milliseconds and read back as ISO
  instants (datetime). Properties the repository says nothing of are absent: setup creates them.

The check must say precisely what to do, setup must change what HubSpot lets it change without
losing a value, and what is left must be one line each with the fix by hand.
"""

from __future__ import annotations

from typing import Any

import sandbox_fixtures
from pull_helpers import fast
from push_helpers import env_for, run_main

from glue.hubspot import catalogue
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sandbox.schema import define_schema, prop_def

empty_sandbox = sandbox_fixtures.empty_sandbox
CAMPUSES = ("Mississauga", "Calgary", "Vancouver", "Montreal", "Richmond Hill", "Online")
CALCULATED = ("mock_type", "exam_date", "start_time", "end_time")  # on bookings


def _props(**types: Any) -> list[dict[str, Any]]:
    """Schema ``properties`` bodies: name=type, or name=(type, options) for an enumeration."""
    out = []
    for name, spec in types.items():
        kind, options = spec if isinstance(spec, tuple) else (spec, ())
        body = prop_def(name, kind, options=options)
        body["hasUniqueValue"] = name in ("booking_id", "mock_exam_id")
        out.append(body)
    return out


def original_portal(sb: Sandbox) -> dict[str, str]:
    """The original apps' portal in the sandbox, with one record of each kind; their ids."""
    store = sb.store
    define_schema(
        store,
        BOOKINGS,
        {
            "name": "bookings",
            "labels": {"singular": "Booking", "plural": "Bookings"},
            "primaryDisplayProperty": "booking_id",
            "requiredProperties": ["booking_id"],
            "associatedObjects": ["CONTACT"],
            "properties": _props(
                booking_id="string",
                name="string",
                email="string",
                is_active=("enumeration", ("Active", "Cancelled", "Completed")),
                attendance=("enumeration", ("Yes", "No")),
                dominant_hand="bool",
                attending_location=("enumeration", CAMPUSES),
                mock_type="string",
                exam_date="date",
                start_time="datetime",
                end_time="datetime",
            ),
        },
    )
    bookings = store.resolve_type(BOOKINGS)
    assert bookings is not None and bookings.declared is not None
    for name in CALCULATED:
        bookings.declared[name].update(
            modificationMetadata={
                "archivable": True,
                "readOnlyDefinition": False,
                "readOnlyValue": True,
            },
        )
    define_schema(
        store,
        EXAMS,
        {
            "name": "mock_exams",
            "labels": {"singular": "Mock Exam", "plural": "Mock Exams"},
            "primaryDisplayProperty": "mock_exam_name",
            "requiredProperties": ["mock_exam_name"],
            "associatedObjects": ["CONTACT"],
            "properties": _props(
                mock_exam_id="number",
                mock_exam_name="string",
                mock_type=("enumeration", catalogue.MOCK_TYPES),
                exam_date="date",
                start_time="datetime",
                end_time="datetime",
                location="string",
                capacity="number",
                total_bookings="number",
                is_active="string",
                mock_set=("enumeration", tuple("ABCDEFGH")),
                scheduled_activation_datetime="datetime",
            ),
        },
        aliases=("exams",),
    )
    store.define_default(BOOKINGS, EXAMS)
    store.register_assoc_type(
        EXAMS,
        EXAMS,
        1340,
        "USER_DEFINED",
        catalogue.PREREQUISITE_LABEL,
        inverse=(1341, catalogue.PREREQUISITE_INVERSE),
    )
    contacts = store.resolve_type(CONTACTS)
    assert contacts is not None and contacts.declared is not None
    contacts.groups.add("mocks_properties")
    contacts.declared["student_id"] = prop_def(
        "student_id", "number", unique=True, group="contactinformation"
    )
    contacts.unique_properties = (*contacts.unique_properties, "student_id")
    contacts.declared["ndecc_exam_date"] = prop_def(
        "ndecc_exam_date", "date", group="contactinformation"
    )
    for credit in (
        "sj_credits",
        "cs_credits",
        "sjmini_credits",
        "mock_discussion_token",
        "shared_mock_credits",
    ):
        contacts.declared[credit] = prop_def(credit, "number", group="mocks_properties")

    [contact] = sb.seed(
        CONTACTS,
        [
            {
                "email": "s100234@example.com",
                "student_id": "100234",
                "ndecc_exam_date": "2026-01-15",
                "sj_credits": "2",
            }
        ],
    )
    [exam] = sb.seed(
        EXAMS,
        [
            {
                "mock_exam_id": "7",
                "mock_exam_name": "Clinical Skills-Mississauga-2026-03-01",
                "mock_type": "Clinical Skills",
                "exam_date": "2026-03-01",
                "start_time": "2026-03-01T14:00:00.000Z",
                "end_time": "2026-03-01T17:00:00.000Z",
                "location": "Mississauga",
                "capacity": "12",
                "total_bookings": "1",
                "is_active": "true",
                "mock_set": "A",
            }
        ],
    )
    [booking] = sb.seed(
        BOOKINGS,
        [
            {
                "booking_id": "Clinical Skills-100234-March 1, 2026",
                "name": "S 100234",
                "email": "s100234@example.com",
                "is_active": "Active",
                "dominant_hand": "true",
                "attending_location": "Mississauga",
            }
        ],
    )
    return {"contact": contact, "exam": exam, "booking": booking}


def lines(out: str, prefix: str) -> list[str]:
    return [x[len(prefix) :] for x in out.splitlines() if x.startswith(prefix)]


def test_setup_on_the_original_apps_portal_says_precisely_what_to_do(
    empty_sandbox: Sandbox, monkeypatch, capsys
) -> None:
    sb = empty_sandbox
    fast(sb)
    ids = original_portal(sb)
    env = env_for("postgresql://unused", sb)

    # --check: one line per difference, none for a property mockbook only reads as text
    # (ndecc_exam_date a date, the exams' start and end datetimes).
    code, out, _ = run_main(["hubspot", "setup", "--check"], env, monkeypatch, capsys)
    assert code == 1
    different = lines(out, "missing/different: ")
    by_hand = (
        "its value is read-only in HubSpot (calculated); by hand: push writes it: delete it "
        "(HubSpot: Settings > Properties > bookings > {0}), then run `mockbook hubspot setup`, "
        "which creates it (type {1})"
    )
    assert different == [
        "bookings: property 'is_active': options missing: Failed, Waitlisted, Offered, "
        "Accepted, Expired, Left, Closed",
        "bookings: property group 'mockbook' does not exist",
        "bookings: property 'token_used' (string) is missing",
        "bookings: property 'idempotency_key' (string) is missing",
        "bookings: property 'mock_type': " + by_hand.format("mock_type", "enumeration"),
        "bookings: property 'exam_date': " + by_hand.format("exam_date", "date"),
        "bookings: property 'start_time': " + by_hand.format("start_time", "string"),
        "bookings: property 'end_time': " + by_hand.format("end_time", "string"),
        "bookings: property 'associated_mock_exam' (string) is missing",
        "bookings: property 'associated_contact_id' (string) is missing",
        "bookings: property 'student_id' (string) is missing",
        "bookings: property 'attending_location': type 'enumeration', needs 'string'",
        "bookings: property 'dominant_hand': type 'bool', needs 'string'",
        "mock_exams: property group 'mockbook' does not exist",
        "mock_exams: property 'prerequisite_exam_ids' (string) is missing",
        "contacts: property 'student_id': type 'number', needs 'string'",
        "notes: property group 'mockbook' does not exist",
        "notes: property 'mockbook_audit_id' (string) is missing",
    ]
    assert sb.requests and all(r["method"] == "GET" for r in sb.requests)

    # setup: creates what is missing, changes the three types (every value converts) and adds
    # the options; what is left is the four calculated booking properties, one line each.
    code, out, _ = run_main(["hubspot", "setup"], env, monkeypatch, capsys)
    assert code == 1, out
    assert [x.split(": property ")[1].split("'")[1] for x in lines(out, "not fixed: ")] == list(
        CALCULATED
    )
    assert lines(out, "environment: ") == []  # the ids are the ones configured
    bookings = sb.store.resolve_type(BOOKINGS)
    contacts = sb.store.resolve_type(CONTACTS)
    assert bookings is not None and contacts is not None
    assert contacts.declared["student_id"]["type"] == "string"
    assert contacts.declared["student_id"]["hasUniqueValue"] is True
    assert contacts.declared["ndecc_exam_date"]["type"] == "date"  # left as the apps have it
    assert bookings.declared["dominant_hand"]["type"] == "string"
    assert bookings.declared["attending_location"]["type"] == "string"
    # no value was lost
    assert sb.get(CONTACTS, ids["contact"])["properties"]["student_id"] == "100234"
    booking = sb.get(BOOKINGS, ids["booking"])["properties"]
    assert (booking["dominant_hand"], booking["attending_location"]) == ("true", "Mississauga")
    assert sb.get(EXAMS, ids["exam"])["properties"]["start_time"] == "2026-03-01T14:00:00.000Z"

    # Done by hand as the lines say, the portal is ready.
    for name in CALCULATED:
        del bookings.declared[name]
    code, out, _ = run_main(["hubspot", "setup"], env, monkeypatch, capsys)
    assert code == 0, out
    assert "the portal has everything mockbook needs" in out
    code, out, _ = run_main(["hubspot", "setup", "--check"], env, monkeypatch, capsys)
    assert code == 0, out
