"""`mockbook hubspot setup` and the start-up portal check: an empty portal is set up
idempotently, the whole sync cycle then runs against the strict sandbox with the OpenAPI
conformance checks on, and a portal missing one property is refused at start-up (exit 2, one
line naming it) instead of dead-lettering the queue."""

from __future__ import annotations

from datetime import UTC, datetime

import push_helpers
import sandbox_fixtures
from pull_helpers import contact_props, exam_props, fast, hubspot, one, open_db
from push_helpers import env_for, run_main

from glue.hubspot import setup as portal
from glue.hubspot.client import HubSpotError
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, NOTES, Sandbox
from glue.sync.importer import run_import
from glue.sync.notes import push_audit_notes
from glue.sync.pull import pull
from glue.sync.push import push
from glue.sync.reconcile import reconcile

sandbox = sandbox_fixtures.sandbox
empty_sandbox = sandbox_fixtures.empty_sandbox
push_db = push_helpers.push_db
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def writes(sb: Sandbox, since: int = 0) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sb.requests[since:] if r["method"] in WRITES]


def test_setup_check_dry_run_and_idempotence(empty_sandbox: Sandbox, monkeypatch, capsys) -> None:
    fast(empty_sandbox)
    env = env_for("postgresql://unused", empty_sandbox)
    code, out, _ = run_main(["hubspot", "setup", "--check"], env, monkeypatch, capsys)
    assert code == 1
    assert "custom object 'bookings' does not exist" in out
    assert "contacts: property 'sj_credits' (number) is missing" in out
    assert "notes: property 'mockbook_audit_id' (string) is missing" in out
    assert writes(empty_sandbox) == []

    code, out, _ = run_main(["hubspot", "setup", "--dry-run"], env, monkeypatch, capsys)
    assert code == 1
    assert "would call: POST /crm-object-schemas/v3/schemas bookings" in out
    assert "would call: POST /crm/v3/properties/0-1 sj_credits" in out
    assert writes(empty_sandbox) == []

    code, out, _ = run_main(["hubspot", "setup"], env, monkeypatch, capsys)
    assert code == 0, out
    made = writes(empty_sandbox)
    assert "POST /crm-object-schemas/v3/schemas" in made
    assert any(w.endswith("/labels") for w in made)
    ids = dict(
        line.strip().split("=", 1) for line in out.splitlines() if line.startswith("  HUBSPOT_")
    )
    assert set(ids) == {
        "HUBSPOT_BOOKINGS_OBJECT_TYPE",
        "HUBSPOT_EXAMS_OBJECT_TYPE",
        "HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID",
    }
    # The webhook subscriptions to create, for the exams object just created.
    subs = out.split("webhook subscriptions to create", 1)[1].splitlines()[1:]
    subs = {tuple(line.split()) for line in subs if line.startswith("  ")}
    exams = ids["HUBSPOT_EXAMS_OBJECT_TYPE"]
    assert {
        ("0-1", "contact.creation"),
        ("0-1", "contact.merge"),
        ("0-1", "contact.propertyChange", "property", "sj_credits"),
        (exams, "object.deletion"),
        (exams, "object.propertyChange", "property", "capacity"),
    } <= subs, out
    bookings = empty_sandbox.store.resolve_type(ids["HUBSPOT_BOOKINGS_OBJECT_TYPE"])
    assert bookings is not None and bookings.name == "bookings"
    assert bookings.declared["booking_id"]["hasUniqueValue"] is True

    # Without the new ids in the environment the check says which to set.
    code, out, _ = run_main(["hubspot", "setup", "--check"], env, monkeypatch, capsys)
    wanted = "set HUBSPOT_BOOKINGS_OBJECT_TYPE=" + ids["HUBSPOT_BOOKINGS_OBJECT_TYPE"]
    assert code == 1 and wanted in out
    # With them, the portal is ready, and setup again writes nothing.
    env.update(ids)
    before = len(empty_sandbox.requests)
    code, out, _ = run_main(["hubspot", "setup", "--check"], env, monkeypatch, capsys)
    assert code == 0 and "the portal has everything mockbook needs" in out
    code, out, _ = run_main(["hubspot", "setup"], env, monkeypatch, capsys)
    assert code == 0 and writes(empty_sandbox, before) == []


