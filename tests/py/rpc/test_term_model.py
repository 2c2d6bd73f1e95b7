"""A term, model-based: random sequences of what happens over weeks, against a reference model.

A hypothesis state machine (RuleBasedStateMachine) plays a term on a handful of exams and
students: exams pulled from HubSpot (times stored as ISO-8601 instants, as HubSpot and the
original app write them, or 'HH:MM' as older rows do), rescheduled, archived (cancelled) and
restored in HubSpot and applied as the pull applies them (mockbook_internal.apply_pulled_exams,
with HubSpot's hs_lastmodifieddate / archivedAt); bookings, cancellations, rebooks, waitlist
joins, offers and their acceptance; admins' credit changes; and time passing through business
days, with the jobs (process_waitlist, complete_past_bookings) run at moments of their own, as
a late or missed cron run leaves them. Time is the database's clock (mockbook.clock_offset, read
by mockbook_internal.clock_now), moved forward by the machine: nothing here sleeps. The
scheduling rules are on (time conflicts, the booking cut-off, two Active bookings per type, a
24-hour cancellation deadline past which a student's cancellation refunds nothing). Students
call with their own JWT, admins with an admin's, the jobs with the service key.

A small reference model keeps, per student, the credits each field should hold and, per booking,
its exam and status, each decided by the model's own rules (a refund is the model's, not what
the call reports; a booking is Completed once its exam has ended and the job has run). After
every step:
  - the invariants (every exam's total_bookings = its Active bookings; every balance = its start
    plus its ledger: mockbook_internal.check_invariants);
  - the model's balances, statuses and Active seats equal the database's, and no exam holds
    more Active bookings and held offers than its capacity;
  - no credit is spent on an exam that did not take place: every booking of a cancelled exam is
    Cancelled and refunded, and no booking is Completed before its exam has ended.

The budget is fixed (derandomized, MOCKBOOK_TERM_EXAMPLES examples, default 10, of at most 25
steps); `MOCKBOOK_TERM_EXAMPLES=300 pytest tests/py/rpc/test_term_model.py` plays a longer one. A
failure prints the steps that led to it (hypothesis shrinks them) and the seed
(`--hypothesis-seed` replays a non-derandomized run).
"""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from psycopg.types.json import Jsonb

EXAMPLES = int(os.environ.get("MOCKBOOK_TERM_EXAMPLES", "10"))
TYPES = {"Clinical Skills": "cs_credits", "Situational Judgment": "sj_credits"}
# every refusal the contract documents for these calls; anything else fails the run
DOCUMENTED = {"EXAM_FULL", "DUPLICATE_BOOKING", "EXAM_NOT_ACTIVE", "EXAM_IN_PAST",
              "INSUFFICIENT_CREDITS", "ALREADY_CANCELLED", "NOT_CANCELLABLE", "REBOOK_NOT_ALLOWED",
              "EXAM_NOT_FULL", "OFFER_NOT_FOUND", "OFFER_EXPIRED", "WAITLIST_FULL",
              "TIME_CONFLICT", "BOOKING_CLOSED", "BOOKING_LIMIT_REACHED"}
_SEQ = itertools.count(1)


# the scheduling rules the term runs under (hubspot_sync.booking_rules)
RULES = {"time_conflict": True, "booking_cutoff": True, "max_active_per_type": 2,
         "cancel_deadline_hours": 24, "cancel_deadline_action": "no_refund"}
ADMIN = {"role": "service_role", "sub": "8d5e3c1a-0000-4000-8000-00000000ad01",
         "email": "registrar@example.com", "app_metadata": {"role": "admin"}}


def as_student(sid: str) -> dict[str, Any]:
    """A student's own session, as Supabase signs it and PostgREST passes it on."""
    return {"role": "service_role", "sub": str(uuid.uuid5(uuid.NAMESPACE_OID, sid)),
            "email": f"{sid.lower()}@example.com"}


@dataclass
class Exam:
    hubspot_id: str
    mock_type: str
    day: int                 # days from the term's start
    hour: int                # local start hour
    iso: bool                # times stored as ISO instants (else HH:MM)
    capacity: int
    cancelled: bool = False
    moved_into_past: bool = False   # rescheduled by HubSpot to end before it was applied


