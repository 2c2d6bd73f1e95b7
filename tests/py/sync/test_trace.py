"""`mockbook trace KEY` tells one record's story and ends with the one line that answers an
operator's ticket, for every state a record can be in: new (not pushed), leased, pushed, failing,
dead-lettered, held (a credit jump), in conflict (an exam moved in HubSpot), adopted legacy,
deleted or merged in HubSpot. HubSpot's side is the sandbox, read as the glue reads it; the
command runs as the glue's role (tests/glue_role.py), through the console entry."""

from __future__ import annotations

import json
import re
from typing import Any

import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import book, fast, hubspot, one, open_db, q, seed_contacts, seed_exams
from push_helpers import env_for, run_main
from test_sync_records import merge_contacts

from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.pull import pull
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


class World:
    """One exam and one student in HubSpot, pulled into the database; bookings on demand."""

    def __init__(self, url: str, sb: Sandbox, monkeypatch, capsys, **settings: Any) -> None:
        fast(sb)
        self.url, self.sb, self.monkeypatch, self.capsys = url, sb, monkeypatch, capsys
        self.settings, self.client, self.reader = hubspot(url, sb, **settings)
        [self.exam] = seed_exams(sb, [{"capacity": "5", "exam_date": "2031-05-01"}])
        [self.contact] = seed_contacts(sb, [{"student_id": "TR1", "cs_credits": "3"}])
        self.pull()

    def pull(self) -> None:
        with open_db(self.url) as db:
            pull(db, self.client, self.settings, reader=self.reader)

    def push(self) -> Any:
        with open_db(self.url) as db:
            return push(db, self.client, self.settings, linger=0)

    def book(self, student: str = "TR1") -> str:
        return book(self.url, student, self.exam)["booking_id"]

    def env(self, **extra: str) -> dict[str, str]:
        return env_for(self.url, self.sb, **extra)

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        return run_main(["trace", *args], env or self.env(), self.monkeypatch, self.capsys)

    def story(self, key: str, *args: str) -> dict[str, Any]:
        code, out, err = self.run(key, "--json", *args)
        assert code == 0, err
        return json.loads(out)

    def answer(self, key: str, *args: str) -> str:
        """The last line of the plain output (stdout is not a terminal here)."""
        code, out, err = self.run(key, *args)
        assert code == 0, err
        return out.rstrip("\n").splitlines()[-1]


@pytest.fixture
def world(push_db: str, sandbox: Sandbox, monkeypatch, capsys) -> World:
    return World(push_db, sandbox, monkeypatch, capsys)


def sources(story: dict[str, Any]) -> list[str]:
    return [e["source"] for e in story["events"]]


def texts(story: dict[str, Any], source: str) -> list[str]:
    return [e["text"] for e in story["events"] if e["source"] == source]


def test_a_new_booking_waits_then_is_leased_then_is_in_hubspot_until_deleted_there(
        world: World) -> None:
    code = world.book()
    story = world.story(code)
    assert story["kind"] == "booking" and story["matched"] == "booking code"
    [queued] = [t for t in texts(story, "outbox")]
    row = one(world.url, "SELECT id FROM hubspot_sync.sync_queue WHERE record_id = %s::uuid",
              (story["id"],))
    assert queued.startswith(f"outbox row {row} queued (INSERT); attempt 1, next try at ")
    assert story["answer"]["kind"] == "waiting"
    assert world.answer(code).startswith(f"waiting: outbox row {row}, attempt 1, next try at ")
    # the audit row says who booked, the ledger row what it cost, in time order
    assert sources(story)[:2] == ["audit", "ledger"]
    assert texts(story, "ledger") == ["cs_credits -1 → 2 (booking)"]
    # HubSpot has no such booking yet (read by its code: nothing)
    assert story["hubspot"]["state"] == "missing"

    # a push holding the row: its lease is part of the answer
    with open_db(world.url) as db:
        claimed = [r["id"] for r in db.claim_sync_batch("worker-a", 100, 120)]
        assert world.answer(code).startswith(
            f"waiting: outbox row {row}, attempt 1, leased by worker-a until ")
        # given back, as a stopped push does: no attempt counted
        db.fail_sync_rows("worker-a", claimed, "stopped", max_attempts=8, retry_after=0,
                          count_attempt=False)

    assert world.push().sent >= 1
    story = world.story(code)
    hid = story["record"]["hubspot_id"]
    assert hid and story["hubspot"] == {**story["hubspot"], "state": "same", "hubspot_id": hid,
                                        "differences": []}
    assert f"outbox row {row} sent to HubSpot" in texts(story, "outbox")
    line = world.answer(code)
    assert line.startswith("in HubSpot since ") and line.endswith(f" (id {hid})")
    # the same story by the booking's uuid and by its HubSpot id
    assert world.story(story["id"])["matched"] == "booking id"
    assert world.story(hid)["matched"] == "HubSpot id"

    # an admin deletes it in HubSpot
    world.sb.archive(BOOKINGS, hid)
    story = world.story(code)
    assert story["hubspot"]["state"] == "deleted" and story["hubspot"]["at"]
    assert world.answer(code).startswith("deleted in HubSpot at ")
    assert "`mockbook reconcile --repair` queues it" in world.answer(code)


