"""Two-way sync that never loses an edit (items 1-2): whatever the order of pushes,
pulls, admins' edits in HubSpot and local bookings, credits end at base + local deltas + HubSpot
deltas on both sides, with a ledger row for every change; a capacity set in mockbook reaches
HubSpot and is not put back by the pull or `reconcile --repair`.

Each scenario asserts the final values on both sides and the student's ledger."""

from __future__ import annotations

import push_helpers
import sandbox_fixtures
from pull_helpers import (
    book,
    contact,
    exam,
    fast,
    hubspot,
    ledger,
    ledger_mismatches,
    one,
    open_db,
    seed_contacts,
    seed_exams,
)
from push_helpers import env_for, pending
from test_worker import RunningWorker, wait_for

from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sync.pull import pull
from glue.sync.push import push
from glue.sync.push.contacts import ContactPush
from glue.sync.reconcile import reconcile

sandbox = sandbox_fixtures.sandbox
clock = sandbox_fixtures.clock
push_db = push_helpers.push_db
CONTACT_SEARCH = f"/crm/v3/objects/{CONTACTS}/search"


def contact_searches(requests: list[dict]) -> int:
    """How many pull passes over the contacts began (one search each: a handful of contacts)."""
    return sum(1 for r in requests if r["path"] == CONTACT_SEARCH)


def hubspot_credits(sb: Sandbox, contact_id: str) -> int:
    return int(sb.get(CONTACTS, contact_id)["properties"]["cs_credits"])