@dataclass
class Booking:
    id: str
    code: str
    student: str
    exam: str
    field: str
    status: str = "Active"


@dataclass
class Model:
    balances: dict[str, dict[str, int]] = field(default_factory=dict)
    exams: dict[str, Exam] = field(default_factory=dict)
    bookings: dict[str, Booking] = field(default_factory=dict)


class Term(RuleBasedStateMachine):
    """One term on its own exams and students (unique ids: examples never share rows)."""

    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.conn = psycopg.connect(self.url, autocommit=True)
        self.model = Model()
        self.tag = uuid.uuid4().hex[:6].upper()
        self.hours = 0            # the clock's offset, in hours
        self.modified_ms = int(datetime.now(UTC).timestamp() * 1000)
        self.start_day = None
        self.snap = None

    # --- helpers ----------------------------------------------------------------------------

    def one(self, sql: str, params: Any = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    def now(self) -> datetime:
        return self.one("SELECT mockbook_internal.clock_now()")

    def local(self, exam: Exam, hour: int) -> datetime:
        """The instant of `hour` o'clock, business time zone, on the exam's day."""
        return self.one("SELECT ((%s::date + %s) + make_time(%s, 0, 0))"
                        " AT TIME ZONE mockbook_internal.business_timezone()",
                        (self.start_day, exam.day, hour))

    def record(self, exam: Exam, *, archived: bool = False, active: bool = True) -> dict:
        """The exam as a HubSpot read returns it (a newer hs_lastmodifieddate each time)."""
        self.modified_ms += 60_000
        if archived:
            return {"id": exam.hubspot_id, "archived": True,
                    "archivedAt": datetime.fromtimestamp(self.modified_ms / 1000, UTC)
                    .strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        start, end = self.local(exam, exam.hour), self.local(exam, exam.hour + 3)
        day = self.one("SELECT %s::date + %s", (self.start_day, exam.day))

        def text(moment: datetime, hour: int) -> str:
            if exam.iso:
                return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            return f"{hour:02d}:00"

        return {"id": exam.hubspot_id, "archived": False, "properties": {
            "mock_exam_name": f"Term {exam.hubspot_id}", "mock_type": exam.mock_type,
            "exam_date": str(day), "start_time": text(start, exam.hour),
            "end_time": text(end, exam.hour + 3), "location": "mississauga",
            "capacity": str(exam.capacity), "is_active": "true" if active else "false",
            "mock_set": "A", "hs_lastmodifieddate": str(self.modified_ms)}}

    def pull(self, records: list[dict]) -> dict:
        result = self.one("SELECT mockbook_internal.apply_pulled_exams(%s, 'hubspot:pull')",
                          (Jsonb(records),))
        assert result["errors"] == [] and result["retry"] == [], result
        return result

    def ended(self, exam: Exam) -> bool:
        return self.now() >= self.local(exam, exam.hour + 3)

    def refused(self, exc: RpcError) -> str:
        assert exc.code in DOCUMENTED, f"{exc.code}: {exc.detail}"
        return exc.code

    # --- set-up -----------------------------------------------------------------------------

    @initialize()
    def term_begins(self) -> None:
        self.conn.execute("SELECT set_config('mockbook.clock_offset', '0 hours', false)")
        self.saved_rules = self.conn.execute(
            "SELECT rule, value FROM hubspot_sync.booking_rules").fetchall()
        for rule_, value in RULES.items():
            rpc(self.conn, "set_booking_rule", claims=ADMIN, p_rule=rule_, p_value=value)
        self.start_day = self.one("SELECT hubspot_sync.business_today()")
        shapes = [("Clinical Skills", 3, 9, True, 2), ("Clinical Skills", 4, 13, False, 1),
                  ("Situational Judgment", 3, 14, True, 2), ("Situational Judgment", 6, 9, True, 3)]
        for n, (mock_type, day, hour, iso, capacity) in enumerate(shapes):
            exam = Exam(f"T{self.tag}{n}", mock_type, day, hour, iso, capacity)
            self.model.exams[exam.hubspot_id] = exam
        self.pull([self.record(e) for e in self.model.exams.values()])
        for n in range(4):
            sid = f"T{self.tag}S{n}"
            self.one("SELECT tests.make_student(p_sj := 2, p_cs := 2, p_student_id := %s)", (sid,))
            self.model.balances[sid] = {"cs_credits": 2, "sj_credits": 2}
        self.snap = snapshot(self.conn)
        # the first rush: everyone tries every exam (some are full at once: waitlists)
        for s, e in itertools.product(range(4), range(4)):
            self.book(s, e)

    students = st.integers(0, 3)
    exams = st.integers(0, 3)

    def student(self, n: int) -> str:
        return f"T{self.tag}S{n}"

    def exam(self, n: int) -> Exam:
        return self.model.exams[f"T{self.tag}{n}"]

    # --- students ---------------------------------------------------------------------------

    @rule(s=students, e=exams)
    def book(self, s: int, e: int) -> None:
        sid, exam = self.student(s), self.exam(e)
        try:
            answer = rpc(self.conn, "create_booking", claims=as_student(sid), p_student_id=sid,
                         p_email=f"{sid.lower()}@example.com", p_mock_exam_id=exam.hubspot_id,
                         p_idempotency_key=f"term-{next(_SEQ)}-{self.tag}",
                         p_attending_location="mississauga", p_dominant_hand="right")
        except RpcError as exc:
            code = self.refused(exc)
            if exam.cancelled:
                assert code == "EXAM_NOT_ACTIVE", code
            return
        assert not exam.cancelled, "a cancelled exam took a booking"
        assert self.now() < self.local(exam, exam.hour), "an exam that had started was booked"
        same_type = [b for b in self.active() if b.student == sid
                     and self.model.exams[b.exam].mock_type == exam.mock_type]
        assert len(same_type) < RULES["max_active_per_type"], "the per-type limit was passed"
        field_ = answer["credit_field"]
        self.model.balances[sid][field_] -= 1
        self.model.bookings[answer["id"]] = Booking(answer["id"], answer["booking_id"], sid,
                                                    exam.hubspot_id, field_)

    def active(self) -> list[Booking]:
        return [b for b in self.model.bookings.values() if b.status == "Active"]

    @precondition(lambda self: self.active())
    @rule(n=st.integers(0, 50))
    def cancel(self, n: int) -> None:
        booking = self.active()[n % len(self.active())]
        exam = self.model.exams[booking.exam]
        # the model's rule: inside the deadline (24 h before the exam's start) nothing back
        deadline = self.one("SELECT %s::timestamptz - make_interval(hours => %s)",
                            (self.local(exam, exam.hour), RULES["cancel_deadline_hours"]))
        refund = 0 if self.now() > deadline else 1
        try:
            answer = rpc(self.conn, "cancel_booking", claims=as_student(booking.student),
                         p_booking_id=booking.code, p_student_id=booking.student)
        except RpcError as exc:
            self.refused(exc)
            return
        booking.status = "Cancelled"
        assert answer["credits_restored"] == refund, (answer, refund)
        self.model.balances[booking.student][booking.field] += refund

    @precondition(lambda self: self.active())
    @rule(n=st.integers(0, 50), e=exams)
    def rebook(self, n: int, e: int) -> None:
        booking, exam = self.active()[n % len(self.active())], self.exam(e)
        try:
            answer = rpc(self.conn, "rebook", claims=ADMIN, p_booking_id=booking.id,
                         p_new_mock_exam_id=exam.hubspot_id,
                         p_idempotency_key=f"term-rb-{next(_SEQ)}-{self.tag}")
        except RpcError as exc:
            self.refused(exc)
            return
        assert not exam.cancelled
        # the credit moves with it (no balance change); the move may be a new booking row
        if answer["id"] == booking.id:
            booking.exam = exam.hubspot_id
        else:
            booking.status = "Cancelled"
            self.model.bookings[answer["id"]] = Booking(answer["id"], answer["booking_id"],
                                                        booking.student, exam.hubspot_id,
                                                        booking.field)

    @rule(s=students, e=exams)
    def join_waitlist(self, s: int, e: int) -> None:
        sid, exam = self.student(s), self.exam(e)
        try:
            rpc(self.conn, "join_waitlist", claims=as_student(sid), p_student_id=sid,
                p_email=f"{sid.lower()}@example.com",
                p_mock_exam_id=exam.hubspot_id, p_attending_location="mississauga",
                p_dominant_hand="right")
        except RpcError as exc:
            self.refused(exc)

    @rule(s=students, e=exams)
    def accept_offer(self, s: int, e: int) -> None:
        sid, exam = self.student(s), self.exam(e)
        try:
            answer = rpc(self.conn, "accept_offer", claims=as_student(sid), p_student_id=sid,
                         p_email=f"{sid.lower()}@example.com", p_mock_exam_id=exam.hubspot_id)
        except RpcError as exc:
            self.refused(exc)
            return
        if answer.get("idempotent_replay"):
            return
        assert not exam.cancelled
        self.model.balances[sid][answer["credit_field"]] -= 1
        self.model.bookings[answer["id"]] = Booking(answer["id"], answer["booking_id"], sid,
                                                    exam.hubspot_id, answer["credit_field"])

    # --- admins -----------------------------------------------------------------------------

    @rule(s=students, delta=st.sampled_from([-1, 1, 2]), ftype=st.sampled_from(list(TYPES)))
    def admin_changes_credits(self, s: int, delta: int, ftype: str) -> None:
        sid, field_ = self.student(s), TYPES[ftype]
        try:
            rpc(self.conn, "adjust_credits", claims=ADMIN, p_student_id=sid,
                p_credit_field=field_, p_delta=delta, p_reason="term", p_actor="term")
        except RpcError as exc:
            assert exc.code == "INSUFFICIENT_CREDITS"
            assert self.model.balances[sid][field_] + delta < 0
            return
        self.model.balances[sid][field_] += delta

    @rule(e=exams, days=st.integers(-1, 3), hour=st.sampled_from([8, 10, 15]))
    def reschedule_in_hubspot(self, e: int, days: int, hour: int) -> None:
        exam = self.exam(e)
        if exam.cancelled or self.ended(exam):   # admins move exams still to come
            return
        exam.day, exam.hour = max(exam.day + days, 1), hour
        self.pull([self.record(exam)])
        exam.moved_into_past = exam.moved_into_past or self.ended(exam)

    @rule(e=exams)
    def cancel_in_hubspot(self, e: int) -> None:
        exam = self.exam(e)
        if exam.cancelled or self.ended(exam):   # admins cancel exams still to come
            return
        self.pull([self.record(exam, archived=True)])
        exam.cancelled = True
        for booking in self.model.bookings.values():
            if booking.exam == exam.hubspot_id and booking.status == "Active":
                booking.status = "Cancelled"
                self.model.balances[booking.student][booking.field] += 1

    @rule(e=exams)
    def restore_in_hubspot(self, e: int) -> None:
        exam = self.exam(e)
        if not exam.cancelled:
            return
        self.pull([self.record(exam)])
        exam.cancelled = False   # its cancelled bookings stay cancelled and refunded

    # --- time -------------------------------------------------------------------------------

    @rule(hours=st.sampled_from([3, 8, 24, 30]))
    def time_passes(self, hours: int) -> None:
        self.hours += hours
        self.conn.execute("SELECT set_config('mockbook.clock_offset', %s, false)",
                          (f"{self.hours} hours",))

    @rule()
    def the_waitlist_job_runs(self) -> None:
        rpc(self.conn, "process_waitlist", p_actor="mockbook:waitlist")

    @rule()
    def the_completion_job_runs(self) -> None:
        rpc(self.conn, "complete_past_bookings")
        # the model's rule: a booking is Completed once its exam has ended; no credit moves.
        # An exam HubSpot moved into the past is the admins' to judge (docs/rpc.md)
        for booking in self.active():
            exam = self.model.exams[booking.exam]
            if self.ended(exam) and not exam.moved_into_past:
                booking.status = "Completed"

    # --- after every step -------------------------------------------------------------------

    @invariant()
    def the_database_agrees_with_the_model(self) -> None:
        if self.snap is None:
            return
        check_invariants(self.conn, self.snap)
        statuses = dict(self.conn.execute(
            "SELECT id::text, is_active FROM hubspot_sync.hubspot_bookings"
            " WHERE id = ANY (%s::uuid[])", (list(self.model.bookings),)).fetchall())
        for bid, booking in self.model.bookings.items():
            exam = self.model.exams[booking.exam]
            if exam.moved_into_past and statuses[bid] in ("Active", "Completed"):
                booking.status = statuses[bid]  # the admins' call: either is allowed
            assert statuses[bid] == booking.status, (booking, statuses[bid])
        balances = {sid: dict(zip(("cs_credits", "sj_credits"), row, strict=True))
                    for sid, *row in self.conn.execute(
                        "SELECT student_id, cs_credits, sj_credits FROM"
                        " hubspot_sync.hubspot_contact_credits WHERE student_id = ANY (%s)",
                        (list(self.model.balances),)).fetchall()}
        assert balances == self.model.balances
        seats = dict(self.conn.execute(
            "SELECT hubspot_id, total_bookings FROM hubspot_sync.hubspot_mock_exams"
            " WHERE hubspot_id = ANY (%s)", (list(self.model.exams),)).fetchall())
        held = dict(self.conn.execute(
            "SELECT mock_exam_id, count(*) FROM hubspot_sync.waitlist_entries"
            " WHERE mock_exam_id = ANY (%s) AND status = 'offered'"
            " AND offer_expires_at > mockbook_internal.clock_now() GROUP BY 1",
            (list(self.model.exams),)).fetchall())
        for hubspot_id, exam in self.model.exams.items():
            expected = sum(1 for b in self.active() if b.exam == hubspot_id)
            assert seats[hubspot_id] == expected, hubspot_id
            assert expected + held.get(hubspot_id, 0) <= exam.capacity, (
                f"exam {hubspot_id}: {expected} booked + {held.get(hubspot_id, 0)} held"
                f" > {exam.capacity} seats")

    @invariant()
    def no_credit_is_spent_on_an_exam_that_did_not_take_place(self) -> None:
        if self.snap is None:
            return
        wrong = self.conn.execute(
            """SELECT b.booking_id, b.is_active, e.is_active, e.exam_ends_at
               FROM hubspot_sync.hubspot_bookings AS b
               JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = b.associated_mock_exam
               WHERE e.hubspot_id = ANY (%s)
                 AND ((b.is_active = 'Completed' AND e.exam_ends_at > mockbook_internal.clock_now())
                   OR (b.is_active = 'Completed' AND lower(e.is_active) = 'false')
                   OR (b.is_active = 'Active' AND lower(e.is_active) = 'false'
                       AND b.token_used <> 'Admin Override'))""",
            (list(self.model.exams),)).fetchall()
        assert wrong == []

    def teardown(self) -> None:
        for rule_, value in getattr(self, "saved_rules", []):
            self.conn.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
                              (Jsonb(value), rule_))
        self.conn.close()


@pytest.mark.slow
def test_a_term(database_url: str) -> None:
    Term.url = database_url
    run = Term.TestCase
    run.settings = settings(max_examples=EXAMPLES, stateful_step_count=25, deadline=None,
                            derandomize=EXAMPLES <= 50, database=None, print_blob=True,
                            suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.filter_too_much])
    run().runTest()


def test_the_model_checks_can_fail(database_url: str) -> None:
    """The model's checks see credits written behind the functions' back: a balance that no
    call changed fails the check the machine makes after every step."""
    Term.url = database_url
    term = Term()
    try:
        term.term_begins()
        sid = term.student(0)
        term.conn.execute("ALTER TABLE hubspot_sync.hubspot_contact_credits DISABLE TRIGGER USER")
        try:
            term.conn.execute("UPDATE hubspot_sync.hubspot_contact_credits"
                              " SET cs_credits = cs_credits + 5"
                              " WHERE student_id = %s", (sid,))
        finally:
            term.conn.execute(
                "ALTER TABLE hubspot_sync.hubspot_contact_credits ENABLE TRIGGER USER")
        with pytest.raises(AssertionError):
            term.the_database_agrees_with_the_model()
    finally:
        term.teardown()