def test_a_failing_push_then_a_dead_letter_then_its_retry(push_db: str, sandbox: Sandbox,
                                                          monkeypatch, capsys) -> None:
    world = World(push_db, sandbox, monkeypatch, capsys, max_attempts=2)
    code = world.book()
    refusing = {"on": True}
    sandbox.reject_when(BOOKINGS, lambda p: refusing["on"] and p.get("booking_id") == code,
                        "Property values were not valid: a test refusal")
    assert world.push().retried == 1
    story = world.story(code)
    line = world.answer(code)
    assert line.startswith("waiting: outbox row ") and ", attempt 2, next try at " in line
    assert "last error: " in line and "a test refusal" in line
    assert story["answer"]["kind"] == "waiting"

    one(world.url, "UPDATE hubspot_sync.sync_queue SET next_attempt_at = now()")
    assert world.push().dead_lettered == 1
    letter = one(world.url, "SELECT id FROM hubspot_sync.sync_errors WHERE NOT resolved")
    line = world.answer(code)
    assert line.startswith("dead letter: ") and "a test refusal" in line
    assert line.endswith(f"; retry with `mockbook dlq retry {letter}`")
    story = world.story(code)
    assert any(t.startswith(f"dead letter {letter} (push, 2 attempts)")
               for t in texts(story, "dead letter"))
    assert any("dead-lettered after 2 attempts" in t for t in texts(story, "outbox"))

    # the command the answer names is the real one: it queues the row again, and it is sent
    refusing["on"] = False
    code_, _, err = run_main(["dlq", "retry", str(letter)], world.env(), monkeypatch, capsys)
    assert code_ == 0, err
    world.push()
    story = world.story(code)
    assert story["answer"]["kind"] == "in HubSpot"
    assert f"dead letter {letter} resolved: retried" in texts(story, "dead letter")


