"""A term against HubSpot: the model-based term of test_term_model.py, with HubSpot in the loop.

The same state machine (students book, cancel, rebook, join waitlists and accept offers; time
passes through business days and the day's jobs run), but everything admins do happens in HubSpot
— the project's sandbox, a local HubSpot CRM API — and reaches Postgres as it does in
production: through the glue. Exams and contacts are created in the sandbox and imported by the
glue's pull over HTTP; admins reschedule exams, deactivate and reactivate them, delete (archive)
them, change a student's credits and merge a student's contact with a duplicate, in the sandbox;
the sandbox sends HubSpot's signed webhooks to the glue's webhook service, which applies them,
and pulls and pushes run at random points. After each step the machine waits until every
webhook is delivered and applied.

The reference model is test_term_model's, plus what HubSpot holds: an admin's credit change is
a delta merged into the balance (never an absolute value written over it); a merged contact is
re-linked to the record HubSpot made (a new id, "both of the previous IDs will point to the
resulting merged record": https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies)
and keeps its credits; after a push, HubSpot's credits and seat counts are the model's. After
every step: the invariants, the model's balances and seats, and no credit spent on an exam that
did not take place (test_term_model's invariants).

Budget: MOCKBOOK_TERM_EXAMPLES (default 10, derandomized) examples of at most 20 steps; a failure
prints its steps and the seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import push_helpers
import pytest
import sandbox_fixtures
import urllib3
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule
from invariants import snapshot
from pull_helpers import contact_props, fast, hubspot
from test_term_model import EXAMPLES, TYPES, Exam, Term
from waiting import wait_until

from glue.db.database import Database
from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sandbox.webhooks import attach
from glue.sync.pull import pull
from glue.sync.push import push
from glue.sync.webhooks import WebhookConfig, WebhookService

SECRET = "term-webhooks-secret"
push_db = push_helpers.push_db


class HubSpotTerm(Term):
    """Term, with the admins in HubSpot and the glue between (class attributes set by the
    test: the sandbox, the glue's settings, client, reader and database seam)."""

    sb: Sandbox
    hs: tuple[Any, Any, Any]
    db: Database

    sender: Any
    # what the run did, over all its examples (the test checks each HubSpot rule ran)
    tally: ClassVar[dict[str, int]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.contacts: dict[str, str] = {}   # student id -> its HubSpot contact id
        self.order: list[str] = []           # the exams' HubSpot ids, as the rules number them
        self.deleted: set[str] = set()       # exams deleted (archived) in HubSpot
        self.merges: list[str] = []

    def count(self, what: str) -> None:
        HubSpotTerm.tally[what] = HubSpotTerm.tally.get(what, 0) + 1

    # --- the glue ---------------------------------------------------------------------------

    def settle(self) -> None:
        """Every webhook the sandbox sent is delivered and every stored event processed (the
        sender idle on both sides of the read: no delivery started in between)."""
        wait_until("every webhook delivered and applied", lambda: (
            self.sender.idle()
            and not self.one("SELECT count(*) FROM hubspot_sync.webhook_events"
                             " WHERE processed_at IS NULL")
            and self.sender.idle()), timeout=20)

    def glue_pull(self) -> None:
        settings_, client, reader = self.hs
        stats = pull(self.db, client, settings_, reader=reader, overlap_seconds=5)
        assert stats.ok and not stats.problems, stats.as_dict()
        self.settle()

    def exam_props(self, exam: Exam, *, active: bool = True) -> dict[str, str]:
        return {k: v for k, v in self.record(exam, active=active)["properties"].items()
                if k != "hs_lastmodifieddate"}

    # --- set-up -----------------------------------------------------------------------------

    @initialize()
    def term_begins(self) -> None:
        self.conn.execute("SELECT set_config('mockbook.clock_offset', '0 hours', false)")
        self.start_day = self.one("SELECT hubspot_sync.business_today()")
        shapes = [("Clinical Skills", 3, 9, True, 2), ("Clinical Skills", 4, 13, False, 1),
                  ("Situational Judgment", 3, 14, True, 2), ("Situational Judgment", 6, 9, True, 3)]
        for mock_type, day, hour, iso, capacity in shapes:
            exam = Exam("", mock_type, day, hour, iso, capacity)
            [exam.hubspot_id] = self.sb.seed(EXAMS, [self.exam_props(exam)])
            self.model.exams[exam.hubspot_id] = exam
            self.order.append(exam.hubspot_id)
        for n in range(4):
            sid = f"T{self.tag}S{n}"
            [self.contacts[sid]] = self.sb.seed(CONTACTS, [contact_props(
                sid, sj_credits=2, cs_credits=2)])
            self.model.balances[sid] = {"cs_credits": 2, "sj_credits": 2}
        self.glue_pull()
        self.snap = snapshot(self.conn)
        for s in range(4):
            for e in range(4):
                self.book(s, e)

    def exam(self, n: int) -> Exam:
        return self.model.exams[self.order[n]]

    # --- admins, in HubSpot -----------------------------------------------------------------

    @rule(e=Term.exams, days=st.integers(-1, 3), hour=st.sampled_from([8, 10, 15]))
    def reschedule_in_hubspot(self, e: int, days: int, hour: int) -> None:
        exam = self.exam(e)
        if exam.cancelled or self.ended(exam):
            return
        exam.day, exam.hour = max(exam.day + days, 1), hour
        self.sb.touch(EXAMS, exam.hubspot_id, **{
            k: v for k, v in self.exam_props(exam).items()
            if k in ("exam_date", "start_time", "end_time")})
        self.settle()
        self.count("rescheduled")

    def closed(self, exam: Exam) -> None:
        exam.cancelled = True
        for booking in self.model.bookings.values():
            if booking.exam == exam.hubspot_id and booking.status == "Active":
                booking.status = "Cancelled"
                self.model.balances[booking.student][booking.field] += 1

    @rule(e=Term.exams)
    def cancel_in_hubspot(self, e: int) -> None:
        """An admin deletes the exam (HubSpot archives it)."""
        exam = self.exam(e)
        if exam.cancelled or self.ended(exam):
            return
        self.sb.archive(EXAMS, exam.hubspot_id)
        self.deleted.add(exam.hubspot_id)
        self.settle()
        self.glue_pull()   # an archival reaches the glue by the pull's read of deleted exams
        self.closed(exam)
        self.count("deleted")

    @rule(e=Term.exams)
    def deactivate_in_hubspot(self, e: int) -> None:
        exam = self.exam(e)
        if exam.cancelled or self.ended(exam):
            return
        self.sb.touch(EXAMS, exam.hubspot_id, is_active="false")
        self.settle()
        self.closed(exam)
        self.count("deactivated")

    @rule(e=Term.exams)
    def restore_in_hubspot(self, e: int) -> None:
        exam = self.exam(e)
        if not exam.cancelled or exam.hubspot_id in self.deleted:
            return
        self.sb.touch(EXAMS, exam.hubspot_id, is_active="true")
        self.settle()
        exam.cancelled = False   # its cancelled bookings stay cancelled and refunded

    @rule(s=Term.students, delta=st.sampled_from([-1, 1, 2]), ftype=st.sampled_from(list(TYPES)))
    def admin_changes_credits(self, s: int, delta: int, ftype: str) -> None:
        """An admin edits the student's credits in HubSpot: what HubSpot shows (perhaps not
        yet the last booking's deduction) plus the change they mean."""
        sid, field_ = self.student(s), TYPES[ftype]
        shown = int(self.sb.get(CONTACTS, self.contacts[sid])["properties"][field_] or 0)
        if shown + delta < 0 or self.model.balances[sid][field_] + delta < 0:
            return
        self.sb.touch(CONTACTS, self.contacts[sid], **{field_: str(shown + delta)})
        self.settle()
        self.model.balances[sid][field_] += delta
        self.count("credit edit")

    @rule(s=Term.students)
    def merge_a_duplicate_contact(self, s: int) -> None:
        """An admin merges the student's contact with a duplicate (a form's contact of the same
        person, no student id): HubSpot makes a new record, and the old ids point to it."""
        sid = self.student(s)
        [stray] = self.sb.seed(CONTACTS, [{"email": f"dup{self.tag.lower()}{s}"
                                                    f"{len(self.merges)}@example.com",
                                           "firstname": "Duplicate"}])
        answer = urllib3.request(
            "POST", f"{self.sb.base_url}/crm/v3/objects/contacts/merge",
            json={"primaryObjectId": self.contacts[sid], "objectIdToMerge": stray},
            headers={"Authorization": f"Bearer {sandbox_fixtures.TOKEN}"})
        assert answer.status == 200, answer.data
        self.contacts[sid] = answer.json()["id"]
        self.merges.append(sid)
        self.settle()
        self.glue_pull()
        self.count("merge")

    @rule()
    def pull_from_hubspot(self) -> None:
        self.glue_pull()

    @rule()
    def push_to_hubspot(self) -> None:
        settings_, client, _ = self.hs
        push(self.db, client, settings_, linger=0)
        self.settle()   # the push's own writes come back as webhooks: echoes, nothing changes
        waiting = {r[0] for r in self.conn.execute(
            "SELECT coalesce(c.student_id, e.hubspot_id) FROM hubspot_sync.sync_queue AS q"
            " LEFT JOIN hubspot_sync.hubspot_contact_credits AS c ON c.id = q.record_id"
            " LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.id = q.record_id"
            " WHERE q.done_at IS NULL AND q.dead_at IS NULL")}
        # what the push wrote (a record still queued, e.g. retried later, is left out)
        for sid, balance in self.model.balances.items():
            if sid in waiting:
                continue
            props = self.sb.get(CONTACTS, self.contacts[sid])["properties"]
            assert {f: int(props[f]) for f in balance} == balance, sid
        for hubspot_id in self.model.exams:
            if hubspot_id in self.deleted or hubspot_id in waiting:
                continue
            expected = sum(1 for b in self.active() if b.exam == hubspot_id)
            assert int(self.sb.get(EXAMS, hubspot_id)["properties"]["total_bookings"]
                       or 0) == expected, hubspot_id
        self.count("push checked")

    # --- after every step -------------------------------------------------------------------

    @precondition(lambda self: self.snap is not None)
    @invariant()
    def each_contact_is_linked_to_its_hubspot_record(self) -> None:
        linked = dict(self.conn.execute(
            "SELECT student_id, hubspot_id FROM hubspot_sync.hubspot_contact_credits"
            " WHERE student_id = ANY (%s)", (list(self.contacts),)).fetchall())
        assert linked == self.contacts


@pytest.fixture
def glue(push_db: str) -> Iterator[None]:
    """A database and a sandbox of the test's own, the webhook service between them."""
    database_url = push_db
    with Sandbox(access_token=sandbox_fixtures.TOKEN, conformance=True, setup=True) as sb:
        fast(sb)
        settings_, client, reader = hubspot(database_url, sb)
        db = Database(settings_.database_url)
        service = WebhookService(settings_, settings_.database_url,
                                 WebhookConfig(secret=SECRET), reader=reader)
        port = service.start()
        sender = attach(sb, f"http://127.0.0.1:{port}/webhooks/hubspot", SECRET,
                        retry_delays=(0.2,) * 9)
        HubSpotTerm.url, HubSpotTerm.sb, HubSpotTerm.db = database_url, sb, db
        HubSpotTerm.hs, HubSpotTerm.sender = (settings_, client, reader), sender
        try:
            yield
        finally:
            sender.stop()
            service.stop()
            db.close()
        assert sb.errors == [] and sb.conformance_failures == []


@pytest.mark.slow
def test_a_term_with_hubspot(glue: None) -> None:
    run = HubSpotTerm.TestCase
    run.settings = settings(max_examples=EXAMPLES, stateful_step_count=20, deadline=None,
                            derandomize=EXAMPLES <= 50, database=None, print_blob=True,
                            suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.filter_too_much])
    HubSpotTerm.tally = {}
    run().runTest()
    if EXAMPLES >= 10:   # the default budget reaches every HubSpot-side rule
        assert set(HubSpotTerm.tally) == {"push checked", "merge", "credit edit", "deleted",
                                          "deactivated", "rescheduled"}, HubSpotTerm.tally


def test_the_hubspot_checks_can_fail(glue: None) -> None:
    """A balance HubSpot was told after a push that the model does not hold fails the push's
    check; a contact linked to the wrong HubSpot record fails the link check."""
    term = HubSpotTerm()
    try:
        term.term_begins()
        sid = term.student(0)
        term.model.balances[sid]["sj_credits"] += 1
        with pytest.raises(AssertionError):
            term.push_to_hubspot()
        term.model.balances[sid]["sj_credits"] -= 1
        term.contacts[sid] = "1"
        with pytest.raises(AssertionError):
            term.each_contact_is_linked_to_its_hubspot_record()
    finally:
        term.teardown()
