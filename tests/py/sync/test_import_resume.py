"""`mockbook import` killed halfway (SIGKILL, SIGTERM) and run again: it resumes from its
cursors without doing the work again (the calls of both runs exceed one uninterrupted import's
by at most what a run holds fetched and not applied) and ends with the database an
uninterrupted import makes. Real sandbox, real databases, the command as a subprocess."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta

import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import booking_props, contact_props, exam_props, fast, q
from push_helpers import env_for

from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.importer import IMPORT_AHEAD

sandbox = sandbox_fixtures.sandbox

N_EXAMS, N_CONTACTS, N_BOOKINGS = 20, 2_000, 2_000
# The work a resumed import may do again, in calls: what the killed run had fetched and not
# applied (the pages fetched ahead, the group of bookings in hand: five pages, the search in
# flight, the group's two associations reads), and the passes it had finished caught up (one
# search each from the cursor, less the overlap, and the exams' two housekeeping reads).
CAUGHT_UP = 2 + 2
SIGKILL_BOUND = IMPORT_AHEAD + 5 + 1 + 2 + CAUGHT_UP
# A stopped run applies what it fetched, in the groups an uninterrupted run makes: usually only
# the group of bookings the stop splits in two reads its associations twice (6 reads), but on a
# loaded machine a stopped run has still left 11 for the next one without its grace running out,
# so what holds for every stop is the killed run's bound.
SIGTERM_BOUND = SIGKILL_BOUND


def reads(requests: list[dict]) -> int:
    """The calls that read records (searches, lists, associations batch reads), not the start-up
    checks a new process makes (properties, schemas, association labels)."""
    return sum(1 for r in requests if r["path"].endswith(("/search", "/batch/read"))
               or (r["method"] == "GET" and "/crm/v3/objects/" in r["path"]))


def seed_portal(sb: Sandbox) -> None:
    """Exams, contacts, then bookings associated with both, each created at its own
    millisecond (so last-modified dates differ, as in a real portal)."""
    at = datetime(2026, 1, 5, tzinfo=UTC)
    step = timedelta(minutes=3)
    exams = []
    for k in range(N_EXAMS):
        exams += sb.seed(EXAMS, [exam_props(exam_date=f"2031-03-{k + 1:02d}", capacity="500")],
                         at=at)
        at += step
    contacts, students = [], []
    for k in range(N_CONTACTS):
        students.append(f"RS{k:05d}")
        contacts += sb.seed(CONTACTS, [contact_props(students[-1], cs_credits=k % 4)], at=at)
        at += step
    to_exam = sb.association_type_id(BOOKINGS, EXAMS)
    to_contact = sb.association_type_id(BOOKINGS, CONTACTS)
    for k in range(N_BOOKINGS):
        e, c = k % N_EXAMS, k % N_CONTACTS
        code = f"BK-203103{e + 1:02d}-{k:06d}"
        [bid] = sb.seed(BOOKINGS, [booking_props(
            code, exams[e], students[c], contacts[c], is_active=("Active", "Cancelled")[k % 2],
            exam_date=str(int(datetime(2031, 3, e + 1, tzinfo=UTC).timestamp() * 1000)))],
            at=at)
        at += step
        sb.associate(BOOKINGS, bid, EXAMS, exams[e], [to_exam])
        sb.associate(BOOKINGS, bid, CONTACTS, contacts[c], [to_contact])


# The imported rows, without this database's own ids and the times of the run itself.
STATE = {
    "exams": "SELECT hubspot_id, mock_exam_name, exam_date, capacity, total_bookings, is_active "
             "FROM hubspot_sync.hubspot_mock_exams",
    "contacts": "SELECT hubspot_id, student_id, email, cs_credits, sj_credits "
                "FROM hubspot_sync.hubspot_contact_credits",
    "bookings": "SELECT hubspot_id, booking_id, is_active, associated_mock_exam, "
                "associated_contact_id, student_id FROM hubspot_sync.hubspot_bookings",
    "ledger": "SELECT student_id, credit_field, delta, balance_after, reason "
              "FROM hubspot_sync.credit_ledger",
    "cursors": "SELECT sync_type, last_sync_status, cursor - 'pass_started_at' AS cursor "
               "FROM hubspot_sync.sync_metadata WHERE sync_type <> 'hubspot_portal'",
}


def state(url: str) -> dict[str, list]:
    return {name: sorted(json.dumps(row, default=str, sort_keys=True) for row in q(url, sql))
            for name, sql in STATE.items()}


def run(sb: Sandbox, url: str, kill: int | None = None) -> tuple[int, list[dict], str]:
    """`mockbook import --json` on ``url``; with ``kill``, that signal is sent when the third
    search of bookings arrives (contacts done, most bookings not). (exit code, the requests
    it made, stdout)."""
    first = len(sb.requests)
    proc = push_helpers.mockbook(["import", "--json"], env_for(url, sb, HUBSPOT_SEARCH_RATE="50"))
    if kill is not None:
        def third_bookings_search(reqs: list[dict]) -> bool:
            return proc.poll() is not None or sum(
                1 for r in reqs[first:]
                if r["path"].endswith(f"/{BOOKINGS}/search")) >= 3

        assert sb.wait_for(third_bookings_search, timeout=300)
        proc.send_signal(kill)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, sb.requests[first:], out + err


@pytest.mark.parametrize(("sig", "code", "bound"), [
    (signal.SIGKILL, -signal.SIGKILL, SIGKILL_BOUND),
    (signal.SIGTERM, 128 + signal.SIGTERM, SIGTERM_BOUND),
])
def test_a_killed_import_resumes_without_doing_it_again(
    sandbox: Sandbox, fresh_database, sig: int, code: int, bound: int
) -> None:
    fast(sandbox)
    seed_portal(sandbox)
    whole_db = fresh_database("import_whole", migrated=True)
    rc, whole, out = run(sandbox, whole_db)
    assert rc == 0, out
    assert len(q(whole_db, "SELECT 1 FROM hubspot_sync.hubspot_bookings")) == N_BOOKINGS

    db = fresh_database("import_killed", migrated=True)
    rc1, killed, out1 = run(sandbox, db, kill=sig)
    assert rc1 == code, out1  # stopped halfway, not finished
    applied = len(q(db, "SELECT 1 FROM hubspot_sync.hubspot_bookings"))
    assert applied < N_BOOKINGS
    rc2, again, out2 = run(sandbox, db)
    assert rc2 == 0, out2
    assert {"exams", "contacts"} <= set(json.loads(out2)["resumed"])

    repeated = reads(killed) + reads(again) - reads(whole)
    assert repeated <= bound, (repeated, reads(killed), reads(again), reads(whole), out1[-800:])
    assert state(db) == state(whole_db)
