"""The audit trail in HubSpot: audit rows of bookings and credits become HubSpot
notes associated to the booking and the contact, marked synced_to_hubspot_at, and never written
twice for one audit row — not even when the note writer is killed at random moments while
HubSpot loses answers."""

from __future__ import annotations

import json
import random
import signal

import psycopg
import push_helpers
import sandbox_fixtures
from postgrest import rpc
from pull_helpers import fast, hubspot, one, open_db, q, seed_account, seed_exams
from push_helpers import env_for, mockbook
from waiting import wait_until

from glue.hubspot.client import HubSpotError
from glue.sandbox import BOOKINGS, CONTACTS, NOTES, Sandbox
from glue.sandbox.faults import Faults
from glue.sync.importer import run_import
from glue.sync.notes import NOTE_PROPERTY, push_audit_notes
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
clock = sandbox_fixtures.clock
push_db = push_helpers.push_db
PORTAL_READ = Faults.PORTAL_READS


def notes_by_audit_id(sb: Sandbox) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for note in sb.objects(NOTES):
        out.setdefault(note["properties"].get(NOTE_PROPERTY), []).append(note)
    return out


def handled_all(requests: list[dict]) -> bool:
    """Every call that reached the sandbox was handled (answered, or dropped by a fault)."""
    return all(r["status"] is not None or r["fault"] for r in requests)


def associated(sb: Sandbox, note_id: str) -> dict[str, str]:
    return {a["to_type"]: a["to_id"] for a in sb.associations(NOTES, note_id)}