def test_a_held_credit_jump_a_webhook_and_a_merge_in_hubspot(world: World) -> None:
    sb = world.sb
    sb.touch(CONTACTS, world.contact, cs_credits="99", lastname="Renamed")
    with open_db(world.url) as db:
        db.store_webhook_events([{
            "eventId": 71, "subscriptionId": 5, "portalId": 4242424,
            "occurredAt": 1_790_000_000_000, "subscriptionType": "contact.propertyChange",
            "objectId": int(world.contact),
            "propertyName": "cs_credits", "propertyValue": "99"}])
    world.pull()
    letter = one(world.url, "SELECT id FROM hubspot_sync.sync_errors WHERE direction = 'pull'"
                            " AND NOT resolved")
    story = world.story("tr1@example.com")
    assert story["kind"] == "student" and story["matched"] == "email"
    assert story["answer"]["kind"] == "held"
    line = world.answer("TR1")
    assert line.startswith("held: credit jump of cs_credits +96 (3 synced, 99 in HubSpot) since ")
    assert line.endswith(f"confirm it with `mockbook dlq retry {letter}` or correct the value in "
                         "HubSpot")
    [diff] = story["hubspot"]["differences"]
    assert (diff["field"], diff["postgres"], diff["hubspot"]) == ("cs_credits", 3, "99")
    assert diff["why"].startswith(f"credit jump held: +96 in HubSpot since the last sync "
                                  f"(dead letter {letter}")
    # the pull's change, by the pull, and HubSpot's delivery about the contact
    assert any(t.startswith("lastname LastTR1 → Renamed") for t in texts(story, "pull"))
    [delivery] = texts(story, "webhook")
    assert delivery.startswith("HubSpot webhook contact.propertyChange cs_credits=99 (event 71)")
    assert delivery.endswith(": pending (0 attempts)")

    # the contact merged into another in HubSpot
    [other] = seed_contacts(sb, [{"student_id": "TR2"}])
    status, merged = merge_contacts(sb, other, world.contact)
    assert status == 200, merged
    one(world.url, "UPDATE hubspot_sync.sync_errors SET resolved = true")  # the jump aside
    story = world.story("TR1")
    assert story["hubspot"]["state"] == "merged"
    assert story["hubspot"]["merged_into"] == merged["id"]
    assert world.answer("TR1") == (f"merged in HubSpot into {merged['id']}: the next pull links "
                                   "this student to it")


def test_the_last_line_is_true_at_the_edges(world: World) -> None:
    """Any spelling of an email the API takes finds the student; a key that is not UTF-8 is one
    line; without HubSpot's side the line says HubSpot was not read; a merge in HubSpot that no
    pull can link (the survivor is another local student) is a dead letter the pull points at,
    keyed by the student, and the line says what to do."""
    code = world.book()
    world.push()
    # production's spelling of the address, as the adoption took it over
    one(world.url, "UPDATE hubspot_sync.hubspot_contact_credits SET email = %s "
                   "WHERE student_id = 'TR1' RETURNING id", (" Tr1@Example.COM\t",))
    for spelling in ("tr1@example.com", "TR1@EXAMPLE.COM ", "Tr1@Example.COM"):
        assert world.story(spelling)["record"]["student_id"] == "TR1", spelling
    # argv bytes that are not UTF-8 reach Python as surrogates: one line, exit 2
    rc, out, err = world.run("caf\udce9@example.com")
    assert (rc, out) == (2, "") and err.count("\n") == 1 and "matches" in err, err
    rc, out, _ = world.run("caf\udce9@example.com", "--json")
    assert rc == 2 and json.loads(out)["matches"] == []
    # Postgres' side only: the line says HubSpot was not read, never "in HubSpot since"
    line = world.answer(code, "--no-hubspot")
    assert line.startswith("pushed to HubSpot at ")
    assert "HubSpot was not read (--no-hubspot)" in line
    world.sb.archive(BOOKINGS, world.story(code)["record"]["hubspot_id"])  # (not seen: not read)
    assert "HubSpot was not read" in world.answer(code, "--no-hubspot")

    # TR1 merged into TR2, a student of this database too: no pull can link TR1 to it
    [other] = seed_contacts(world.sb, [{"student_id": "TR2"}])
    world.pull()
    status, merged = merge_contacts(world.sb, other, world.contact)
    assert status == 200, merged
    code_, out, err = run_main(["pull"], world.env(), world.monkeypatch, world.capsys)
    assert code_ == 1 and "see `mockbook dlq list`" in err, (out, err)
    rc, listed, _ = run_main(["dlq", "list", "--json"], world.env(), world.monkeypatch,
                             world.capsys)
    [letter] = [x for x in json.loads(listed) if x["direction"] == "pull"]
    assert letter["key"] == "TR1" and letter["error"].startswith("MERGED: "), letter
    line = world.answer("TR1")
    assert line.startswith("dead letter: MERGED: HubSpot contact ") and "(TR2)" in line, line
    assert line.endswith(f"then `mockbook dlq discard {letter['id']}`"), line
    world.pull()  # a second pull says the same, in the same one letter
    assert world.answer("TR1") == line
    assert one(world.url, "SELECT count(*) FROM hubspot_sync.sync_errors WHERE direction = "
                          "'pull' AND NOT resolved") == 1


