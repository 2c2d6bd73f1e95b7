"""`mockbook reconcile`: drift of every kind, made on both sides, is found per
entity, reported (JSON, table), counted for `mockbook status`, and repaired by the right side
(Postgres for bookings and credits, HubSpot for exams and contact profile fields)."""

from __future__ import annotations

import json

import psycopg
import push_helpers
import sandbox_fixtures
from click.testing import CliRunner
from pull_helpers import (
    booking_props,
    contact,
    exam,
    fast,
    hubspot,
    invariant_violations,
    ledger,
    one,
    open_db,
    seed_account,
    seed_contacts,
    seed_exams,
)
from push_helpers import env_for

from glue.cli import cli
from glue.run.status import read_status
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.importer import run_import
from glue.sync.push import push
from glue.sync.reconcile import reconcile

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def keys(report: dict, entity: str, kind: str) -> set[str]:
    return {item["key"] for item in report["entities"][entity][kind]}


def test_drift_of_every_kind_is_found_and_repaired(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    account = seed_account(sandbox, malformed=False)
    e1, e2 = account["exams"]
    c1, c2, c3 = account["contacts"]
    settings, client, reader = hubspot(push_db, sandbox)
    env = env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    runner = CliRunner()
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        push(db, client, settings, requeue=True, linger=0)  # HubSpot gets total_bookings
        clean = runner.invoke(cli, ["reconcile", "--json"], env=env, catch_exceptions=False)
        assert clean.exit_code == 0, clean.output
        assert json.loads(clean.output)["drift"] == 0

        # Drift made in HubSpot ...
        sandbox.touch(EXAMS, e2, location="calgary")  # an exam field (HubSpot wins)
        [new_exam] = seed_exams(sandbox, [{"exam_date": "2031-05-01"}])
        sandbox.touch(CONTACTS, c1, cs_credits="9")  # a balance (Postgres wins)
        sandbox.touch(CONTACTS, c2, firstname="Renamed")  # a profile field (HubSpot wins)
        seed_contacts(sandbox, [{"student_id": "NEWHS1"}])
        booking_a = sandbox.get_by(BOOKINGS, "booking_id", "BK-20310309-AAAAAA")["id"]
        sandbox.touch(BOOKINGS, booking_a, is_active="Cancelled")  # a booking field
        sandbox.seed(
            BOOKINGS, [booking_props("BK-20310309-HHHHHH", e1, "IMP3", c3, is_active="Cancelled")]
        )
        # ... and in Postgres.
        local_exam = one(push_db, "SELECT tests.make_exam()")
        one(push_db, "SELECT tests.make_student(p_student_id := 'LOCAL1')")
        one(
            push_db,
            "UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL, "
            "firstname = NULL, lastname = NULL WHERE student_id = 'LOCAL1'",
        )
        admin = one(
            push_db,
            """
            SELECT hubspot_sync.admin_create_booking(p_student_id := 'IMP3',
                p_email := 'imp3@example.com', p_mock_exam_id := %s,
                p_idempotency_key := 'drift-key', p_actor := 'admin@example.com',
                p_dominant_hand := 'left')""",
            (e1,),
        )  # not pushed; e1's count moves

        found = runner.invoke(cli, ["reconcile", "--json"], env=env, catch_exceptions=False)
        assert found.exit_code == 1
        report = json.loads(found.output)
        assert keys(report, "exams", "different") == {e2}
        assert keys(report, "exams", "missing_in_postgres") == {new_exam}
        assert keys(report, "exams", "missing_in_hubspot") == {local_exam}
        assert keys(report, "contacts", "different") == {"IMP1", "IMP2"}
        assert keys(report, "contacts", "missing_in_postgres") == {"NEWHS1"}
        assert keys(report, "contacts", "missing_in_hubspot") == set()
        assert keys(report, "bookings", "different") == {"BK-20310309-AAAAAA"}
        assert keys(report, "bookings", "missing_in_postgres") == {"BK-20310309-HHHHHH"}
        assert keys(report, "bookings", "missing_in_hubspot") == set()
        # Lag, not drift: what waits in the outbox (the admin's booking, its exam's count moved
        # by it, a student not pushed yet) is what the next push writes, reported apart.
        assert keys(report, "exams", "waiting_for_push") == {e1}
        assert keys(report, "contacts", "waiting_for_push") == {"LOCAL1"}
        assert keys(report, "bookings", "waiting_for_push") == {admin["booking_id"]}
        assert report["drift"] == 8 and report["waiting"] == 3
        exams = {d["key"]: d["fields"] for d in report["entities"]["exams"]["different"]}
        assert exams[e2] == {"location": {"postgres": "mississauga", "hubspot": "calgary"}}
        waiting = {d["key"]: d for d in report["entities"]["exams"]["waiting_for_push"]}
        assert waiting[e1]["fields"] == {"total_bookings": {"postgres": 3, "hubspot": "2"}}
        assert waiting[e1]["kind"] == "different"
        contacts = {d["key"]: d["fields"] for d in report["entities"]["contacts"]["different"]}
        assert contacts["IMP1"] == {"cs_credits": {"postgres": 3, "hubspot": "9"}}
        assert contacts["IMP2"] == {"firstname": {"postgres": "FirstIMP2", "hubspot": "Renamed"}}
        # Within the threshold: exit 0; the count is kept for `mockbook status`.
        tolerated = runner.invoke(cli, ["reconcile", "--max-drift", "8"], env=env)
        assert tolerated.exit_code == 0 and "drift 8; waiting for the push 3" in tolerated.output
        with psycopg.connect(push_db, autocommit=True) as conn:
            assert read_status(conn).drift == 8

        repaired = reconcile(db, client, settings, repair=True, reader=reader)
        # AAAAAA re-queued; the admin's booking already waits in the outbox; HHHHHH imported.
        assert repaired.entities["bookings"].repaired == {"requeued": 1, "imported": 1}
        # every drifting record fixed (applied, imported) or queued: none left for status
        assert repaired.left == 0 and repaired.drift == 8
        with psycopg.connect(push_db, autocommit=True) as conn:
            assert read_status(conn).drift == 0
        # HubSpot's side applied at once, Postgres' side queued for the push.
        assert exam(push_db, e2)["location"] == "calgary"
        assert exam(push_db, local_exam)["is_active"] == "false"
        assert (
            one(
                push_db,
                "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s",
                (new_exam,),
            )
            == 1
        )
        assert contact(push_db, "IMP2")["firstname"] == "Renamed"
        assert contact(push_db, "IMP1")["cs_credits"] == 3  # re-queued, not applied here
        assert contact(push_db, "NEWHS1")["hubspot_id"] is not None
        push(db, client, settings, linger=0)

    # The push merges before it writes: HubSpot's 3 -> 9 is an admin's change, kept
    # on both sides with its ledger row, never written over by the re-queued 3.
    assert sandbox.get(CONTACTS, c1)["properties"]["cs_credits"] == "9"
    assert contact(push_db, "IMP1")["cs_credits"] == 9
    assert ledger(push_db, "IMP1")[-1] == ("hubspot_adjustment", "cs_credits", 6, 9)
    assert sandbox.get(BOOKINGS, booking_a)["properties"]["is_active"] == "Active"
    assert sandbox.get(EXAMS, e1)["properties"]["total_bookings"] == "3"
    assert sandbox.get_by(CONTACTS, "email", "local1@example.com") is not None
    assert sandbox.get_by(BOOKINGS, "booking_id", admin["booking_id"]) is not None
    after = runner.invoke(cli, ["reconcile", "--json"], env=env, catch_exceptions=False)
    assert after.exit_code == 0, after.output
    assert json.loads(after.output)["drift"] == 0
    assert invariant_violations(push_db) == []
    with psycopg.connect(push_db, autocommit=True) as conn:
        assert read_status(conn).drift == 0


def test_a_booking_not_pushed_yet_is_lag_not_drift(push_db: str, sandbox: Sandbox) -> None:
    """Between two cron runs: a booking made since the last push, with its exam's count moved,
    waits in the outbox. reconcile reports it apart (waiting for the push), finds no drift
    (exit 0), and `status --check` does not alert on drift; once pushed, nothing waits."""
    fast(sandbox)
    account = seed_account(sandbox, malformed=False)
    settings, client, reader = hubspot(push_db, sandbox)
    env = env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    runner = CliRunner()
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        push(db, client, settings, requeue=True, linger=0)
        booked = one(push_db, """
            SELECT hubspot_sync.admin_create_booking(p_student_id := 'IMP3',
                p_email := 'imp3@example.com', p_mock_exam_id := %s,
                p_idempotency_key := 'lag-key', p_actor := 'admin@example.com',
                p_dominant_hand := 'left')""",
                     (account["exams"][0],))
        found = runner.invoke(cli, ["reconcile", "--json"], env=env, catch_exceptions=False)
        assert found.exit_code == 0, found.output
        report = json.loads(found.output)
        assert report["drift"] == 0, report
        assert keys(report, "bookings", "waiting_for_push") == {booked["booking_id"]}
        assert keys(report, "exams", "waiting_for_push") == {account["exams"][0]}
        checked = runner.invoke(cli, ["status", "--check", "--max-drift", "0"], env=env,
                                catch_exceptions=False)
        assert "check failed: drift" not in checked.output, checked.output
        with psycopg.connect(push_db, autocommit=True) as conn:
            assert read_status(conn).drift == 0
        push(db, client, settings, linger=0)
    after = runner.invoke(cli, ["reconcile", "--json"], env=env, catch_exceptions=False)
    assert after.exit_code == 0 and json.loads(after.output)["waiting"] == 0, after.output


# ---- extra associations ------------------------------------------------------------------------
def linked(sb: Sandbox, booking: str) -> set[tuple[str, str]]:
    """(type, id) of the contacts and exams one HubSpot booking is associated with."""
    return {
        (a["to_type"], a["to_id"])
        for a in sb.associations(BOOKINGS, booking)
        if a["to_type"] in (CONTACTS, EXAMS)
    }


def test_extra_associations_are_reported_counted_and_removed(
    push_db: str, sandbox: Sandbox
) -> None:
    """A HubSpot booking associated with a contact or an exam that is not its own (a second
    one, or the wrong one instead of its own) is drift: listed, counted once per booking,
    shown in the table, and removed by --repair (v4 batch/archive); the push then re-makes a
    missing own association, and a second reconcile finds nothing."""
    fast(sandbox)
    account = seed_account(sandbox, malformed=False)
    e1, e2 = account["exams"]
    c1, c2, c3 = account["contacts"]
    settings, client, reader = hubspot(push_db, sandbox)
    env = env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50", COLUMNS="250")
    runner = CliRunner()
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        push(db, client, settings, requeue=True, linger=0)
        assert reconcile(db, client, settings, reader=reader).drift == 0
        a = sandbox.get_by(BOOKINGS, "booking_id", "BK-20310309-AAAAAA")["id"]  # IMP1, e1
        b = sandbox.get_by(BOOKINGS, "booking_id", "BK-20310309-BBBBBB")["id"]  # IMP2, e1
        to_contact = sandbox.association_type_id(BOOKINGS, CONTACTS)
        to_exam = sandbox.association_type_id(BOOKINGS, EXAMS)
        # An admin's slips in HubSpot: a second contact and a second exam on A; B moved from
        # its own contact to another one.
        sandbox.associate(BOOKINGS, a, CONTACTS, c2, [to_contact])
        sandbox.associate(BOOKINGS, a, EXAMS, e2, [to_exam])
        sandbox.dissociate(BOOKINGS, b, CONTACTS, c2)
        sandbox.associate(BOOKINGS, b, CONTACTS, c3, [to_contact])

        found = runner.invoke(cli, ["reconcile", "--json"], env=env, catch_exceptions=False)
        assert found.exit_code == 1, found.output
        report = json.loads(found.output)
        bookings = report["entities"]["bookings"]
        assert report["drift"] == bookings["drift"] == 2  # two bookings drift
        extras = {(x["key"], x["association"], x["postgres"], tuple(x["extra"]))
                  for x in bookings["extra_associations"]}  # fmt: skip
        assert extras == {
            ("BK-20310309-AAAAAA", "contact", c1, (c2,)),
            ("BK-20310309-AAAAAA", "exam", e1, (e2,)),
            ("BK-20310309-BBBBBB", "contact", c2, (c3,)),
        }
        different = {d["key"]: d["fields"] for d in bookings["different"]}
        assert different == {
            "BK-20310309-AAAAAA": {
                "association:contact": {"postgres": c1, "hubspot": sorted([c1, c2])},
                "association:exam": {"postgres": e1, "hubspot": sorted([e1, e2])},
            },
            "BK-20310309-BBBBBB": {"association:contact": {"postgres": c2, "hubspot": [c3]}},
        }
        assert report["entities"]["exams"]["extra_associations"] == []
        table = runner.invoke(cli, ["reconcile", "--max-drift", "2"], env=env)
        assert table.exit_code == 0, table.output
        assert "extra associations" in table.output
        assert "extra association:exam" in table.output and e2 in table.output

        repaired = reconcile(db, client, settings, repair=True, reader=reader)
        # B's own contact association is missing: B is re-queued (the push makes it); the
        # three extra associations are removed at once, seen from both ends.
        assert repaired.entities["bookings"].repaired == {
            "requeued": 1,
            "imported": 0,
            "associations_removed": 3,
        }
        assert linked(sandbox, a) == {(CONTACTS, c1), (EXAMS, e1)}
        assert linked(sandbox, b) == {(EXAMS, e1)}
        assert a not in {x["to_id"] for x in sandbox.associations(EXAMS, e2)}
        push(db, client, settings, linger=0)
        after = reconcile(db, client, settings, reader=reader)
    assert after.drift == 0, after.as_dict()
    assert linked(sandbox, b) == {(CONTACTS, c2), (EXAMS, e1)}
    assert invariant_violations(push_db) == []


def test_the_contact_a_bookings_contact_was_merged_into_is_not_an_extra(
    push_db: str, sandbox: Sandbox
) -> None:
    """HubSpot moves a merged-away contact's associations to the contact it was merged into;
    until the pull brings the merge, Postgres still names the old contact. That association is
    the booking's own, never removed by --repair."""
    from test_sync_records import merge_contacts

    fast(sandbox)
    account = seed_account(sandbox, malformed=False)
    c1, c2, _ = account["contacts"]
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        push(db, client, settings, requeue=True, linger=0)
        b = sandbox.get_by(BOOKINGS, "booking_id", "BK-20310309-BBBBBB")["id"]  # IMP2 = c2
        status, merged = merge_contacts(sandbox, c1, c2)
        c12 = merged["id"]  # HubSpot merges into a new record with a new id
        assert status == 200 and c12 not in (c1, c2)
        assert (CONTACTS, c12) in linked(sandbox, b)
        report = reconcile(db, client, settings, repair=True, reader=reader)
    assert report.entities["bookings"].extra_associations == []
    assert "associations_removed" not in report.entities["bookings"].repaired
    assert (CONTACTS, c12) in linked(sandbox, b)


def test_search_lag_right_after_a_push_is_not_drift(push_db: str, sandbox: Sandbox) -> None:
    """HubSpot's search shows a write some seconds after it (https://developers.hubspot.com/
    docs/api/crm/search); reconcile run right after a push once reported that lag as drift (7,
    then 0 two seconds later) and exited 1. Drift is read again by id (no lag) before it is
    reported."""
    fast(sandbox)
    seed_account(sandbox, malformed=False)
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        baseline = reconcile(db, client, settings, reader=reader)
        sandbox.search_lag = 30.0  # longer than the test: search shows the state before
        try:
            for student in ("IMP1", "IMP2", "IMP3"):
                one(push_db, "SELECT hubspot_sync.adjust_credits(p_student_id => %s, "
                             "p_credit_field => 'sj_credits', p_delta => 4, p_reason => 'gift', "
                             "p_actor => 'admin:test')", (student,))
            push(db, client, settings, linger=0)
            after = reconcile(db, client, settings, reader=reader)
        finally:
            sandbox.search_lag = 0.0
    assert after.entities["contacts"].drift == 0 == baseline.entities["contacts"].drift
    assert after.drift == baseline.drift