def test_setup_gives_a_property_mockbooks_type_and_adds_a_missing_option(sandbox: Sandbox) -> None:
    """A number property made text in HubSpot, its values all numbers: setup changes its type
    and field type (the properties API's update takes both) and keeps the values."""
    fast(sandbox)
    settings, client, _ = hubspot("postgresql://unused", sandbox)
    exams = sandbox.store.resolve_type("mock_exams")
    assert exams is not None
    exams.declared["mock_set"]["options"] = exams.declared["mock_set"]["options"][:3]
    exams.declared["capacity"].update(type="string", fieldType="text")
    [exam] = sandbox.seed(EXAMS, [exam_props(capacity=12)])
    findings = [str(f) for f in portal.check(client, settings).findings]
    assert findings == [
        "mock_exams: property 'capacity': type 'string', needs 'number'",
        "mock_exams: property 'mock_set': options missing: D, E, F, G, H",
    ]
    report = portal.setup(client, settings)
    assert report.findings == []
    assert f"PATCH /crm/v3/properties/{EXAMS}/capacity type=number fieldType=number" in (
        report.calls
    )
    assert (exams.declared["capacity"]["type"], exams.declared["capacity"]["fieldType"]) == (
        "number",
        "number",
    )
    assert sandbox.get(EXAMS, exam)["properties"]["capacity"] == "12"
    assert [o["value"] for o in exams.declared["mock_set"]["options"]] == list("ABCDEFGH")
    assert portal.check(client, settings).ok