def test_a_booking_an_exam_move_left_in_conflict(world: World) -> None:
    code = world.book()
    world.push()
    ot = world.sb.api.type_of(world.settings.exams_object_type)
    world.sb.store.update(ot, world.sb.store.get(ot, world.exam), {
        "exam_date": "2020-05-01", "start_time": "2020-05-01T13:00:00.000Z",
        "end_time": "2020-05-01T16:00:00.000Z"})
    world.pull()
    line = world.answer(code)
    assert line.startswith("conflict: moved_into_past: exam ") and "an admin decides" in line
    story = world.story(code)
    assert story["answer"]["kind"] == "conflict"
    assert [t.split(":")[0] for t in texts(story, "conflict")] == ["moved_into_past"]
    # the exam lists it too, with the booking's code
    exam_story = world.story(world.exam, "--kind", "exam")
    assert texts(exam_story, "conflict")[0].startswith(f"booking {code}: moved_into_past: ")
    assert exam_story["answer"]["kind"] == "conflict"
    # HubSpot's exam is what the pull applied: nothing differs
    assert exam_story["hubspot"]["state"] == "same"


def test_an_exam_changed_in_hubspot_waits_for_the_pull(world: World) -> None:
    world.push()  # the exam's count, the contact's credits
    world.sb.touch(EXAMS, world.exam, mock_exam_name="Renamed in HubSpot")
    story = world.story(world.exam)
    [diff] = story["hubspot"]["differences"]
    assert diff["field"] == "mock_exam_name" and diff["why"].startswith(
        "changed in HubSpot after the last pull")
    assert world.answer(world.exam).startswith(
        "pull pending: HubSpot changed mock_exam_name after the last pull")
    world.pull()
    assert world.answer(world.exam).startswith("in HubSpot since ")


def test_a_key_naming_several_records_lists_them_and_none_is_refused(world: World) -> None:
    # a student whose student id is the exam's HubSpot id
    q(world.url, "SELECT tests.make_student(p_student_id := %s)", (world.exam,))
    code, out, err = world.run(world.exam)
    assert code == 2 and out == ""
    assert f"'{world.exam}' matches 2 records: pick one with --kind" in err
    assert "  student " in err and "  exam " in err and "mockbook trace " in err
    code, out, _ = world.run(world.exam, "--json")
    assert code == 2 and sorted(m["kind"] for m in json.loads(out)["matches"]) == [
        "exam", "student"]
    assert world.story(world.exam, "--kind", "student")["kind"] == "student"
    code, out, err = world.run("NO-SUCH-KEY")
    assert (code, out) == (2, "")
    assert err == "mockbook trace: no booking, student or exam matches 'NO-SUCH-KEY'\n"


def test_json_the_global_flag_plain_in_a_pipe_and_tables_on_a_terminal(
        world: World, monkeypatch, capsys) -> None:
    code = world.book()
    env = world.env()
    rc, out, err = run_main(["--json", "trace", code], env, monkeypatch, capsys)
    assert rc == 0, err
    assert json.loads(out)["answer"]["line"] == world.story(code)["answer"]["line"]
    rc, plain, _ = world.run(code)
    assert rc == 0 and "│" not in plain and "\x1b[" not in plain
    assert plain.splitlines()[0].startswith(f"booking {code} (Active)")
    # no HubSpot read without a token, or with --no-hubspot
    assert world.story(code, "--no-hubspot")["hubspot"] is None
    no_token = {k: v for k, v in env.items() if k != "HUBSPOT_ACCESS_TOKEN"}
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    rc, out, err = world.run(code, "--json", env=no_token)
    assert rc == 0 and json.loads(out)["hubspot"] is None, err
    # HubSpot refusing the token: the story is told all the same, and says so
    rc, out, err = world.run(code, env={**env, "HUBSPOT_ACCESS_TOKEN": "pat-na1-not-the-token"})
    assert rc == 0, err
    assert "\nHubSpot not read: " in out and "HTTP 401" in out
    assert out.rstrip("\n").splitlines()[-1].startswith("waiting: outbox row ")
    with monkeypatch.context() as patch:
        patch.setattr("sys.stdout.isatty", lambda: True, raising=False)
        rc, table, _ = world.run(code)
    assert rc == 0 and "│" in table  # rich's tables (and colours: the terminal's escapes)
    last = re.sub(r"\x1b\[[0-9;]*m", "", table.rstrip("\n").splitlines()[-1])
    assert last == plain.rstrip("\n").splitlines()[-1]


