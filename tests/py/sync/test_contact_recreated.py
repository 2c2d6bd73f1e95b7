"""A contact an admin deleted in HubSpot comes back with its profile: the push re-creates it by
email (its next credit change) and gives the contact it created the student_id and names
Postgres holds; an existing HubSpot contact's profile is never written by the push."""

from __future__ import annotations

import push_helpers
import sandbox_fixtures
from pull_helpers import contact, fast, hubspot, open_db, q, seed_contacts

from glue.sandbox import CONTACTS, Sandbox
from glue.sync.pull import pull
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def _gift(url: str, student_id: str, delta: int) -> None:
    q(url, "SELECT hubspot_sync.adjust_credits(p_student_id => %s, p_credit_field => "
           "'sj_credits', p_delta => %s, p_reason => 'gift', p_actor => 'admin:test')",
      (student_id, delta))


def test_a_contact_deleted_in_hubspot_is_recreated_with_its_profile(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (old_id,) = seed_contacts(sandbox, [{"student_id": "FP1", "firstname": "Fiona",
                                         "lastname": "Park", "sj_credits": "2"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.archive(CONTACTS, old_id)  # an admin deletes the contact
        _gift(push_db, "FP1", 3)
        stats = push(db, client, settings)
    assert stats.dead_lettered == 0
    local = contact(push_db, "FP1")
    assert local["hubspot_id"] not in (None, old_id)
    props = sandbox.get(CONTACTS, local["hubspot_id"])["properties"]
    assert (props["email"], props["student_id"], props["firstname"], props["lastname"]) == (
        "fp1@example.com", "FP1", "Fiona", "Park")
    assert props["sj_credits"] == "5"
    # the local profile is untouched
    assert (local["firstname"], local["lastname"]) == ("Fiona", "Park")


def test_the_push_never_writes_an_existing_contacts_profile(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (hid,) = seed_contacts(sandbox, [{"student_id": "EX1", "firstname": "Eve",
                                      "lastname": "Xu"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        # Postgres forgets the link (as after a restore): the push finds the contact by email
        q(push_db, "UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL, "
                   "firstname = 'Old', lastname = 'Name' WHERE student_id = 'EX1'")
        _gift(push_db, "EX1", 1)
        push(db, client, settings)
    props = sandbox.get(CONTACTS, hid)["properties"]
    assert (props["firstname"], props["lastname"], props["sj_credits"]) == ("Eve", "Xu", "1")
    assert contact(push_db, "EX1")["hubspot_id"] == hid


def test_a_repair_never_copies_an_empty_hubspot_name_over_a_local_one(
    push_db: str, sandbox: Sandbox
) -> None:
    """The deletion sequence with a contact re-created without its profile (by another tool, or
    by an older push): `reconcile --repair` once copied the empty names over the student's
    names in Postgres (FP1/LP1 -> NULL). Empty in HubSpot means unknown: reported as drift, the
    local value kept; a name HubSpot does hold still wins."""
    from glue.sync.reconcile import reconcile

    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (old_id,) = seed_contacts(sandbox, [{"student_id": "RP1", "firstname": "FP1",
                                         "lastname": "LP1"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.archive(CONTACTS, old_id)  # an admin deletes the contact...
        (new_id,) = sandbox.seed(CONTACTS, [{"email": "rp1@example.com", "sj_credits": "0",
                                             "firstname": "", "lastname": "Newer"}])
        q(push_db, "UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = %s "
                   "WHERE student_id = 'RP1'", (new_id,))  # ...re-created with no first name
        report = reconcile(db, client, settings, repair=True, reader=reader)
    fields = {d["key"]: d["fields"] for d in report.as_dict()["entities"]["contacts"]["different"]}
    assert fields["RP1"]["firstname"] == {"postgres": "FP1", "hubspot": "",
                                          "repair": "kept: HubSpot's value is empty"}
    row = contact(push_db, "RP1")
    assert (row["firstname"], row["lastname"]) == ("FP1", "Newer")