def test_setup_says_what_to_do_by_hand_when_hubspot_refuses_a_type_change(
    sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """Values that cannot become the new type: HubSpot answers the update 400 and keeps the
    property; setup prints one line for it, with HubSpot's reason and the fix by hand."""
    fast(sandbox)
    exams = sandbox.store.resolve_type("mock_exams")
    assert exams is not None
    exams.declared["capacity"].update(type="string", fieldType="text")
    [exam] = sandbox.seed(EXAMS, [exam_props(capacity="twelve")])
    env = env_for("postgresql://unused", sandbox)
    code, out, _ = run_main(["hubspot", "setup"], env, monkeypatch, capsys)
    assert code == 1, out
    [line] = [x for x in out.splitlines() if x.startswith("not fixed:")]
    assert line == (
        "not fixed: mock_exams: property 'capacity': type 'string', needs 'number'; "
        "HubSpot refused the change (400: Cannot change property capacity to type number: 1 "
        f'existing value(s) cannot be converted, e.g. "twelve" (object {exam}): "twelve" is not a '
        "valid number); by hand: clear or correct its values that are not valid number values "
        "(HubSpot: Settings > Properties > mock_exams > capacity), then run `mockbook hubspot "
        "setup` again; or give it type number, field type number there"
    )
    assert exams.declared["capacity"]["type"] == "string"
    assert sandbox.get(EXAMS, exam)["properties"]["capacity"] == "twelve"
    # Corrected by hand, the next setup changes the type.
    sandbox.touch(EXAMS, exam, capacity="12")
    code, out, _ = run_main(["hubspot", "setup"], env, monkeypatch, capsys)
    assert code == 0, out
    assert exams.declared["capacity"]["type"] == "number"


def test_a_portal_set_up_before_the_waitlist_gets_its_booking_statuses(sandbox: Sandbox) -> None:
    """A portal whose booking is_active has only the four booking statuses (set up before issue
    16) lacks the waitlist places' statuses: the start-up check names them, setup adds them, and
    the strict sandbox then accepts a place pushed as Waitlisted."""
    fast(sandbox)
    settings, client, _ = hubspot("postgresql://unused", sandbox)
    bookings = sandbox.store.resolve_type("bookings")
    assert bookings is not None
    bookings.declared["is_active"]["options"] = bookings.declared["is_active"]["options"][:4]
    findings = [str(f) for f in portal.check(client, settings).findings]
    assert findings == [
        "bookings: property 'is_active': options missing: "
        "Waitlisted, Offered, Accepted, Expired, Left, Closed"
    ]
    assert portal.setup(client, settings).findings == []
    assert [o["value"] for o in bookings.declared["is_active"]["options"]] == [
        "Active", "Cancelled", "Completed", "Failed",
        "Waitlisted", "Offered", "Accepted", "Expired", "Left", "Closed",
    ]


def test_the_whole_cycle_on_a_portal_set_up_from_empty(
    push_db: str, empty_sandbox: Sandbox
) -> None:
    """setup -> import -> bookings -> push -> pull -> reconcile -> notes against the strict
    sandbox, every exchange validated against HubSpot's OpenAPI specs (the fixture asserts
    there is no conformance failure)."""
    sb = empty_sandbox
    fast(sb)
    settings, client, reader = hubspot(push_db, sb)
    report = portal.setup(client, settings)
    ids = report.ids
    settings = settings.with_overrides(
        bookings_object_type=ids["HUBSPOT_BOOKINGS_OBJECT_TYPE"],
        exams_object_type=ids["HUBSPOT_EXAMS_OBJECT_TYPE"],
        prerequisite_association_type_id=int(ids["HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID"]),
    )
    assert portal.check(client, settings).ok
    exams_type, bookings_type = settings.exams_object_type, settings.bookings_object_type
    [exam] = sb.seed(exams_type, [exam_props(capacity=5)])
    [c1, c2] = sb.seed(
        CONTACTS, [contact_props("CYC1", cs_credits=2), contact_props("CYC2", cs_credits=1)]
    )
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        booked = [
            one(
                push_db,
                "SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s, "
                "p_mock_exam_id := %s, p_idempotency_key := %s, p_dominant_hand := 'left')",
                (sid, f"{sid.lower()}@example.com", exam, f"cycle-{sid}"),
            )
            for sid in ("CYC1", "CYC2")
        ]
        one(
            push_db,
            "SELECT hubspot_sync.cancel_booking(p_booking_id := %s, p_actor := 'admin@x.ca')",
            (booked[1]["booking_id"],),
        )
        pushed = push(db, client, settings, linger=0)
        sb.touch(CONTACTS, c1, cs_credits="5")  # an admin grants credits in HubSpot
        pulled = pull(db, client, settings, reader=reader)
        drift = reconcile(db, client, settings, reader=reader)
        notes = push_audit_notes(db, client, settings, reader=reader)

    assert pushed.dead_lettered == 0 and pushed.retried == 0, pushed.errors
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.sync_errors") == 0
    remote = {o["properties"]["booking_id"]: o for o in sb.objects(bookings_type)}
    assert set(remote) == {b["booking_id"] for b in booked}
    first = remote[booked[0]["booking_id"]]["properties"]
    assert first["exam_date"] == "2031-03-01"  # sent at midnight UTC, read back as a date
    assert remote[booked[1]["booking_id"]]["properties"]["is_active"] == "Cancelled"
    assert pulled.ok and not pulled.problems
    credits = "SELECT cs_credits FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s"
    assert one(push_db, credits, ("CYC1",)) == 5  # 1 left after booking, +4 by the admin
    assert drift.drift == 0, drift.as_dict()
    assert notes.created > 0 and notes.failed is None
    assert all(n["properties"]["hs_timestamp"] for n in sb.objects(NOTES))
    assert c2 and sb.associations(NOTES, sb.objects(NOTES)[0]["id"])
    assert sb.errors == []


def test_a_portal_missing_one_property_is_refused_by_the_commands_that_use_it(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys, caplog
) -> None:
    """A booking property deleted in HubSpot: every command that writes or reads bookings
    refuses to start; the pull and the notes, which never touch it, start with one warning."""
    fast(sandbox)
    bookings = sandbox.store.resolve_type(BOOKINGS)
    assert bookings is not None
    del bookings.declared["dominant_hand"]  # someone deleted it in HubSpot
    world = push_helpers.make_world(push_db, sandbox, students=2)
    push_helpers.book(push_db, [(s, world.exams[0]) for s in world.students])
    queued = push_helpers.pending(push_db)
    env = env_for(push_db, sandbox)
    for command in (["push"], ["import"], ["run"], ["worker"]):
        code, out, err = run_main(command, env, monkeypatch, capsys)
        assert code == 2, (command, out, err)
        # one line naming it (run also prints its table of steps on stdout; the worker logs the
        # line as JSON, as it logs everything when stderr is not a terminal)
        named = [line for line in err.splitlines() if "property 'dominant_hand'" in line]
        assert len(named) == 1, (command, err)
        assert "property 'dominant_hand' (string) is missing" in named[0], (command, err)
        assert "mockbook hubspot setup" in named[0]
        assert "Traceback" not in err
        if command != ["worker"]:
            # nothing else but the line (and, without REDIS_URL, run's cache-step warning)
            others = [x for x in err.strip().splitlines()
                      if x not in named and "REDIS_URL is not set" not in x]
            assert others == [], (command, err)
    # Nothing was claimed, attempted or dead-lettered; no write reached HubSpot.
    assert push_helpers.pending(push_db) == queued
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.sync_errors") == 0
    assert one(push_db, "SELECT max(attempts) FROM hubspot_sync.sync_queue") == 0
    assert writes(sandbox) == []
    for command in (["pull"], ["notes"]):
        caplog.clear()
        code, out, err = run_main(command, env, monkeypatch, capsys)
        assert code != 2 and "Traceback" not in err, (command, out, err)
        [warning] = [r.getMessage() for r in caplog.records if r.name == "glue.hubspot.setup"]
        assert f"in what {command[0]} does not use" in warning
        assert "bookings: property 'dominant_hand' (string) is missing" in warning


def test_a_property_of_another_type_holds_back_only_the_commands_it_fails(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys, caplog
) -> None:
    """An exam's exam_date made text in HubSpot: the pull reads it as a date and refuses to
    start with the fix; the push never touches it and starts with one warning. A property
    mockbook only reads as text (ndecc_exam_date) may have any type: nobody is held back."""
    fast(sandbox)
    exams = sandbox.store.resolve_type(EXAMS)
    contacts = sandbox.store.resolve_type(CONTACTS)
    assert exams is not None and contacts is not None
    exams.declared["exam_date"].update(type="string", fieldType="text")
    contacts.declared["ndecc_exam_date"].update(type="date", fieldType="date")
    world = push_helpers.make_world(push_db, sandbox, students=1)
    push_helpers.book(push_db, [(world.students[0], world.exams[0])])
    sandbox.touch(CONTACTS, world.contact_ids[world.students[0]], ndecc_exam_date="2026-05-01")
    env = env_for(push_db, sandbox)

    code, out, err = run_main(["pull"], env, monkeypatch, capsys)
    assert code == 2, (out, err)
    assert err.strip() == (
        "mockbook: the HubSpot portal is not set up for pull: mock_exams: property 'exam_date': "
        "type 'string', needs 'date'; run `mockbook hubspot setup` (or `mockbook hubspot setup "
        "--check` to list everything)"
    )
    caplog.clear()
    code, out, err = run_main(["push"], env, monkeypatch, capsys)
    assert code == 0, (out, err)
    assert push_helpers.pending(push_db) == 0
    [warning] = [r.getMessage() for r in caplog.records if r.name == "glue.hubspot.setup"]
    assert warning.startswith(
        "the HubSpot portal differs from what mockbook needs, in what push does not use: "
        "mock_exams: property 'exam_date': type 'string', needs 'date'; push starts"
    )
    assert "ndecc_exam_date" not in warning

    # setup gives exam_date its type (no exam holds a value that is not a date); the pull then
    # starts, and reads the date-typed ndecc_exam_date as the text it is.
    code, out, _ = run_main(["hubspot", "setup"], env, monkeypatch, capsys)
    assert code == 0, out
    assert [x for x in out.splitlines() if x.startswith("called:")] == [
        f"called: PATCH /crm/v3/properties/{EXAMS}/exam_date type=date fieldType=date"
    ]
    assert contacts.declared["ndecc_exam_date"]["type"] == "date"
    code, out, err = run_main(["pull"], env, monkeypatch, capsys)
    assert code != 2 and "not set up" not in err, (out, err)
    pulled = one(
        push_db,
        "SELECT ndecc_exam_date FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s",
        (world.students[0],),
    )
    assert pulled == "2026-05-01"


def test_a_property_of_another_type_the_push_writes_is_refused_until_setup_repairs_it(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """A booking's dominant_hand defined as a checkbox (bool), as the original admin app writes
    it: the push would send 'left' (HubSpot: INVALID_BOOLEAN), so it refuses to start, naming the
    property and the fix; setup makes it text (true/false convert) and the push then writes."""
    fast(sandbox)
    bookings = sandbox.store.resolve_type(BOOKINGS)
    assert bookings is not None
    bookings.declared["dominant_hand"].update(type="bool", fieldType="booleancheckbox")
    [old] = sandbox.seed(BOOKINGS, [{"booking_id": "OLD-1", "dominant_hand": "true"}])
    world = push_helpers.make_world(push_db, sandbox, students=1)
    [booked] = [
        one(
            push_db,
            "SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s, "
            "p_mock_exam_id := %s, p_idempotency_key := 'left-1', p_dominant_hand := 'left', "
            "p_attending_location := 'mississauga')",
            (sid, f"{sid.lower()}@example.com", world.exams[0]),
        )
        for sid in world.students
    ]
    env = env_for(push_db, sandbox)
    code, out, err = run_main(["push"], env, monkeypatch, capsys)
    assert code == 2, (out, err)
    assert err.strip() == (
        "mockbook: the HubSpot portal is not set up for push: bookings: property "
        "'dominant_hand': type 'bool', needs 'string'; run `mockbook hubspot setup` (or "
        "`mockbook hubspot setup --check` to list everything)"
    )
    assert writes(sandbox) == []

    code, out, _ = run_main(["hubspot", "setup", "--dry-run"], env, monkeypatch, capsys)
    assert code == 1
    assert (
        f"would call: PATCH /crm/v3/properties/{BOOKINGS}/dominant_hand type=string "
        "fieldType=text"
    ) in out.splitlines()
    code, out, _ = run_main(["hubspot", "setup"], env, monkeypatch, capsys)
    assert code == 0, out
    assert bookings.declared["dominant_hand"]["type"] == "string"
    assert sandbox.get(BOOKINGS, old)["properties"]["dominant_hand"] == "true"
    code, out, err = run_main(["push"], env, monkeypatch, capsys)
    assert code == 0, (out, err)
    pushed = push_helpers.hubspot_bookings(sandbox)[booked["booking_id"]]
    assert pushed["properties"]["dominant_hand"] == "left"


def test_the_sandbox_changes_a_property_type_as_hubspot_does(sandbox: Sandbox) -> None:
    """PATCH /crm/v3/properties/{objectType}/{name} with type and fieldType: a valid pair, and
    the values held converted (a date's epoch milliseconds read back as YYYY-MM-DD); values that
    cannot convert, or a pair HubSpot does not take, are 400 and change nothing."""
    fast(sandbox)
    _, client, _ = hubspot("postgresql://unused", sandbox)
    contacts = sandbox.store.resolve_type(CONTACTS)
    assert contacts is not None

    def patch(name: str, **body: str) -> HubSpotError | None:
        try:
            client.call("patch", client.properties_api.update_with_http_info, CONTACTS, name, body)
        except HubSpotError as exc:
            return exc
        return None

    midnight = int(datetime(2026, 5, 1, tzinfo=UTC).timestamp() * 1000)
    [c] = sandbox.seed(CONTACTS, [contact_props("TYPE1", ndecc_exam_date=midnight)])
    for name, body in (
        ("sj_credits", {"type": "string"}),  # fieldType stays number: not a string's
        ("sj_credits", {"type": "number", "fieldType": "select"}),
        ("student_id", {"type": "number", "fieldType": "number"}),  # "TYPE1"
    ):
        refused = patch(name, **body)
        assert refused is not None and refused.status == 400, (name, body)
        assert refused.category == "VALIDATION_ERROR"
    assert contacts.declared["student_id"]["type"] == "string"
    assert contacts.declared["sj_credits"]["fieldType"] == "number"
    assert patch("ndecc_exam_date", type="date", fieldType="date") is None
    assert sandbox.get(CONTACTS, c)["properties"]["ndecc_exam_date"] == "2026-05-01"


def test_a_booking_id_that_is_not_unique_is_reported_with_the_fix_by_hand(
    sandbox: Sandbox,
) -> None:
    """HubSpot does not make an existing property unique: setup cannot fix it and says how."""
    fast(sandbox)
    settings, client, _ = hubspot("postgresql://unused", sandbox)
    bookings = sandbox.store.resolve_type(BOOKINGS)
    assert bookings is not None
    bookings.declared["booking_id"]["hasUniqueValue"] = False
    report = portal.setup(client, settings)
    assert [str(f) for f in report.findings] == [
        "bookings: property 'booking_id': not a unique property (needs hasUniqueValue); by "
        "hand: push upserts by it: delete it (HubSpot: Settings > Properties > bookings > "
        "booking_id), then run `mockbook hubspot setup`, which creates it unique"
    ]
    assert report.findings[0].users == frozenset({"push"})