# the old app's data as the adoption takes it over: a duplicate it flagged, a repeated code it
# made unique (the seed of test_adopt_legacy_data, and one repeated code)
REPEATED = """
INSERT INTO hubspot_sync.hubspot_bookings (hubspot_id, booking_id, student_id, student_email,
    associated_contact_id, associated_mock_exam, is_active, token_used, exam_date, mock_type,
    created_at)
VALUES ('67', 'SJ-REPEATED', 'OLD5', 'old5@example.com', '90000005', '51000000003', 'Cancelled',
        'Situational Judgment Token', (current_date + 25)::timestamp, 'Situational Judgment',
        timestamp '2026-01-01 10:06'),
       ('68', 'SJ-REPEATED', 'OLD6', 'old6@example.com', '90000006', '51000000003', 'Cancelled',
        'Situational Judgment Token', (current_date + 25)::timestamp, 'Situational Judgment',
        timestamp '2026-01-01 10:07');
"""


def test_adopted_legacy_bookings_carry_the_adoptions_notes(fresh_database, monkeypatch,
                                                           capsys) -> None:
    import psycopg
    from glue_role import glue_url
    from test_adopt_legacy_data import SEED
    from test_adopt_production import load_dump

    from glue.db import migrations

    url = fresh_database("trace_legacy")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
        conn.execute(REPEATED)
    migrations.stamp(url, "0001_baseline")
    migrations.upgrade(url, "head")
    env = {"DATABASE_URL": glue_url(url)}
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)

    def story(*args: str) -> tuple[int, Any, str]:
        code, out, err = run_main(["trace", "--json", *args], env, monkeypatch, capsys)
        return code, json.loads(out) if out else None, err

    rc, duplicate, err = story("Clinical Skills-OLD1-second")
    assert rc == 0, err
    assert any(n.startswith("legacy: duplicate of Clinical Skills-OLD1-first")
               for n in duplicate["notes"])
    assert texts(duplicate, "adoption") == [
        "legacy duplicate adopted and flagged (hubspot_bookings.legacy_issue: duplicate of "
        "Clinical Skills-OLD1-first)"]
    assert [e["actor"] for e in duplicate["events"] if e["source"] == "adoption"] == [
        "0002_mockbook_1_0"]
    # no audit row: the old app wrote it; in HubSpot since it came (its HubSpot id with it), as
    # far as Postgres knows: no token here, HubSpot was not read
    assert duplicate["events"][0]["text"].startswith("row created (no audit row")
    assert duplicate["answer"]["line"].startswith("pushed to HubSpot at 2026-01-01 ")
    assert "HubSpot was not read (HUBSPOT_ACCESS_TOKEN is not set)" in duplicate["answer"]["line"]
    # the repeated code names both its bookings: the one that kept it, the one given another
    rc, matches, _ = story("SJ-REPEATED")
    assert rc == 2 and [m["matched"] for m in matches["matches"]] == [
        "booking code", "legacy booking code"]
    rc, renamed, err = story(matches["matches"][1]["id"])
    assert rc == 0, err
    assert any(n.startswith("legacy: the original app's code SJ-REPEATED was repeated")
               for n in renamed["notes"])
    assert texts(renamed, "adoption")[0].startswith(
        "gave a repeated legacy booking code a unique one (hubspot_bookings.booking_id: "
        "SJ-REPEATED → ")