def test_bookings_and_credit_changes_become_notes_once(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    account = seed_account(sandbox, malformed=False)
    [e3] = seed_exams(sandbox, [{"exam_date": "2031-04-01"}])
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        booked = one(
            push_db,
            """
            SELECT hubspot_sync.create_booking(p_student_id := 'IMP1',
                p_email := 'imp1@example.com', p_mock_exam_id := %s,
                p_idempotency_key := 'note-key', p_dominant_hand := 'left')""",
            (e3,),
        )
        code = booked["booking_id"]
        one(
            push_db,
            "SELECT hubspot_sync.cancel_booking(p_booking_id := %s, p_actor := 'admin@school.ca')",
            (code,),
        )
        one(
            push_db,
            "SELECT hubspot_sync.adjust_credits(p_student_id := 'IMP2', "
            "p_credit_field := 'sj_credits', p_delta := 2, p_reason := 'goodwill', "
            "p_actor := 'admin@school.ca')",
        )
        push(db, client, settings, linger=0)
        stats = push_audit_notes(db, client, settings, reader=reader)
        again = push_audit_notes(db, client, settings, reader=reader)

    assert (stats.created, stats.failed, again.created) == (3, None, 0)
    assert (
        one(
            push_db,
            "SELECT count(*) FROM hubspot_sync.supabase_audit_log "
            "WHERE synced_to_hubspot_at IS NULL",
        )
        == 0
    )
    bodies = sorted(n["properties"]["hs_note_body"] for n in sandbox.objects(NOTES))
    who = one(push_db, "SELECT current_user")  # create_booking has no actor: the database user
    assert bodies == sorted(
        [
            f"Booking {code} created by {who} for Clinical Skills on 2031-04-01; "
            "1 Clinical Skills credit used",
            f"Booking {code} cancelled by admin@school.ca; 1 Clinical Skills credit refunded",
            "Credits changed by admin@school.ca for IMP2: Situational Judgment 2 → 4 "
            "(+2, admin_adjustment: goodwill)",
        ]
    )
    booking_hs = sandbox.get_by(BOOKINGS, "booking_id", code)["id"]
    imp1, imp2 = account["contacts"][0], account["contacts"][1]
    for note in sandbox.objects(NOTES):
        links = associated(sandbox, note["id"])
        if note["properties"]["hs_note_body"].startswith("Booking"):
            assert links == {BOOKINGS: booking_hs, CONTACTS: imp1}
        else:
            assert links == {CONTACTS: imp2}
        assert note["properties"]["hs_timestamp"].endswith("Z")  # a datetime reads back as ISO
    # One note per audit row: each carries its row's id.
    assert all(len(v) == 1 for v in notes_by_audit_id(sandbox).values())


def test_a_note_names_the_jwt_user_not_p_actor(push_db: str, sandbox: Sandbox) -> None:
    """a change made through PostgREST with a JWT naming an admin user is
    audited, and noted in HubSpot, as that user, whatever p_actor says."""
    fast(sandbox)
    seed_account(sandbox, malformed=False)
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db, psycopg.connect(push_db, autocommit=True) as conn:
        run_import(db, client, settings, reader=reader)
        rpc(conn, "adjust_credits",
            claims={"sub": "5b0d4d0e-0000-4000-8000-000000000009", "email": "boss@school.ca",
                    "app_metadata": {"role": "admin"}},
            p_student_id="IMP2", p_credit_field="sj_credits", p_delta=2, p_reason="goodwill",
            p_actor="someone-else")
        push(db, client, settings, linger=0)
        stats = push_audit_notes(db, client, settings, reader=reader)
    assert stats.created == 1
    [note] = sandbox.objects(NOTES)
    assert note["properties"]["hs_note_body"] == (
        "Credits changed by admin:boss@school.ca for IMP2: Situational Judgment 2 → 4 "
        "(+2, admin_adjustment: goodwill)")


def test_notes_are_never_written_twice_when_the_writer_is_killed(
    push_db: str, sandbox: Sandbox
) -> None:
    """`mockbook notes` runs as a subprocess against a sandbox that is slow and loses answers;
    it is killed (SIGKILL) at random moments and started again, at least ten times. In the end
    every audit row has exactly one note and is marked."""
    fast(sandbox)
    seed_account(sandbox, malformed=False)
    exams = seed_exams(
        sandbox, [{"exam_date": f"2031-06-{d:02d}", "capacity": "100"} for d in range(1, 9)]
    )
    sandbox.seed(
        CONTACTS,
        [
            {"email": f"kill{i}@example.com", "student_id": f"KILL{i}", "firstname": "K"}
            for i in range(60)
        ],
    )
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        # 240 admin bookings (the admin app's calls, not the glue's): 240 notes to write
        with psycopg.connect(push_db, autocommit=True) as conn:
            for i in range(30):
                for j, exam_id in enumerate(exams):
                    conn.execute(
                        "SELECT hubspot_sync.admin_create_booking(p_student_id := %s, "
                        "p_email := %s, p_mock_exam_id := %s, p_idempotency_key := %s, "
                        "p_actor := 'admin@school.ca', p_dominant_hand := 'right')",
                        (f"KILL{i}", f"kill{i}@example.com", exam_id, f"k-{i}-{j}"),
                    )
        push(db, client, settings, linger=0)
    expected = one(
        push_db,
        "SELECT count(*) FROM hubspot_sync.supabase_audit_log "
        "WHERE table_name = 'hubspot_bookings' AND operation = 'INSERT' "
        "AND performed_by = 'admin@school.ca'",
    )
    assert expected == 240

    sandbox.faults.latency = 0.2
    sandbox.faults.lost_response_rate = 0.3
    sandbox.faults.seed = 11
    sandbox.faults.spare_portal_reads = True  # the faults are for the notes, not the check
    # A writer finding a batch in flight waits until its create can no longer land (written
    # down + the timeout) and settle: a shortish timeout keeps each restart's recovery short,
    # yet well above what the sandbox takes to handle a call on a loaded machine (a call it
    # had not handled by the client's timeout would break the premise the recovery rests on).
    env = env_for(
        push_db,
        sandbox,
        HUBSPOT_SEARCH_RATE="50",
        MOCKBOOK_NOTES_SETTLE_SECONDS="0.3",
        HUBSPOT_TIMEOUT_SECONDS="10",
    )
    rng = random.Random(5)
    kills = mid_batch = runs = 0
    while kills < 10:
        runs += 1
        assert runs <= 40, f"only {kills} of 40 runs were still writing when their kill came"
        seen = len(sandbox.requests)
        proc = mockbook(["notes", "--json", "--batch-size", "20"], env)
        # The random moment is one of the writer's own calls (the portal check's reads aside):
        # the kill comes as the k-th arrives at HubSpot, or once HubSpot has answered it.
        # Counting calls, not seconds: a kill timed from the start of the process hit mostly
        # processes that had not begun on a loaded machine (starting Python takes seconds).
        k, answered = rng.randint(1, 4), rng.random() < 0.5

        def reached(k=k, answered=answered, seen=seen, proc=proc) -> bool:
            work = [r for r in sandbox.requests[seen:] if not PORTAL_READ.match(r["path"])]
            hit = len(work) >= k and (not answered or work[k - 1]["status"] is not None)
            return hit or proc.poll() is not None

        wait_until("the writer's call to kill it at", reached)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            kills += 1
            # The recovery's premise is that HubSpot has handled a call by the client's timeout;
            # a sandbox starved on a loaded machine may not have. The next writer starts once
            # the sandbox has handled every call the killed one made, so that premise holds
            # however slow the machine is. (A create landing after the writer gave up is the
            # deterministic test below.)
            assert sandbox.wait_for(handled_all), "the sandbox never answered the killed calls"
            cursor = one(push_db, "SELECT mockbook_internal.get_sync_cursor('notes')")
            mid_batch += bool(cursor.get("inflight"))
        else:
            proc.communicate()
    assert kills >= 10 and mid_batch >= 3, (kills, mid_batch)
    sandbox.faults.reset()
    final = mockbook(["notes", "--json"], env)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    json.loads(out)

    notes = notes_by_audit_id(sandbox)
    twice = {k: len(v) for k, v in notes.items() if len(v) > 1}
    assert twice == {}
    assert len(notes) == expected
    assert (
        one(
            push_db,
            "SELECT count(*) FROM hubspot_sync.supabase_audit_log "
            "WHERE synced_to_hubspot_at IS NULL",
        )
        == 0
    )
    noted = {
        str(r["id"])
        for r in q(
            push_db,
            """
        SELECT id FROM hubspot_sync.supabase_audit_log
        WHERE table_name = 'hubspot_bookings' AND operation = 'INSERT'
          AND performed_by = 'admin@school.ca'""",
        )
    }
    assert set(notes) == noted
    assert sandbox.stats["faults"]["lost_response"] > 0


def test_a_create_that_lands_after_the_writer_gave_up_is_not_written_again(
    push_db: str, sandbox: Sandbox, clock
) -> None:
    """The race behind the flaky kill test: a create call gets no answer within the client's
    timeout (the sandbox was slow under load), the writer searches for its notes at once (it
    had waited longer than settle_seconds since writing the batch down), finds none because
    HubSpot is still handling the create, and creates the same rows again: every note twice.
    Here the create lands 1 s after the writer stopped waiting for its answer (the HTTP timeout),
    inside settle_seconds: the recovery must count settle_seconds from when the create could
    still be on its way (sent + timeout), not from when the batch was written down.

    All of it happens on the fake clock: the unanswered create is simulated (no real call waits
    out a timeout), and the times are far apart (a 30 s timeout, a 30 s settle, the create landing
    1 s after the give-up) so the real time that also flows through the clock while the test runs,
    however loaded the machine, cannot reorder them. The real calls have the tests' long timeout
    (push_helpers.HTTP_TIMEOUT): none of them can time out on a slow machine."""
    fast(sandbox)
    seed_account(sandbox, malformed=False)
    [exam] = seed_exams(sandbox, [{"exam_date": "2031-05-01", "capacity": "50"}])
    settings, client, reader = hubspot(push_db, sandbox)
    settle = 30.0
    late: list[str] = []  # when the slow create was handled
    real_create = reader.create_notes

    def create_answered_too_late(inputs: list[dict]) -> object:
        if late:  # only the first call is slow
            return real_create(inputs)
        late.append("sent")
        # The client waits out its timeout with no answer (the writer's clock moves by it)...
        clock.advance(reader.client.timeout)
        # ...and HubSpot handles the call 1 s later, while the writer already waits to recover.
        clock.call_at(1.0, lambda: (real_create(inputs), late.append("handled")))
        raise HubSpotError("ReadTimeoutError: read timed out", operation="create notes")

    reader.create_notes = create_answered_too_late  # type: ignore[method-assign]
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        # two audit rows that get a note each (the admin app's calls, not the glue's)
        with psycopg.connect(push_db, autocommit=True) as conn:
            conn.execute(
                "SELECT hubspot_sync.admin_create_booking(p_student_id := 'IMP1', "
                "p_email := 'imp1@example.com', p_mock_exam_id := %s, "
                "p_idempotency_key := 'late-1', p_actor := 'admin@school.ca', "
                "p_dominant_hand := 'right')",
                (exam,),
            )
            conn.execute(
                "SELECT hubspot_sync.adjust_credits(p_student_id := 'IMP2', "
                "p_credit_field := 'sj_credits', p_delta := 1, p_reason := 'goodwill', "
                "p_actor := 'admin@school.ca')"
            )
        push(db, client, settings, linger=0)
        first = push_audit_notes(
            db, client, settings, reader=reader, settle_seconds=settle, clock=clock
        )
        clock.advance(1.0)  # the slow create has landed by now, whatever the writer did
        assert late == ["sent", "handled"]
        again = push_audit_notes(
            db, client, settings, reader=reader, settle_seconds=settle, clock=clock
        )
    notes = notes_by_audit_id(sandbox)
    twice = {k: len(v) for k, v in notes.items() if len(v) > 1}
    assert len(notes) == 2 and twice == {}, (twice, first, again)
    assert (first.recovered, first.created, again.created) == (2, 0, 0)
    assert (
        one(push_db, "SELECT count(*) FROM hubspot_sync.supabase_audit_log "
                     "WHERE synced_to_hubspot_at IS NULL")
        == 0
    )