def start(push_db: str, sb: Sandbox, student: str, credits: int = 5):
    """An exam and a student with ``credits`` cs credits in HubSpot, pulled (the baseline)."""
    fast(sb)
    settings, client, reader = hubspot(push_db, sb)
    [exam_id] = seed_exams(sb, [{"capacity": "20"}])
    [contact_id] = seed_contacts(sb, [{"student_id": student, "cs_credits": str(credits)}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
    assert contact(push_db, student)["cs_credits"] == credits
    return settings, client, reader, exam_id, contact_id


def adjustments(url: str, student: str) -> list[str]:
    """The notes of the student's hubspot_adjustment ledger rows, in order."""
    rows = push_helpers.query(
        url,
        "SELECT note FROM hubspot_sync.credit_ledger "
        "WHERE student_id = %s AND reason = 'hubspot_adjustment' ORDER BY id",
        (student,),
    )
    return [r["note"] for r in rows]


def test_admin_edit_then_book_then_push_then_pull(push_db: str, sandbox: Sandbox) -> None:
    """The issue's worst case: the push runs before the next pull. It reads HubSpot's 7 first,
    merges the admin's +2 into the local 4, and writes 6, not 4."""
    settings, client, reader, exam_id, contact_id = start(push_db, sandbox, "ORD1")
    sandbox.touch(CONTACTS, contact_id, cs_credits="7")  # the admin: 5 -> 7
    book(push_db, "ORD1", exam_id)  # the student: 5 -> 4, not pushed yet
    with open_db(push_db) as db:
        push(db, client, settings, linger=0)
        assert hubspot_credits(sandbox, contact_id) == 6
        again = pull(db, client, settings, reader=reader).targets["contacts"]
    assert again.merged == 0  # the push's own write is not an admin change
    assert contact(push_db, "ORD1")["cs_credits"] == 6 == hubspot_credits(sandbox, contact_id)
    assert ledger(push_db, "ORD1") == [
        ("import", "cs_credits", 5, 5),
        ("booking", "cs_credits", -1, 4),
        ("hubspot_adjustment", "cs_credits", 2, 6),
    ]
    assert "from 5 to 7" in adjustments(push_db, "ORD1")[0]
    assert ledger_mismatches(push_db) == [] and pending(push_db) == 0


def test_admin_edit_then_book_then_pull_then_push(push_db: str, sandbox: Sandbox) -> None:
    settings, client, reader, exam_id, contact_id = start(push_db, sandbox, "ORD2")
    sandbox.touch(CONTACTS, contact_id, cs_credits="7")
    book(push_db, "ORD2", exam_id)
    with open_db(push_db) as db:
        assert pull(db, client, settings, reader=reader).targets["contacts"].merged == 1
        push(db, client, settings, linger=0)
        assert pull(db, client, settings, reader=reader).targets["contacts"].merged == 0
    assert contact(push_db, "ORD2")["cs_credits"] == 6 == hubspot_credits(sandbox, contact_id)
    assert ledger(push_db, "ORD2") == [
        ("import", "cs_credits", 5, 5),
        ("booking", "cs_credits", -1, 4),
        ("hubspot_adjustment", "cs_credits", 2, 6),
    ]
    assert ledger_mismatches(push_db) == [] and pending(push_db) == 0


def test_two_admin_edits_between_cycles(push_db: str, sandbox: Sandbox) -> None:
    """5 -> 7 -> 9 in HubSpot (two edits), two local bookings; push then pull: 9 - 2 = 7."""
    settings, client, reader, exam_id, contact_id = start(push_db, sandbox, "ORD3")
    [second_exam] = seed_exams(sandbox, [{"capacity": "20", "exam_date": "2031-03-02"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)  # the second exam
        sandbox.touch(CONTACTS, contact_id, cs_credits="7")
        book(push_db, "ORD3", exam_id)
        sandbox.touch(CONTACTS, contact_id, cs_credits="9")
        book(push_db, "ORD3", second_exam)
        push(db, client, settings, linger=0)
        assert hubspot_credits(sandbox, contact_id) == 7
        assert pull(db, client, settings, reader=reader).targets["contacts"].merged == 0
    assert contact(push_db, "ORD3")["cs_credits"] == 7 == hubspot_credits(sandbox, contact_id)
    assert ledger(push_db, "ORD3") == [
        ("import", "cs_credits", 5, 5),
        ("booking", "cs_credits", -1, 4),
        ("booking", "cs_credits", -1, 3),
        ("hubspot_adjustment", "cs_credits", 4, 7),
    ]
    assert ledger_mismatches(push_db) == [] and pending(push_db) == 0


def test_admin_edit_after_a_push(push_db: str, sandbox: Sandbox) -> None:
    """The base is what the push wrote: an admin's edit after it is a delta against that."""
    settings, client, reader, exam_id, contact_id = start(push_db, sandbox, "ORD4")
    [second_exam] = seed_exams(sandbox, [{"capacity": "20", "exam_date": "2031-03-02"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        book(push_db, "ORD4", exam_id)
        push(db, client, settings, linger=0)
        assert hubspot_credits(sandbox, contact_id) == 4
        sandbox.touch(CONTACTS, contact_id, cs_credits="9")  # the admin: 4 -> 9
        book(push_db, "ORD4", second_exam)  # 4 -> 3 locally
        push(db, client, settings, linger=0)
        assert hubspot_credits(sandbox, contact_id) == 8
        assert pull(db, client, settings, reader=reader).targets["contacts"].merged == 0
    assert contact(push_db, "ORD4")["cs_credits"] == 8 == hubspot_credits(sandbox, contact_id)
    assert ledger(push_db, "ORD4") == [
        ("import", "cs_credits", 5, 5),
        ("booking", "cs_credits", -1, 4),
        ("booking", "cs_credits", -1, 3),
        ("hubspot_adjustment", "cs_credits", 5, 8),
    ]
    assert "from 4 to 9" in adjustments(push_db, "ORD4")[0]
    assert ledger_mismatches(push_db) == [] and pending(push_db) == 0


def test_a_running_worker_merges_in_every_order(push_db: str, sandbox: Sandbox, tmp_path) -> None:
    """`mockbook worker` running the whole time, pulling every second (shorter than the test):
    an admin's edit and a booking land in either order and both sides converge."""
    fast(sandbox)
    [exam_a, exam_b] = seed_exams(
        sandbox, [{"capacity": "20"}, {"capacity": "20", "exam_date": "2031-03-02"}]
    )
    [contact_id] = seed_contacts(sandbox, [{"student_id": "WMRG1", "cs_credits": "5"}])
    env = env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50", MOCKBOOK_WORKER_PULL_SECONDS="1")
    worker = RunningWorker(env, tmp_path / "worker.log", "merge-worker")
    try:
        wait_for(
            "the first pull",
            lambda: (
                one(
                    push_db,
                    "SELECT cs_credits FROM hubspot_sync.hubspot_contact_credits "
                    "WHERE student_id = 'WMRG1'",
                )
                == 5
                or worker.proc.poll() is not None
            ),
        )
        assert worker.proc.poll() is None, worker.log_path.read_text()

        def settled(value: int) -> bool:
            return (
                contact(push_db, "WMRG1")["cs_credits"] == value
                and hubspot_credits(sandbox, contact_id) == value
                and pending(push_db) == 0
            )

        sandbox.touch(CONTACTS, contact_id, cs_credits="7")  # admin first: 5 -> 7
        book(push_db, "WMRG1", exam_a)  # then the booking: -1
        wait_for("both sides at 6", lambda: settled(6))
        book(push_db, "WMRG1", exam_b)  # booking first: 6 -> 5
        sandbox.touch(
            CONTACTS, contact_id, cs_credits=str(hubspot_credits(sandbox, contact_id) + 4)
        )
        wait_for("both sides at 9", lambda: settled(9))
        # three more pulls run to their end (a fourth began after them): nothing moves
        seen = contact_searches(sandbox.requests)
        assert sandbox.wait_for(lambda reqs: contact_searches(reqs) >= seen + 4, timeout=60)
        assert settled(9)
    finally:
        assert worker.stop() == 0, worker.log_path.read_text()
    rows = ledger(push_db, "WMRG1")
    assert sorted((r, d) for r, _, d, _ in rows) == [
        ("booking", -1),
        ("booking", -1),
        ("hubspot_adjustment", 2),
        ("hubspot_adjustment", 4),
        ("import", 5),
    ]
    assert rows[-1][3] == 9
    assert ledger_mismatches(push_db) == []


def test_capacity_set_in_mockbook_reaches_hubspot_and_survives_pull_and_reconcile(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "10"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        one(push_db, "SELECT hubspot_sync.set_exam_capacity(%s, 15)", (exam_id,))
        # Neither a pull nor a reconcile --repair before the push puts HubSpot's 10 back.
        pull(db, client, settings, reader=reader)
        assert exam(push_db, exam_id)["capacity"] == 15
        reconcile(db, client, settings, repair=True, reader=reader)
        assert exam(push_db, exam_id)["capacity"] == 15
        push(db, client, settings, linger=0)
        props = sandbox.get(EXAMS, exam_id)["properties"]
        assert (props["capacity"], props["total_bookings"]) == ("15", "0")
        assert reconcile(db, client, settings, reader=reader).drift == 0
        # An admin's capacity edit in HubSpot still comes in, and a booking's exam push (its
        # total_bookings) does not write the old capacity over it.
        seed_contacts(sandbox, [{"student_id": "CAP1", "cs_credits": "2"}])
        pull(db, client, settings, reader=reader)
        sandbox.touch(EXAMS, exam_id, capacity="30")
        book(push_db, "CAP1", exam_id)
        push(db, client, settings, linger=0)
        assert sandbox.get(EXAMS, exam_id)["properties"]["capacity"] == "30"
        pull(db, client, settings, reader=reader)
        assert exam(push_db, exam_id)["capacity"] == 30
        assert reconcile(db, client, settings, reader=reader).drift == 0


def test_an_admin_edit_between_the_push_read_and_its_write_is_caught_next_cycle(
    push_db: str, sandbox: Sandbox, clock, monkeypatch
) -> None:
    """HubSpot has no compare-and-set: an admin's edit landing after the push read the contact
    and before it wrote is replaced by that write. The next cycle finds it in the property
    history and merges it: nothing is lost."""
    settings, client, reader, exam_id, contact_id = start(push_db, sandbox, "RACE1")
    book(push_db, "RACE1", exam_id)  # 5 -> 4 locally
    merge = ContactPush._merge_credits

    def merge_then_admin_edits(self, chunk):
        out = merge(self, chunk)
        clock.advance(0.01)  # (HubSpot's history is in milliseconds: a distinct moment)
        sandbox.touch(CONTACTS, contact_id, cs_credits="8")  # the admin: 5 -> 8, just too late
        clock.advance(0.01)
        return out

    with monkeypatch.context() as patch:
        patch.setattr(ContactPush, "_merge_credits", merge_then_admin_edits)
        with open_db(push_db) as db:
            push(db, client, settings, linger=0)
    assert hubspot_credits(sandbox, contact_id) == 4  # the write replaced the admin's 8
    with open_db(push_db) as db:
        stats = pull(db, client, settings, reader=reader).targets["contacts"]  # the next cycle
        assert stats.merged == 1
        assert contact(push_db, "RACE1")["cs_credits"] == 7
        push(db, client, settings, linger=0)
        assert pull(db, client, settings, reader=reader).targets["contacts"].merged == 0
    assert contact(push_db, "RACE1")["cs_credits"] == 7 == hubspot_credits(sandbox, contact_id)
    assert ledger(push_db, "RACE1") == [
        ("import", "cs_credits", 5, 5),
        ("booking", "cs_credits", -1, 4),
        ("hubspot_adjustment", "cs_credits", 3, 7),
    ]
    assert "just before the push wrote 4" in adjustments(push_db, "RACE1")[0]
    assert ledger_mismatches(push_db) == [] and pending(push_db) == 0


def test_a_race_caught_by_the_next_push_read(
    push_db: str, sandbox: Sandbox, clock, monkeypatch
) -> None:
    """The same race, found by the next push's own read (no pull in between)."""
    settings, client, reader, exam_id, contact_id = start(push_db, sandbox, "RACE2")
    [second_exam] = seed_exams(sandbox, [{"capacity": "20", "exam_date": "2031-03-02"}])
    merge = ContactPush._merge_credits
    edits = iter(["8"])

    def merge_then_admin_edits(self, chunk):
        out = merge(self, chunk)
        for value in edits:
            clock.advance(0.01)
            sandbox.touch(CONTACTS, contact_id, cs_credits=value)
            clock.advance(0.01)
        return out

    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        book(push_db, "RACE2", exam_id)  # 5 -> 4
        with monkeypatch.context() as patch:
            patch.setattr(ContactPush, "_merge_credits", merge_then_admin_edits)
            push(db, client, settings, linger=0)  # writes 4 over the admin's 8
            book(push_db, "RACE2", second_exam)  # 4 -> 3
            push(db, client, settings, linger=0)  # reads 4 and the history: +3
        assert hubspot_credits(sandbox, contact_id) == 6
        assert pull(db, client, settings, reader=reader).targets["contacts"].merged == 0
    assert contact(push_db, "RACE2")["cs_credits"] == 6
    assert [r[0] for r in ledger(push_db, "RACE2")] == [
        "import",
        "booking",
        "booking",
        "hubspot_adjustment",
    ]
    assert ledger(push_db, "RACE2")[-1] == ("hubspot_adjustment", "cs_credits", 3, 6)
    assert ledger_mismatches(push_db) == [] and pending(push_db) == 0
