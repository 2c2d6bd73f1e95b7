"""Records whose shape lives in HubSpot's associations, or that HubSpot deleted or merged
(items 3-5): prerequisites are exam->exam associations (read by the pull, written by
the push, never wiped); a booking archived in HubSpot is re-created and its new id taken; a
contact merged or deleted in HubSpot is re-linked, not dead-lettered; reconcile compares the
associations and converges in one repair + push."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import (
    book,
    booking_props,
    contact,
    exam,
    fast,
    hubspot,
    ledger,
    one,
    open_db,
    seed_contacts,
    seed_exams,
)
from push_helpers import pending

from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.importer import run_import
from glue.sync.pull import pull
from glue.sync.push import push
from glue.sync.reconcile import reconcile

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

PREREQUISITE = 1340  # the default HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID
INVERSE = 1341


def define_prerequisite_label(sb: Sandbox) -> None:
    sb.define_association_label(
        EXAMS, EXAMS, PREREQUISITE, "requires attendance at", INVERSE, "is required by"
    )


def prerequisites_in_hubspot(sb: Sandbox, exam_id: str) -> list[str]:
    return sorted(
        a["to_id"]
        for a in sb.associations(EXAMS, exam_id)
        if a["to_type"] == EXAMS and PREREQUISITE in a["types"]
    )


def merge_contacts(sb: Sandbox, primary: str, other: str) -> tuple[int, dict]:
    """POST /crm/v3/objects/contacts/merge, as HubSpot's API takes it."""
    request = urllib.request.Request(
        f"{sb.base_url}/crm/v3/objects/contacts/merge",
        data=json.dumps({"primaryObjectId": primary, "objectIdToMerge": other}).encode(),
        headers={
            "Authorization": f"Bearer {sandbox_fixtures.TOKEN}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def dead_letters(url: str) -> int:
    return one(url, "SELECT count(*) FROM hubspot_sync.sync_queue WHERE dead_at IS NOT NULL")


# ---- prerequisites ----
def test_prerequisites_travel_both_ways_and_ten_pulls_keep_them(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    define_prerequisite_label(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    discussion, cs_a, cs_b = seed_exams(
        sandbox,
        [
            {"mock_type": "Mock Discussion", "exam_date": "2031-03-10"},
            {"exam_date": "2031-03-01"},
            {"exam_date": "2031-03-02"},
        ],
    )
    sandbox.associate(EXAMS, discussion, EXAMS, cs_a, [PREREQUISITE])  # the admin app's way
    [student] = seed_contacts(sandbox, [{"student_id": "PRQ1", "mock_discussion_token": "2"}])
    with open_db(push_db) as db:
        imported = run_import(db, client, settings, reader=reader)
        assert imported.ok
        assert exam(push_db, discussion)["prerequisite_exam_ids"] == [cs_a]
        assert exam(push_db, cs_a)["prerequisite_exam_ids"] == []  # direction kept
        # PREREQUISITE_NOT_MET still fires after an import.
        with pytest.raises(psycopg.Error, match="PREREQUISITE_NOT_MET"):
            book(push_db, "PRQ1", discussion)

        for i in range(10):  # the exam record comes back through search each time
            sandbox.touch(EXAMS, discussion, location=f"room {i}")
            pull(db, client, settings, reader=reader)
        assert exam(push_db, discussion)["prerequisite_exam_ids"] == [cs_a]

        # A local change (production RPC, relative) is pushed as associations: B created, A removed.
        one(
            push_db,
            "SELECT hubspot_sync.update_exam_prerequisites(%s, %s, %s)",
            (discussion, [cs_b], [cs_a]),
        )
        pull(db, client, settings, reader=reader)  # before the push: the local change is kept
        assert exam(push_db, discussion)["prerequisite_exam_ids"] == [cs_b]
        push(db, client, settings, linger=0)
        assert prerequisites_in_hubspot(sandbox, discussion) == [cs_b]
        assert prerequisites_in_hubspot(sandbox, cs_b) == []  # cs_b "is required by", inversely
        for _ in range(10):
            pull(db, client, settings, reader=reader)
        assert exam(push_db, discussion)["prerequisite_exam_ids"] == [cs_b]

        # An admin's change in HubSpot comes in (associations do not move hs_lastmodifieddate).
        sandbox.associate(EXAMS, discussion, EXAMS, cs_a, [PREREQUISITE])
        stats = pull(db, client, settings, reader=reader).targets["exams"]
        assert stats.prerequisites == 1
        assert exam(push_db, discussion)["prerequisite_exam_ids"] == [cs_a, cs_b]
        assert reconcile(db, client, settings, reader=reader).drift == 0
    assert pending(push_db) == 0 and student


# ---- deleted and merged records ----
def test_a_booking_archived_in_hubspot_is_recreated_and_its_new_id_taken(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{}])
    seed_contacts(sandbox, [{"student_id": "ARC1", "cs_credits": "2"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        made = book(push_db, "ARC1", exam_id)
        push(db, client, settings, linger=0)
        old_id = one(
            push_db,
            "SELECT hubspot_id FROM hubspot_sync.hubspot_bookings WHERE booking_id = %s",
            (made["booking_id"],),
        )
        sandbox.archive(BOOKINGS, old_id)  # an admin deletes it in HubSpot
        report = reconcile(db, client, settings, repair=True, reader=reader)
        assert [m["key"] for m in report.entities["bookings"].missing_in_hubspot] == [
            made["booking_id"]
        ]
        push(db, client, settings, linger=0)
        assert reconcile(db, client, settings, reader=reader).drift == 0
    new_id = sandbox.get_by(BOOKINGS, "booking_id", made["booking_id"])["id"]
    assert new_id != old_id
    assert (
        one(
            push_db,
            "SELECT hubspot_id FROM hubspot_sync.hubspot_bookings WHERE booking_id = %s",
            (made["booking_id"],),
        )
        == new_id
    )
    cancelled = one(push_db, "SELECT hubspot_sync.cancel_booking(%s)", (new_id,))
    assert cancelled["success"] is True


@pytest.mark.parametrize("local_is_primary", [False, True], ids=["into-duplicate", "into-local"])
def test_a_contact_merged_in_hubspot_is_relinked_not_dead_lettered(
    push_db: str, sandbox: Sandbox, local_is_primary: bool
) -> None:
    """Whichever side the admin picks as primary, HubSpot's merge makes a new record with a
    new id: the local contact's own id (primary or not) now reads as it, and the push re-links
    it (``_merge_credits``) instead of dead-lettering the write."""
    settings, client, reader = hubspot(push_db, sandbox, max_attempts=1)
    fast(sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "5"}])
    [old] = seed_contacts(sandbox, [{"student_id": "MRG1", "cs_credits": "3"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        assert contact(push_db, "MRG1")["hubspot_id"] == old
        # A duplicate made in HubSpot later, then merged by an admin (into either): HubSpot
        # makes a new record with a new id of the two.
        [duplicate] = seed_contacts(
            sandbox, [{"student_id": "MRG1", "email": "mrg1.other@example.com", "cs_credits": "1"}]
        )
        primary, other = (old, duplicate) if local_is_primary else (duplicate, old)
        status, merged = merge_contacts(sandbox, primary, other)
        survivor = merged["id"]
        assert status == 200 and survivor not in (duplicate, old)
        assert {old, duplicate} <= set(merged["properties"]["hs_merged_object_ids"].split(";"))
        made = book(push_db, "MRG1", exam_id)  # 3 -> 2 locally
        stats = push(db, client, settings, linger=0)
    assert (stats.dead_lettered, dead_letters(push_db), pending(push_db)) == (0, 0, 0)
    row = contact(push_db, "MRG1")
    assert row["hubspot_id"] == survivor
    # Postgres owns credits: the survivor (never agreed with) takes the local balance.
    assert row["cs_credits"] == 2
    assert sandbox.get(CONTACTS, survivor)["properties"]["cs_credits"] == "2"
    assert [r for r in ledger(push_db, "MRG1") if r[0] == "hubspot_adjustment"] == []
    booking = sandbox.get_by(BOOKINGS, "booking_id", made["booking_id"])
    assert any(
        a["to_type"] == CONTACTS and a["to_id"] == survivor
        for a in sandbox.associations(BOOKINGS, booking["id"])
    )


def test_a_contact_merged_in_hubspot_is_relinked_by_the_pull_too(
    push_db: str, sandbox: Sandbox
) -> None:
    """The pull (every minute in the worker) usually sees the merge before any push of the
    contact: it re-links the local contact to the survivor too, instead of failing on the
    student id every cycle and missing an admin's credit edits on the survivor."""
    settings, client, reader = hubspot(push_db, sandbox, max_attempts=1)
    fast(sandbox)
    [old] = seed_contacts(sandbox, [{"student_id": "MRG2", "cs_credits": "3"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        [duplicate] = seed_contacts(
            sandbox, [{"student_id": "MRG2", "email": "mrg2.other@example.com", "cs_credits": "1"}]
        )
        status, merged = merge_contacts(sandbox, duplicate, old)
        survivor = merged["id"]  # the new record HubSpot made of the two
        assert status == 200 and survivor not in (duplicate, old)
        stats = pull(db, client, settings, reader=reader).targets["contacts"]
        assert stats.errors == []
        row = contact(push_db, "MRG2")
        assert (row["hubspot_id"], row["email"]) == (survivor, "mrg2.other@example.com")
        push(db, client, settings, linger=0)  # Postgres owns credits: the survivor takes 3
        assert sandbox.get(CONTACTS, survivor)["properties"]["cs_credits"] == "3"
        sandbox.touch(CONTACTS, survivor, cs_credits="5")  # then an admin: +2
        assert pull(db, client, settings, reader=reader).targets["contacts"].merged == 1
        push(db, client, settings, linger=0)
        assert pull(db, client, settings, reader=reader).targets["contacts"].merged == 0
    assert contact(push_db, "MRG2")["cs_credits"] == 5
    assert sandbox.get(CONTACTS, survivor)["properties"]["cs_credits"] == "5"
    assert ledger(push_db, "MRG2") == [
        ("import", "cs_credits", 3, 3),
        ("hubspot_adjustment", "cs_credits", 2, 5),
    ]
    assert (dead_letters(push_db), pending(push_db)) == (0, 0)


def test_a_contact_deleted_in_hubspot_is_matched_again_by_email(
    push_db: str, sandbox: Sandbox
) -> None:
    settings, client, reader = hubspot(push_db, sandbox, max_attempts=1)
    fast(sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "5"}])
    [old] = seed_contacts(sandbox, [{"student_id": "DEL1", "cs_credits": "3"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.archive(CONTACTS, old)  # an admin deletes the contact
        book(push_db, "DEL1", exam_id)
        stats = push(db, client, settings, linger=0)
    assert (stats.dead_lettered, dead_letters(push_db), pending(push_db)) == (0, 0, 0)
    row = contact(push_db, "DEL1")
    assert row["hubspot_id"] not in (None, old)
    again = sandbox.get(CONTACTS, row["hubspot_id"])
    assert again["properties"]["email"] == "del1@example.com"
    assert again["properties"]["cs_credits"] == "2" and row["cs_credits"] == 2


def test_the_sandbox_merges_contacts_as_hubspot_does(sandbox: Sandbox) -> None:
    a, b, c = seed_contacts(
        sandbox,
        [
            {"student_id": "SBM1", "firstname": ""},
            {"student_id": "SBM2", "firstname": "Bee"},
            {"student_id": "SBM3"},
        ],
    )
    [booking] = sandbox.seed(BOOKINGS, [{"booking_id": "BK-20310309-MMMMMM"}])
    sandbox.associate(
        BOOKINGS, booking, CONTACTS, b, [sandbox.association_type_id(BOOKINGS, CONTACTS)]
    )
    status, body = merge_contacts(sandbox, a, b)
    # A new record with a new id (https://developers.hubspot.com/changelog/
    # updated-merge-functionality-for-contacts-and-companies); both old ids point to it.
    ab = body["id"]
    assert status == 200 and ab not in (a, b, c)
    props = body["properties"]
    assert props["hs_merged_object_ids"].split(";") == [a, b] and props["firstname"] == "Bee"
    assert props["email"] == "sbm1@example.com"  # the primary's values win
    assert props["hs_object_id"] == ab
    assert sandbox.get(CONTACTS, a) is None and sandbox.get(CONTACTS, b) is None
    assert [x["to_id"] for x in sandbox.associations(BOOKINGS, booking)] == [ab]
    # A merged-away id reads as the record it was merged into (GET and batch read).
    settings_client = sandbox_fixtures.make_client(sandbox)
    for old in (a, b):
        read = settings_client.crm.contacts.basic_api.get_by_id(old, properties=["email"])
        assert read.id == ab
    status, body = merge_contacts(sandbox, c, ab)  # merging the result again carries its ids
    assert status == 200 and body["id"] not in (a, b, c, ab)
    assert set(body["properties"]["hs_merged_object_ids"].split(";")) == {a, b, c, ab}
    assert settings_client.crm.contacts.basic_api.get_by_id(a).id == body["id"]
    assert merge_contacts(sandbox, body["id"], "999999")[0] == 404
    assert merge_contacts(sandbox, body["id"], body["id"])[0] == 400


# ---- reconcile compares associations ----
def test_reconcile_finds_missing_associations_and_converges_in_one_round(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    define_prerequisite_label(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    first, second = seed_exams(sandbox, [{}, {"exam_date": "2031-03-09"}])
    students = ["REC1", "REC2"]
    ids = seed_contacts(sandbox, [{"student_id": s, "cs_credits": "2"} for s in students])
    contact_ids = dict(zip(students, ids, strict=True))
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
    made = [book(push_db, s, first) for s in students]
    one(push_db, "SELECT hubspot_sync.set_exam_prerequisites(%s, %s)", (second, [first]))
    # A booking only HubSpot has (an admin made it there), Active, on the second exam.
    sandbox.seed(
        BOOKINGS,
        [booking_props("BK-20310309-HSONLY", second, "REC1", contact_ids["REC1"])],
    )
    with open_db(push_db) as db:
        push(db, client, settings, linger=0)
        assert prerequisites_in_hubspot(sandbox, second) == [first]
        # Associations removed in HubSpot (an admin unlinking records).
        code = made[0]["booking_id"]
        hid = sandbox.get_by(BOOKINGS, "booking_id", code)["id"]
        sandbox.dissociate(BOOKINGS, hid, CONTACTS, contact_ids["REC1"])
        sandbox.dissociate(BOOKINGS, hid, EXAMS, first)
        sandbox.associate(EXAMS, first, EXAMS, second, [PREREQUISITE])  # HubSpot-side change

        report = reconcile(db, client, settings, repair=True, reader=reader)
        different = {d["key"]: d["fields"] for d in report.entities["bookings"].different}
        assert set(different[code]) == {"association:contact", "association:exam"}
        exams = {d["key"]: d["fields"] for d in report.entities["exams"].different}
        assert exams[first]["prerequisite_exam_ids"] == {"postgres": [], "hubspot": [second]}
        assert [m["key"] for m in report.entities["bookings"].missing_in_postgres] == [
            "BK-20310309-HSONLY"
        ]
        assert exam(push_db, first)["prerequisite_exam_ids"] == [second]  # HubSpot's applied
        push(db, client, settings, linger=0)
        after = reconcile(db, client, settings, reader=reader)
    assert after.drift == 0, after.as_dict()
    targets = {(a["to_type"], a["to_id"]) for a in sandbox.associations(BOOKINGS, hid)}
    assert {(CONTACTS, contact_ids["REC1"]), (EXAMS, first)} <= targets
    assert sandbox.get(EXAMS, second)["properties"]["total_bookings"] == "1"
