"""Every documented error's check is needed: removed, a test notices.

A site is one `PERFORM mockbook_internal.raise_error(...)` of db/functions (the raise of a
documented error and, with the IF above it, the check that decides it). Its mutant turns that
statement into `NULL;`: the check removed, the call carries on past it. For each site, in this
module's database (a copy of the run's template), the site's file is applied again mutated (its
CREATE OR REPLACE, committed), the scenarios that name the site's file and code run, then the
file is applied again as it is. One scenario must answer otherwise than it does on the unmutated
code: another code, another SQLSTATE, no error at all (a refused call is rolled back whole, so its
answer is everything it shows; a scenario that says so adds a piece of what the error tells the
caller). Each scenario is also a test of its own: on the unmutated code it answers its code and
changes no hubspot_sync table.

The scenarios of a site are those registered here for its file and code (`@names(file, code)`),
then tests/py/rpc/test_error_codes.py's one scenario of its code. A site that no scenario kills
fails, unless tests/error_sites_equivalent.toml lists it with why the check cannot be missed (never
reached, or another check answers the same); a listed site that no longer exists fails too. A site
id (`<file>:<code>:<hash>`) hashes the raise's text, the line above it and its occurrence, so it
survives edits elsewhere in the file.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import tomllib
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from invariants import table_digests
from postgrest import RpcError, rpc
from psycopg import sql
from psycopg.types.json import Jsonb
from test_error_codes import (
    DOCUMENTED_CODES,
    SCENARIOS,
    Call,
    Ctx,
    accept_call,
    booking_call,
    cancel_call,
    email,
)

from glue.db.source import APPLY_PREAMBLE

ROOT = Path(__file__).resolve().parents[3]
DB = ROOT / "db"
EQUIVALENT = ROOT / "tests" / "error_sites_equivalent.toml"
RAISE = re.compile(r"PERFORM mockbook_internal\.raise_error\(\s*(?:'([A-Z_]+)'|(\w+))")


@dataclass(frozen=True)
class Site:
    id: str
    file: str  # relative to db/
    line: int
    code: str  # the documented code, or the variable that holds it
    start: int
    end: int

    def mutated(self) -> str:
        text = (DB / self.file).read_text()
        return text[:self.start] + "NULL;" + text[self.end:]

    def raise_text(self) -> str:
        return (DB / self.file).read_text()[self.start:self.end]


def statement_end(text: str, i: int) -> int:
    """The offset after the `;` that ends the statement starting at ``i`` (strings and
    parentheses skipped)."""
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            i = text.index("'", i + 1)
            while text.startswith("''", i):
                i = text.index("'", i + 2)
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == ";" and depth == 0:
            return i + 1
        i += 1
    raise ValueError("a raise without its ;")


def error_sites() -> list[Site]:
    sites: list[Site] = []
    for path in sorted((DB / "functions").rglob("*.sql")):
        text = path.read_text()
        rel = path.relative_to(DB).as_posix()
        seen: dict[str, int] = {}
        for m in RAISE.finditer(text):
            if rel == "functions/internal/raise_error.sql":
                continue
            end = statement_end(text, m.start())
            line = text.count("\n", 0, m.start())
            above = next((t.strip() for t in reversed(text.split("\n")[:line]) if t.strip()), "")
            key = " ".join(f"{above}|{text[m.start():end]}".split())
            seen[key] = seen.get(key, 0) + 1
            digest = hashlib.sha1(f"{key}|{seen[key]}".encode()).hexdigest()[:10]
            code = m.group(1) or m.group(2)
            sites.append(Site(f"{rel}:{code}:{digest}", rel, line + 1, code, m.start(), end))
    return sites


SITES = error_sites()


def equivalents() -> dict[str, str]:
    """The listed sites, each with why its check cannot be missed."""
    return {e["id"]: e["reason"]
            for e in tomllib.loads(EQUIVALENT.read_text()).get("equivalent", [])}


# --- the scenarios that name a site -------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    name: str
    file: str
    code: str  # the code it answers
    make: Callable[[Ctx], Call]
    own_database: bool = False  # it changes what every call reads (a rule, the zone)
    notes: bool = False  # its refusal is noted (a pulled record's dead letter)
    reaches: str | None = None  # a piece of the one raise it reaches: tried on that site only
    # a piece of what its error says (detail or hint): part of its answer, where two raises of
    # one code differ only in what they tell the caller (what was not found, what to do)
    says: str | None = None
    writes_meanwhile: bool = False  # a second writer commits while the call waits for it


NAMED: list[Scenario] = []


def names(file: str, code: str, *, answers: str | None = None, own_database: bool = False,
          notes: bool = False, reaches: str | None = None, says: str | None = None,
          writes_meanwhile: bool = False,
          ) -> Callable[[Callable[[Ctx], Call]], Callable[[Ctx], Call]]:
    """Registers a scenario for the sites of ``code`` in db/``file``; it answers ``answers``
    (default: ``code``; a site whose code is a variable names what it holds). With ``reaches``
    (a piece of one raise's text) it is tried on that site only: one of several raises of the
    code in the file, each reached by a setup of its own."""
    def register(make: Callable[[Ctx], Call]) -> Callable[[Ctx], Call]:
        NAMED.append(Scenario(make.__name__, file, answers or code, make, own_database, notes,
                              reaches, says, writes_meanwhile))
        return make
    return register


def sql_call(query: str, *params: Any) -> Call:
    """A call the glue makes in SQL (its own functions are not PostgREST's), as one
    transaction; a documented error comes back as RpcError."""
    def call(conn: psycopg.Connection) -> Any:
        try:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '500ms'")
                return conn.execute(query, params).fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate and exc.sqlstate.startswith("PT"):
                raise RpcError.from_psycopg(exc) from exc
            raise
    return call


def api(fn: str, **args: Any) -> Callable[[Ctx], Call]:
    return lambda _c: lambda conn: rpc(conn, fn, **args)


API = "functions/api/"
INTERNAL = "functions/internal/"


@names(API + "accept_offer.sql", "OFFER_EXPIRED")
def offer_expired_with_no_credit_left(c: Ctx) -> Call:
    """An expired offer is OFFER_EXPIRED whatever else would refuse the booking: here the
    student has spent the credit the offer was made on."""
    exam = c.exam(capacity=1)
    booking = c.book(c.student(sj=1), exam)
    waiting = c.student(sj=1)
    c.join(waiting, exam)
    rpc(c.db, "cancel_booking", p_booking_id=booking["booking_id"])
    c.db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval"
                 " '1 second' WHERE student_id = %s", (waiting,))
    rpc(c.db, "adjust_credits", p_student_id=waiting, p_credit_field="sj_credits", p_delta=-1,
        p_reason="spent elsewhere", p_actor="test")
    return accept_call(waiting, exam)


def _registered(file: str, code: str, name: str, make: Callable[[Ctx], Call],
                own_database: bool = False) -> None:
    NAMED.append(Scenario(name, file, code, make, own_database))


# An argument refused before anything is read: (file, scenario name, function, arguments).
REFUSED_ARGUMENTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("adjust_credits.sql", "adjust_credits_by_zero", "adjust_credits",
     {"p_student_id": "S1", "p_credit_field": "sj_credits", "p_delta": 0, "p_reason": "r",
      "p_actor": "test"}),
    ("admin_create_booking.sql", "admin_create_booking_with_a_null_override",
     "admin_create_booking",
     {"p_student_id": "S1", "p_email": "s1@example.com", "p_mock_exam_id": "E1",
      "p_idempotency_key": "k-null-override", "p_actor": "test",
      "p_attending_location": "mississauga", "p_override_capacity": None}),
    ("cancel_booking.sql", "cancel_booking_with_a_null_refund", "cancel_booking",
     {"p_booking_id": "BK-X", "p_refund": None}),
    ("cancel_booking_atomic.sql", "cancel_booking_atomic_without_a_booking",
     "cancel_booking_atomic", {"p_booking_id": None, "p_credit_field": None,
                               "p_restored_credit_value": None}),
    ("cancel_booking_atomic.sql", "cancel_booking_atomic_with_a_field_and_no_value",
     "cancel_booking_atomic", {"p_booking_id": str(uuid.uuid4()), "p_credit_field": "sj_credits",
                               "p_restored_credit_value": None}),
    ("cancel_booking_atomic.sql", "cancel_booking_atomic_restoring_a_negative_balance",
     "cancel_booking_atomic", {"p_booking_id": str(uuid.uuid4()), "p_credit_field": "sj_credits",
                               "p_restored_credit_value": -1}),
    ("cancel_bookings.sql", "cancel_bookings_without_a_list", "cancel_bookings",
     {"p_booking_ids": None}),
    ("cancel_bookings.sql", "cancel_bookings_of_101", "cancel_bookings",
     {"p_booking_ids": [f"BK-{n}" for n in range(101)]}),
    ("cancel_bookings.sql", "cancel_bookings_with_a_null_refund", "cancel_bookings",
     {"p_booking_ids": ["BK-1"], "p_refund": None}),
    ("create_booking.sql", "create_booking_with_a_blank_code", "create_booking",
     {"p_student_id": "S1", "p_email": "s1@example.com", "p_mock_exam_id": "E1",
      "p_idempotency_key": "k-blank-code", "p_attending_location": "mississauga",
      "p_booking_id": " "}),
    ("create_booking.sql", "create_booking_of_mock_set_z", "create_booking",
     {"p_student_id": "S1", "p_email": "s1@example.com", "p_mock_exam_id": "E1",
      "p_idempotency_key": "k-set-z", "p_attending_location": "mississauga", "p_mock_set": "Z"}),
    ("get_booking.sql", "get_booking_of_nothing", "get_booking", {}),
    ("get_contact_credits.sql", "get_contact_credits_of_nobody", "get_contact_credits",
     {"p_student_id": "S1"}),
    ("list_available_exams.sql", "list_available_exams_ending_before_it_starts",
     "list_available_exams", {"p_from": "2030-01-02", "p_to": "2030-01-01"}),
    ("list_contact_bookings.sql", "list_contact_bookings_of_an_unknown_status",
     "list_contact_bookings", {"p_student_id": "S1", "p_status": "Sleeping"}),
    ("mark_attendance.sql", "mark_attendance_of_an_object", "mark_attendance",
     {"p_updates": {"booking_id": "BK-1"}, "p_actor": "test"}),
    ("mark_attendance.sql", "mark_attendance_of_101", "mark_attendance",
     {"p_updates": [{"booking_id": f"BK-{n}", "attendance": "Yes"} for n in range(101)],
      "p_actor": "test"}),
    ("mark_attendance.sql", "mark_attendance_of_a_256_character_reference", "mark_attendance",
     {"p_updates": [{"booking_id": "B" * 256, "attendance": "Yes"}], "p_actor": "test"}),
    ("mark_attendance.sql", "mark_attendance_maybe", "mark_attendance",
     {"p_updates": [{"booking_id": "BK-1", "attendance": "maybe"}], "p_actor": "test"}),
    ("request_refresh.sql", "request_refresh_of_two_records", "request_refresh",
     {"p_mock_exam_id": "E1", "p_student_id": "S1"}),
    ("set_booking_rule.sql", "set_booking_rule_of_an_unknown_rule", "set_booking_rule",
     {"p_rule": "no_such_rule", "p_value": 1}),
    ("set_booking_rule.sql", "set_booking_rule_to_a_word", "set_booking_rule",
     {"p_rule": "min_notice_hours", "p_value": "soon"}),
    ("set_exam_capacity.sql", "set_exam_capacity_below_zero", "set_exam_capacity",
     {"p_mock_exam_id": "E1", "p_capacity": -1}),
    ("set_realtime_broadcasts.sql", "set_realtime_broadcasts_to_null",
     "set_realtime_broadcasts", {"p_enabled": None}),
    ("update_exam_prerequisites.sql", "update_exam_prerequisites_adding_what_it_removes",
     "update_exam_prerequisites", {"p_exam_id": "E1", "p_add_ids": ["E2"],
                                   "p_remove_ids": ["E2"]}),
]
# these change what every call reads when their check is gone: each runs in a database of its own
GLOBAL = ("set_booking_rule.sql", "set_business_timezone.sql", "set_realtime_broadcasts.sql")
for _file, _name, _fn, _args in REFUSED_ARGUMENTS:
    _registered(API + _file, "INVALID_ARGUMENT", _name, api(_fn, **_args), _file in GLOBAL)

# The glue's own functions (SQL, not PostgREST): (file, scenario name, query).
REFUSED_GLUE_ARGUMENTS: list[tuple[str, str, str]] = [
    ("apply_credit_delta.sql", "apply_credit_delta_of_zero",
     f"SELECT mockbook_internal.apply_credit_delta('{uuid.uuid4()}', 'sj_credits', 0, 'r')"),
    ("apply_pulled_prerequisites.sql", "apply_pulled_prerequisites_of_a_number",
     """SELECT mockbook_internal.apply_pulled_prerequisites('{"E1": [1]}')"""),
    ("apply_pulled_records.sql", "apply_pulled_records_of_an_object",
     """SELECT mockbook_internal.apply_pulled_records('exams', '{}', 'test', '{}')"""),
    ("check_credit_field.sql", "check_credit_field_of_gold",
     "SELECT mockbook_internal.check_credit_field('p_credit_field', 'gold')"),
    ("check_idempotency_key_arg.sql", "check_idempotency_key_arg_of_nothing",
     "SELECT mockbook_internal.check_idempotency_key_arg(NULL, true)"),
    ("check_idempotency_key_arg.sql", "check_idempotency_key_arg_of_an_offer_key",
     "SELECT mockbook_internal.check_idempotency_key_arg('Waitlist-Offer-7', true)"),
    ("check_prerequisite_ids.sql", "check_prerequisite_ids_with_a_blank",
     "SELECT mockbook_internal.check_prerequisite_ids('E1', ARRAY[' '])"),
    ("check_prerequisite_ids.sql", "check_prerequisite_ids_naming_itself",
     "SELECT mockbook_internal.check_prerequisite_ids('E1', ARRAY['E1 '])"),
    ("check_text_arg.sql", "check_text_arg_of_a_missing_value",
     "SELECT mockbook_internal.check_text_arg('p_x', NULL, true, 10)"),
    ("check_text_arg.sql", "check_text_arg_past_its_length",
     "SELECT mockbook_internal.check_text_arg('p_x', 'abcdefghijk', false, 10)"),
    ("claim_audit_notes.sql", "claim_audit_notes_of_none",
     "SELECT mockbook_internal.claim_audit_notes(0)"),
    ("claim_refresh_requests.sql", "claim_refresh_requests_for_an_hour_and_more",
     "SELECT mockbook_internal.claim_refresh_requests('w', 10, 3601)"),
    ("claim_sync_batch.sql", "claim_sync_batch_for_an_hour_and_more",
     "SELECT mockbook_internal.claim_sync_batch('w', 10, 3601)"),
    ("claim_webhook_events.sql", "claim_webhook_events_for_an_hour_and_more",
     "SELECT mockbook_internal.claim_webhook_events(10, 3601)"),
    ("finish_refresh_requests.sql", "finish_refresh_requests_of_an_object",
     "SELECT mockbook_internal.finish_refresh_requests('w', '{}')"),
    ("finish_webhook_events.sql", "finish_webhook_events_after_101_attempts",
     "SELECT mockbook_internal.finish_webhook_events(ARRAY[1]::bigint[], NULL, 101)"),
    ("legacy_attending_location.sql", "legacy_attending_location_of_nowhere",
     "SELECT mockbook_internal.legacy_attending_location('Atlantis')"),
    ("list_dead_letters.sql", "list_dead_letters_of_none",
     "SELECT mockbook_internal.list_dead_letters(false, 0)"),
    ("note_pull_outcome.sql", "note_pull_outcome_of_no_record",
     "SELECT mockbook_internal.note_pull_outcome('', 'x', NULL)"),
    ("pulled_exam_values.sql", "pulled_exam_values_of_an_unknown_type",
     """SELECT mockbook_internal.pulled_exam_values('{"mock_type": "Oral Boards"}')"""),
    ("pulled_exam_values.sql", "pulled_exam_values_active_maybe",
     """SELECT mockbook_internal.pulled_exam_values('{"mock_type": "Situational Judgment",
        "exam_date": "2030-01-01", "capacity": "5", "is_active": "maybe"}')"""),
    ("pulled_exam_values.sql", "pulled_exam_values_of_mock_set_z",
     """SELECT mockbook_internal.pulled_exam_values('{"mock_type": "Situational Judgment",
        "exam_date": "2030-01-01", "capacity": "5", "is_active": "true", "mock_set": "Z"}')"""),
    ("pulled_int.sql", "pulled_int_of_a_fraction",
     """SELECT mockbook_internal.pulled_int('{"capacity": "2.5"}', 'capacity')"""),
    ("pulled_properties.sql", "pulled_properties_of_a_bare_record",
     """SELECT mockbook_internal.pulled_properties('{"id": "1"}')"""),
    ("pulled_text.sql", "pulled_text_of_an_object",
     """SELECT mockbook_internal.pulled_text('{"name": {}}', 'name')"""),
    ("pulled_text.sql", "pulled_text_missing",
     """SELECT mockbook_internal.pulled_text('{}', 'name', true)"""),
    ("pulled_timestamp.sql", "pulled_timestamp_of_a_word",
     """SELECT mockbook_internal.pulled_timestamp('{"at": "tomorrow"}', 'at')"""),
    ("push_state.sql", "push_state_of_another_table",
     "SELECT mockbook_internal.push_state('pg_class', ARRAY[]::uuid[])"),
    ("reconcile_state.sql", "reconcile_state_of_another_table",
     "SELECT mockbook_internal.reconcile_state('pg_class')"),
    ("record_credit_push.sql", "record_credit_push_of_a_word",
     """SELECT mockbook_internal.record_credit_push('{"x": {"sj_credits": "many"}}')"""),
    ("record_sync_run.sql", "record_sync_run_of_minus_one_record",
     "SELECT mockbook_internal.record_sync_run('pull', 'success', -1)"),
    ("release_glue_lease.sql", "release_glue_lease_of_no_name",
     "SELECT mockbook_internal.release_glue_lease('', 'me')"),
    ("relink_contact.sql", "relink_contact_of_no_contact",
     "SELECT mockbook_internal.relink_contact(NULL, '1')"),
    ("relink_contact.sql", "relink_contact_to_a_blank_id",
     f"SELECT mockbook_internal.relink_contact('{uuid.uuid4()}', ' ')"),
    ("requeue_for_push.sql", "requeue_for_push_of_another_table",
     "SELECT mockbook_internal.requeue_for_push('pg_class')"),
    ("requeue_records.sql", "requeue_records_of_another_table",
     "SELECT mockbook_internal.requeue_records('pg_class', ARRAY[]::uuid[])"),
    ("resolve_dead_letters.sql", "resolve_dead_letters_by_forgetting",
     "SELECT mockbook_internal.resolve_dead_letters('forget')"),
    ("save_sync_cursor.sql", "save_sync_cursor_of_a_list",
     "SELECT mockbook_internal.save_sync_cursor('contacts', '[]')"),
    ("store_webhook_events.sql", "store_webhook_events_of_none",
     "SELECT mockbook_internal.store_webhook_events('[]')"),
    ("store_webhook_events.sql", "store_webhook_events_at_a_word",
     """SELECT mockbook_internal.store_webhook_events('[{"eventId": 1,
        "subscriptionType": "contact.propertyChange", "objectId": 1,
        "occurredAt": "noon"}]')"""),
    ("store_webhook_events.sql", "store_webhook_events_of_a_101_digit_object",
     f"""SELECT mockbook_internal.store_webhook_events('[{{"eventId": 1,
        "subscriptionType": "contact.propertyChange", "objectId": "{'1' * 101}",
        "occurredAt": 1}}]')"""),
    ("take_glue_lease.sql", "take_glue_lease_for_an_hour_and_more",
     "SELECT mockbook_internal.take_glue_lease('n', 'me', 3601)"),
    ("trace_record.sql", "trace_record_of_another_table",
     f"SELECT mockbook_internal.trace_record('pg_class', '{uuid.uuid4()}')"),
    ("trace_record.sql", "trace_record_of_no_record",
     "SELECT mockbook_internal.trace_record('hubspot_bookings', NULL)"),
    ("trace_record.sql", "trace_record_of_10001_lines",
     f"SELECT mockbook_internal.trace_record('hubspot_bookings', '{uuid.uuid4()}', 10001)"),
]
for _file, _name, _query in REFUSED_GLUE_ARGUMENTS:
    _registered(INTERNAL + _file, "INVALID_ARGUMENT", _name,
                lambda _c, q=_query: sql_call(q))


def offered(c: Ctx, capacity: int = 1, waiting: int = 1) -> tuple[str, list[str]]:
    """An exam whose seats are held by offers to ``waiting`` students: its id, theirs."""
    exam = c.exam(capacity=capacity)
    bookings = [c.book(c.student(sj=1), exam) for _ in range(capacity)]
    students = [c.student(sj=1) for _ in range(waiting)]
    for student in students:
        c.join(student, exam)
    for booking in bookings[:waiting]:
        rpc(c.db, "cancel_booking", p_booking_id=booking["booking_id"])
    return exam, students


@names(API + "accept_offer.sql", "OFFER_EXPIRED")
def offer_expiring_while_its_exam_is_locked(c: Ctx) -> Call:
    """The offer was live when the call began and expired while it waited for the exam's lock."""
    exam, (student,) = offered(c)
    c.db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = clock_timestamp()"
                 " + interval '300 ms' WHERE student_id = %s", (student,))
    holder = c.stack.enter_context(psycopg.connect(c.url))
    holder.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                   " FOR UPDATE", (exam,))
    timer = threading.Timer(0.6, holder.rollback)
    c.stack.callback(timer.cancel)
    call = accept_call(student, exam)

    def accept(conn: psycopg.Connection) -> Any:
        timer.start()
        return call(conn)
    return accept


@names(API + "accept_offer.sql", "EXAM_FULL")
def offer_accepted_after_the_capacity_fell_under_the_offers(c: Ctx) -> Call:
    exam, (_first, second) = offered(c, capacity=2, waiting=2)
    c.db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 1 WHERE hubspot_id = %s",
                 (exam,))
    return accept_call(second, exam)


@names(API + "adjust_credits.sql", "INVALID_ARGUMENT")
def adjust_credits_by_1001(c: Ctx) -> Call:
    student = c.student()
    return lambda conn: rpc(conn, "adjust_credits", p_student_id=student,
                            p_credit_field="sj_credits", p_delta=1001, p_reason="r",
                            p_actor="test")


@names(API + "cancel_booking_atomic.sql", "CREDIT_CONFLICT")
def cancel_booking_atomic_refunding_another_field(c: Ctx) -> Call:
    student = c.student(sj=1)
    booking = c.book(student, c.exam())
    return lambda conn: rpc(conn, "cancel_booking_atomic", p_booking_id=booking["id"],
                            p_credit_field="cs_credits", p_restored_credit_value=1)


def atomic_call(c: Ctx, **over: Any) -> Call:
    student = c.student(sj=1)
    args = {"p_booking_id": None, "p_student_id": student, "p_student_email": email(student),
            "p_mock_exam_id": c.exam(), "p_student_name": "Ann", "p_token_used": None,
            "p_attending_location": "mississauga", "p_dominant_hand": None,
            "p_idempotency_key": f"atomic-{uuid.uuid4()}", "p_credit_field": "sj_credits",
            "p_new_credit_value": 0, **over}
    return lambda conn: rpc(conn, "create_booking_atomic", **args)


@names(API + "create_booking_atomic.sql", "INVALID_ARGUMENT", says="must not be blank")
def create_booking_atomic_with_a_blank_code(c: Ctx) -> Call:
    """(Without its check the insert refuses the code too, as no valid booking code.)"""
    return atomic_call(c, p_booking_id=" ")


@names(API + "create_booking_atomic.sql", "INVALID_ARGUMENT")
def create_booking_atomic_to_a_negative_balance(c: Ctx) -> Call:
    return atomic_call(c, p_new_credit_value=-1)


@names(API + "create_booking_atomic.sql", "INVALID_ARGUMENT")
def create_booking_atomic_of_mock_set_z(c: Ctx) -> Call:
    return atomic_call(c, p_mock_set="Z")


@names(API + "create_booking_atomic.sql", "IDEMPOTENCY_KEY_REUSED")
def create_booking_atomic_again_with_a_long_key_of_a_cancelled_booking(c: Ctx) -> Call:
    key = uuid.uuid4().hex.ljust(245, "k")
    call = atomic_call(c, p_idempotency_key=key)
    booking = call(c.db)
    rpc(c.db, "cancel_booking", p_booking_id=booking["booking_id"])
    return call


@names(API + "increment_exam_bookings.sql", "EXAM_NOT_FOUND")
def increment_exam_bookings_of_no_exam(c: Ctx) -> Call:
    return lambda conn: rpc(conn, "increment_exam_bookings", p_exam_id="NO-EXAM-1", p_delta=1)


@names(API + "list_available_exams.sql", "CONTACT_NOT_FOUND")
def list_available_exams_for_nobody(c: Ctx) -> Call:
    c.exam()
    return lambda conn: rpc(conn, "list_available_exams", p_student_id="NOBODY1")


@names(API + "request_refresh.sql", "CONTACT_NOT_FOUND")
def request_refresh_of_nobody(c: Ctx) -> Call:
    return lambda conn: rpc(conn, "request_refresh", p_student_id="NOBODY1")


@names(API + "request_refresh.sql", "BOOKING_NOT_FOUND")
def request_refresh_of_no_booking(c: Ctx) -> Call:
    return lambda conn: rpc(conn, "request_refresh", p_booking_id="BK-NOPE-1")


@names(API + "set_business_timezone.sql", "INVALID_ARGUMENT", own_database=True)
def set_business_timezone_to_mars(c: Ctx) -> Call:
    return lambda conn: rpc(conn, "set_business_timezone", p_zone="Mars/Olympus_Mons",
                            p_actor="test")


@names(API + "set_business_timezone.sql", "BUSY", own_database=True)
def set_business_timezone_while_another_sets_it(c: Ctx) -> Call:
    holder = c.stack.enter_context(psycopg.connect(c.url, autocommit=True))
    holder.execute("SELECT pg_advisory_lock(hashtextextended('mockbook:business_timezone', 0))")
    return lambda conn: rpc(conn, "set_business_timezone", p_zone="Europe/Paris",
                            p_actor="test")


@names(API + "set_realtime_broadcasts.sql", "INVALID_ARGUMENT", own_database=True)
def set_realtime_broadcasts_on_without_realtime(c: Ctx) -> Call:
    return lambda conn: rpc(conn, "set_realtime_broadcasts", p_enabled=True, p_actor="test")


def contact_id(c: Ctx, student: str) -> str:
    return str(c.one("SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s",
                     (student,)))


@names(INTERNAL + "apply_credit_delta.sql", "CONTACT_NOT_FOUND")
def apply_credit_delta_of_no_contact(c: Ctx) -> Call:
    return sql_call("SELECT mockbook_internal.apply_credit_delta(%s, 'sj_credits', -1, 'r')",
                    uuid.uuid4())


@names(INTERNAL + "apply_credit_delta.sql", "INSUFFICIENT_CREDITS")
def apply_credit_delta_below_zero(c: Ctx) -> Call:
    return sql_call("SELECT mockbook_internal.apply_credit_delta(%s, 'sj_credits', -1, 'r')",
                    contact_id(c, c.student()))


def pulled_booking(c: Ctx, **props: Any) -> Call:
    item = {"id": f"HB-{uuid.uuid4().hex[:10]}", "properties": props}
    return sql_call("SELECT mockbook_internal.apply_pulled_booking(%s)", Jsonb(item))


@names(INTERNAL + "apply_pulled_booking.sql", "INVALID_ARGUMENT")
def pulled_booking_whose_code_is_another_hubspot_booking(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    c.db.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = %s WHERE id = %s",
                 (f"HB-{uuid.uuid4().hex[:10]}", booking["id"]))
    return pulled_booking(c, booking_id=booking["booking_id"])


@names(INTERNAL + "apply_pulled_booking.sql", "BUSY")
def pulled_booking_whose_row_is_locked(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    holder = c.stack.enter_context(psycopg.connect(c.url))
    holder.execute("SELECT FROM hubspot_sync.hubspot_bookings WHERE id = %s FOR UPDATE",
                   (booking["id"],))
    return pulled_booking(c, booking_id=booking["booking_id"])


def new_pulled_booking(c: Ctx, **props: Any) -> Call:
    student = c.student()
    return pulled_booking(c, **{"booking_id": f"BK-P{uuid.uuid4().hex[:8].upper()}",
                                "associated_mock_exam": c.exam(), "is_active": "Active",
                                "student_id": student, "email": email(student), **props})


@names(INTERNAL + "apply_pulled_booking.sql", "INVALID_ARGUMENT")
def pulled_booking_pending(c: Ctx) -> Call:
    return new_pulled_booking(c, is_active="Pending")


@names(INTERNAL + "apply_pulled_booking.sql", "INVALID_ARGUMENT")
def pulled_booking_attended_maybe(c: Ctx) -> Call:
    return new_pulled_booking(c, attendance="Maybe")


@names(INTERNAL + "apply_pulled_booking.sql", "INVALID_ARGUMENT")
def pulled_booking_of_no_student(c: Ctx) -> Call:
    return new_pulled_booking(c, student_id=None, email=None)


def pulled_contact(c: Ctx, student: str) -> Call:
    item = {"id": f"C{student}", "properties": {"student_id": student, "email": email(student),
                                                "firstname": "Renamed"}}
    return sql_call("SELECT mockbook_internal.apply_pulled_contact(%s, 'test', true)",
                    Jsonb(item))


@names(INTERNAL + "apply_pulled_contact.sql", "BUSY")
def pulled_contact_whose_row_is_locked(c: Ctx) -> Call:
    student = c.student()
    holder = c.stack.enter_context(psycopg.connect(c.url))
    holder.execute("SELECT FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s"
                   " FOR UPDATE", (student,))
    return pulled_contact(c, student)


@names(INTERNAL + "apply_pulled_contact.sql", "BUSY")
def pulled_contact_being_pushed(c: Ctx) -> Call:
    student = c.student()
    c.db.execute("""INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation,
                        new_data, lease_owner, lease_expires_at)
                    SELECT 'hubspot_contact_credits', id, 'UPDATE', to_jsonb(c), 'pusher',
                           now() + interval '1 minute'
                    FROM hubspot_sync.hubspot_contact_credits AS c WHERE student_id = %s""",
                 (student,))
    return pulled_contact(c, student)


def pulled_records(kind: str, records: Any) -> Call:
    """apply_pulled_records answers a refused record in its result, not as an error: the first
    record's error is raised here as the code it names."""
    call = sql_call("SELECT mockbook_internal.apply_pulled_records(%s, %s, 'test', '{}')",
                    kind, Jsonb(records))

    def apply(conn: psycopg.Connection) -> Any:
        (result,) = call(conn)
        for error in result.get("errors", []):
            code = error["error"].split(":", 1)[0]
            if code in DOCUMENTED_CODES:
                raise RpcError(code, DOCUMENTED_CODES[code], code, error["error"], "-")
        return result
    return apply


@names(INTERNAL + "apply_pulled_records.sql", "INVALID_ARGUMENT", notes=True)
def pulled_record_without_an_id(c: Ctx) -> Call:
    return pulled_records("exams", [{"properties": {}}])


@names(INTERNAL + "apply_pulled_records.sql", "INVALID_ARGUMENT", notes=True)
def pulled_record_with_an_unknown_list_of_numbers(c: Ctx) -> Call:
    return pulled_records("exams", [{"id": "E-UNKNOWN-1", "properties": {}, "unknown": [1]}])


def rebook_call(booking: dict, exam: str) -> Call:
    return lambda conn: rpc(conn, "rebook", p_booking_id=booking["booking_id"],
                            p_new_mock_exam_id=exam, p_idempotency_key=f"rebook-{uuid.uuid4()}")


@names(INTERNAL + "book.sql", "REBOOK_NOT_ALLOWED")
def rebook_of_a_cancelled_booking(c: Ctx) -> Call:
    booking = c.book(c.student(sj=2), c.exam())
    rpc(c.db, "cancel_booking", p_booking_id=booking["booking_id"])
    return rebook_call(booking, c.exam(day=9))


@names(INTERNAL + "book.sql", "REBOOK_NOT_ALLOWED")
def rebook_to_its_own_exam(c: Ctx) -> Call:
    exam = c.exam()
    return rebook_call(c.book(c.student(sj=1), exam), exam)


@names(INTERNAL + "book.sql", "REBOOK_NOT_ALLOWED")
def rebook_to_an_inactive_exam(c: Ctx) -> Call:
    return rebook_call(c.book(c.student(sj=1), c.exam()), c.exam(day=9, is_active="false"))


@names(INTERNAL + "book.sql", "INVALID_EXAM_TYPE")
def admin_create_booking_of_a_type_without_credit_rule(c: Ctx) -> Call:
    student, exam = c.student(), c.exam(mock_type="Oral Boards")
    return lambda conn: rpc(conn, "admin_create_booking", p_student_id=student,
                            p_email=email(student), p_mock_exam_id=exam,
                            p_idempotency_key=f"admin-{uuid.uuid4()}", p_actor="test",
                            p_attending_location="mississauga")


@names(INTERNAL + "book.sql", "INVALID_ARGUMENT")
def create_booking_atomic_paid_with_another_types_credit(c: Ctx) -> Call:
    return atomic_call(c, p_credit_field="cs_credits")


@names(INTERNAL + "book.sql", "INVALID_ARGUMENT")
def create_booking_atomic_with_another_token(c: Ctx) -> Call:
    return atomic_call(c, p_token_used="Clinical Skills Token")


@names(INTERNAL + "book.sql", "INSUFFICIENT_CREDITS", says="has no sj_credits left")
def create_booking_atomic_without_credit(c: Ctx) -> Call:
    """(Without its check the spend refuses it too, naming a change below zero.)"""
    student = c.student()
    return atomic_call(c, p_student_id=student, p_student_email=email(student))


@names(INTERNAL + "check_exam_for_student.sql", "INVALID_ARGUMENT")
def create_booking_without_a_location(c: Ctx) -> Call:
    return booking_call(c.student(sj=1), c.exam(), p_attending_location=None)


@names(INTERNAL + "check_exam_for_student.sql", "INVALID_ARGUMENT")
def clinical_skills_without_a_hand(c: Ctx) -> Call:
    return booking_call(c.student(cs=1), c.exam(mock_type="Clinical Skills"))


@names(INTERNAL + "check_prerequisite_exams.sql", "EXAM_NOT_FOUND")
def set_exam_prerequisites_to_no_exam(c: Ctx) -> Call:
    exam = c.exam()
    return lambda conn: rpc(conn, "set_exam_prerequisites", p_exam_id=exam,
                            p_prerequisite_ids=["NO-EXAM-PREREQ"])


@names(INTERNAL + "claim_idempotent_call.sql", "IDEMPOTENCY_KEY_REUSED")
def adjust_credits_again_with_another_delta(c: Ctx) -> Call:
    student, key = c.student(), f"adjust-{uuid.uuid4()}"

    def adjust(delta: int) -> Call:
        return lambda conn: rpc(conn, "adjust_credits", p_student_id=student,
                                p_credit_field="sj_credits", p_delta=delta, p_reason="r",
                                p_actor="test", p_idempotency_key=key)
    adjust(1)(c.db)
    return adjust(2)


@names(INTERNAL + "claim_idempotent_call.sql", "IDEMPOTENCY_KEY_REUSED")
def adjust_credits_with_a_bookings_key(c: Ctx) -> Call:
    student, key = c.student(sj=1), f"shared-{uuid.uuid4()}"
    c.book(student, c.exam(), key)
    return lambda conn: rpc(conn, "adjust_credits", p_student_id=student,
                            p_credit_field="sj_credits", p_delta=1, p_reason="r",
                            p_actor="test", p_idempotency_key=key)


@names(INTERNAL + "claim_idempotency_key.sql", "IDEMPOTENCY_KEY_REUSED")
def create_booking_with_an_adjustments_key(c: Ctx) -> Call:
    student, key = c.student(sj=1), f"shared-{uuid.uuid4()}"
    rpc(c.db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits", p_delta=1,
        p_reason="r", p_actor="test", p_idempotency_key=key)
    return booking_call(student, c.exam(), key)


@names(INTERNAL + "insert_booking.sql", "INVALID_ARGUMENT")
def create_booking_with_a_code_of_digits_only(c: Ctx) -> Call:
    return booking_call(c.student(sj=1), c.exam(), p_booking_id="12345")


@names(INTERNAL + "insert_booking.sql", "INVALID_ARGUMENT")
def create_booking_with_anothers_code(c: Ctx) -> Call:
    taken = c.book(c.student(sj=1), c.exam())
    return booking_call(c.student(sj=1), c.exam(), p_booking_id=taken["booking_id"])


@names(INTERNAL + "validate_booking_args.sql", "INVALID_ARGUMENT")
def create_booking_in_atlantis(c: Ctx) -> Call:
    return booking_call(c.student(sj=1), c.exam(), p_attending_location="atlantis")


@names(INTERNAL + "requeue_for_push.sql", "EXAM_NOT_FOUND")
def requeue_for_push_of_no_exam(c: Ctx) -> Call:
    return sql_call("SELECT mockbook_internal.requeue_for_push(NULL, 'NO-EXAM-REQUEUE')")


@names(INTERNAL + "lock_contact.sql", "CONTACT_NOT_FOUND")
def relink_contact_of_a_contact_nobody_has(c: Ctx) -> Call:
    return sql_call("SELECT mockbook_internal.relink_contact(%s, '1')", uuid.uuid4())


@names(INTERNAL + "lock_exam.sql", "EXAM_NOT_FOUND")
def set_exam_capacity_of_no_exam(c: Ctx) -> Call:
    return lambda conn: rpc(conn, "set_exam_capacity", p_mock_exam_id="NO-EXAM-CAPACITY",
                            p_capacity=5)


@names(INTERNAL + "insert_pulled_contact.sql", "INVALID_ARGUMENT")
def pulled_new_contact_without_a_student_id(c: Ctx) -> Call:
    hubspot_id = f"C-NEW-{uuid.uuid4().hex[:8]}"
    item = {"id": hubspot_id, "properties": {"email": f"{hubspot_id.lower()}@example.com"}}
    return sql_call("SELECT mockbook_internal.apply_pulled_contact(%s, 'test', true)",
                    Jsonb(item))


@names(INTERNAL + "rule_max_active_per_week.sql", "BOOKING_LIMIT_REACHED")
def a_second_booking_of_the_week(c: Ctx) -> Call:
    c.rule("max_active_per_week", 1)
    student = c.student(sj=1, cs=1)
    c.book(student, c.exam(day=21))
    return booking_call(student, c.exam(mock_type="Clinical Skills", day=21),
                        p_dominant_hand="right")


EXAM_PROPS = {"mock_type": "Situational Judgment", "exam_date": "2031-03-03", "capacity": "5",
              "is_active": "true"}


@names(INTERNAL + "pulled_exam_values.sql", "INVALID_ARGUMENT")
def pulled_exam_values_of_an_otherwise_good_exam_of_an_unknown_type(c: Ctx) -> Call:
    return sql_call("SELECT mockbook_internal.pulled_exam_values(%s)",
                    Jsonb({**EXAM_PROPS, "mock_type": "Oral Boards"}))


@names(INTERNAL + "apply_pulled_records.sql", "INVALID_ARGUMENT")
def pulled_good_exam_without_an_id(c: Ctx) -> Call:
    return pulled_records("exams", [{"properties": EXAM_PROPS}])


@names(INTERNAL + "apply_pulled_records.sql", "INVALID_ARGUMENT", notes=True)
def pulled_good_exam_with_an_unknown_list_of_numbers(c: Ctx) -> Call:
    return pulled_records("exams", [{"id": f"E-P{uuid.uuid4().hex[:8]}",
                                     "properties": EXAM_PROPS, "unknown": [1]}])


@names(INTERNAL + "apply_pulled_booking.sql", "INVALID_ARGUMENT")
def pulled_full_booking_whose_code_is_another_hubspot_booking(c: Ctx) -> Call:
    student, exam = c.student(sj=1), c.exam()
    booking = c.book(student, exam)
    c.db.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = %s WHERE id = %s",
                 (f"HB-{uuid.uuid4().hex[:10]}", booking["id"]))
    return pulled_booking(c, booking_id=booking["booking_id"], associated_mock_exam=exam,
                          is_active="Active", student_id=student, email=email(student))


@names(INTERNAL + "business_timezone.sql", "INVALID_ARGUMENT", own_database=True)
def business_today_in_a_stored_zone_nobody_knows(c: Ctx) -> Call:
    c.db.execute(sql.SQL("ALTER DATABASE {} SET mockbook.business_timezone = 'Mars/Base'")
                 .format(sql.Identifier(c.db.info.dbname)))
    c.db.execute("SELECT mockbook_internal.stamp_business_timezone()")
    return lambda conn: rpc(conn, "business_today")


# --- who acts: a student's JWT ------------------------------------------------------------------

def claims_of(student: str) -> dict[str, Any]:
    """A student's session as Supabase signs it and PostgREST passes it on."""
    return {"role": "service_role", "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, student)),
            "email": email(student)}


@names(INTERNAL + "check_student_caller.sql", "FORBIDDEN", reaches="names no",
       says="A student's call passes p_student_id")
def a_students_jwt_cancelling_without_naming_the_student(c: Ctx) -> Call:
    """Without p_student_id a cancellation is the admin's (no deadline): a student's JWT may
    not take that path, even for their own booking; the hint says to name the student (without
    the check the next one answers FORBIDDEN too, naming no student and no way out)."""
    student = c.student(sj=1)
    booking = c.book(student, c.exam())
    return lambda conn: rpc(conn, "cancel_booking", p_booking_id=booking["booking_id"],
                            claims=claims_of(student))


@names(INTERNAL + "check_student_caller.sql", "FORBIDDEN", reaches="not student")
def a_students_jwt_booking_for_another(c: Ctx) -> Call:
    student, other, exam = c.student(sj=1), c.student(sj=1), c.exam()
    return lambda conn: rpc(conn, "create_booking", p_student_id=student, p_email=email(student),
                            p_mock_exam_id=exam, p_idempotency_key=f"err-{uuid.uuid4()}",
                            p_attending_location="mississauga", claims=claims_of(other))


@names(INTERNAL + "require_admin.sql", "FORBIDDEN")
def a_students_jwt_adjusting_their_own_credits(c: Ctx) -> Call:
    student = c.student()
    return lambda conn: rpc(conn, "adjust_credits", p_student_id=student,
                            p_credit_field="sj_credits", p_delta=5, p_reason="r", p_actor="test",
                            claims=claims_of(student))


@names(API + "set_business_timezone.sql", "FORBIDDEN", own_database=True)
def set_business_timezone_by_an_owner_who_does_not_own_the_database(c: Ctx) -> Call:
    """ALTER DATABASE needs the database's owner: the function handed to a role that owns
    nothing (this database is the scenario's own)."""
    role = sql.Identifier(f"mb_es_{uuid.uuid4().hex[:8]}")
    c.db.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
    c.db.execute(sql.SQL("GRANT USAGE ON SCHEMA hubspot_sync, mockbook_internal TO {}")
                 .format(role))
    c.db.execute(sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mockbook_internal TO {}")
                 .format(role))
    c.db.execute(sql.SQL("ALTER FUNCTION hubspot_sync.set_business_timezone(text, text)"
                         " OWNER TO {}").format(role))
    return lambda conn: rpc(conn, "set_business_timezone", p_zone="Europe/London",
                            p_actor="test")


# --- a lock held past mockbook.lock_timeout -----------------------------------------------------

def bounded_caller(c: Ctx) -> psycopg.Connection:
    """A connection whose lock waits end after 100 ms (mockbook.lock_timeout) and whose
    statements after 1 s: without its BUSY a held lock is waited for until the statement's
    end, an answer of its own."""
    caller = c.stack.enter_context(psycopg.connect(
        c.url, autocommit=True, options="-c statement_timeout=1s"))
    caller.execute("SET mockbook.lock_timeout = '100ms'")
    return caller


def holding(c: Ctx, query: str, *params: Any) -> None:
    """A second transaction that ran ``query`` and stays open until the call is answered."""
    holder = c.stack.enter_context(psycopg.connect(c.url))
    holder.execute(query, params)


def waiting(c: Ctx, call: Call) -> Call:
    caller = bounded_caller(c)
    return lambda _conn: call(caller)


LOCK = INTERNAL + "wait_for_lock.sql"


@names(LOCK, "BUSY", reaches="bookings'' tables")
def set_realtime_broadcasts_while_a_booking_writes(c: Ctx) -> Call:
    holding(c, "LOCK TABLE hubspot_sync.refresh_requests IN ROW EXCLUSIVE MODE")
    return waiting(c, lambda conn: rpc(conn, "set_realtime_broadcasts", p_enabled=False,
                                       p_actor="test"))


# A held row lock the call's own writes do not wait for (a weaker one, or a row it only locks
# to keep the lock order): without the BUSY the call goes on and succeeds.

@names(LOCK, "BUSY", reaches="Contact %s is busy")
def cancel_booking_unrefunded_while_its_contact_is_locked(c: Ctx) -> Call:
    student = c.student(sj=1)
    booking = c.book(student, c.exam())
    holding(c, "SELECT FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s"
               " FOR NO KEY UPDATE", student)
    return waiting(c, cancel_call(booking["booking_id"], p_refund=False))


@names(LOCK, "BUSY", reaches="Booking %s is busy")
def cancel_booking_while_its_key_is_read(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    holding(c, "SELECT FROM hubspot_sync.hubspot_bookings WHERE id = %s FOR KEY SHARE",
            booking["id"])
    return waiting(c, cancel_call(booking["booking_id"]))


@names(LOCK, "BUSY", reaches="Waitlist place %s is busy")
def leave_waitlist_while_its_place_is_read(c: Ctx) -> Call:
    exam, student = c.exam(capacity=1), c.student(sj=1)
    c.book(c.student(sj=1), exam)
    c.join(student, exam)
    holding(c, "SELECT FROM hubspot_sync.waitlist_entries WHERE student_id = %s FOR KEY SHARE",
            student)
    return waiting(c, lambda conn: rpc(conn, "leave_waitlist", p_student_id=student,
                                       p_mock_exam_id=exam))


@names(LOCK, "BUSY", reaches="Exam %s is busy")
def join_waitlist_while_the_exam_is_share_locked(c: Ctx) -> Call:
    exam, student = c.exam(capacity=1), c.student(sj=1)
    c.book(c.student(sj=1), exam)
    holding(c, "SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s FOR SHARE",
            exam)
    return waiting(c, lambda conn: rpc(conn, "join_waitlist", p_student_id=student,
                                       p_email=email(student), p_mock_exam_id=exam,
                                       p_attending_location="mississauga"))


@names(LOCK, "BUSY", reaches="same idempotency key")
def create_booking_while_its_key_is_in_use(c: Ctx) -> Call:
    key = f"held-{uuid.uuid4()}"
    holding(c, "SELECT pg_advisory_xact_lock(hashtextextended('mockbook:idem:' || %s, 0))", key)
    return waiting(c, booking_call(c.student(sj=1), c.exam(), key))


@names(LOCK, "BUSY", reaches="same caller")
def request_refresh_while_the_callers_last_one_runs(c: Ctx) -> Call:
    caller = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    claims = {"role": "service_role", "sub": str(uuid.uuid4()), "email": caller,
              "app_metadata": {"role": "admin"}}
    holding(c, "SELECT pg_advisory_xact_lock(hashtextextended('mockbook:refresh:admin:' || %s,"
               " 0))", caller)
    return waiting(c, lambda conn: rpc(conn, "request_refresh",
                                       p_mock_exam_id=f"E-REFRESH-{uuid.uuid4().hex[:6]}",
                                       claims=claims))


@names(LOCK, "BUSY", reaches="new time zone")
def set_business_timezone_while_an_exam_is_locked(c: Ctx) -> Call:
    exam = c.exam()
    zone = c.one("SELECT mockbook_internal.business_timezone()")  # the same: nothing moves
    holding(c, "SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s FOR UPDATE",
            exam)
    return waiting(c, lambda conn: rpc(conn, "set_business_timezone", p_zone=zone,
                                       p_actor="test"))


# --- a second writer commits while the call waits for its row ---------------------------------

def committed_once_waited(c: Ctx, holder: psycopg.Connection, call: Call) -> Call:
    """``call``, while ``holder``'s open transaction is committed as soon as the call waits for
    a lock (pg_stat_activity, polled by a third connection): the window between what the call
    read unlocked and the row it then locks, reproduced without a sleep."""
    def run(conn: psycopg.Connection) -> Any:
        pid = conn.info.backend_pid
        watcher = threading.Thread(target=commit_when_waiting, args=(c.url, holder, pid))
        watcher.start()
        try:
            return call(conn)
        finally:
            watcher.join()
    return run


def commit_when_waiting(url: str, holder: psycopg.Connection, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as watch:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not watch.execute(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                (pid,)).fetchone()[0]:
            time.sleep(0.005)
    holder.commit()


def changed_meanwhile(c: Ctx, call: Call, query: str, params: Any) -> Call:
    holder = c.stack.enter_context(psycopg.connect(c.url))
    holder.execute(query, params)
    return committed_once_waited(c, holder, call)


SEAT = INTERNAL + "take_seat.sql"
CHANGE_EXAM = "UPDATE hubspot_sync.hubspot_mock_exams SET {} WHERE hubspot_id = %s"


@names(SEAT, "EXAM_NOT_FOUND", writes_meanwhile=True)
def create_booking_of_an_exam_deleted_meanwhile(c: Ctx) -> Call:
    exam = c.exam()
    return changed_meanwhile(c, booking_call(c.student(sj=1), exam),
                             "DELETE FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s",
                             (exam,))


@names(SEAT, "EXAM_FULL", reaches="seats booked).", writes_meanwhile=True)
def create_booking_of_an_exam_made_smaller_meanwhile(c: Ctx) -> Call:
    exam = c.exam(capacity=2)
    c.book(c.student(sj=1), exam)
    return changed_meanwhile(c, booking_call(c.student(sj=1), exam),
                             CHANGE_EXAM.format("capacity = 1"), (exam,))


@names(SEAT, "EXAM_FULL", reaches="held for waitlist offers", writes_meanwhile=True)
def create_booking_of_an_exam_whose_seat_is_offered_meanwhile(c: Ctx) -> Call:
    exam, offered_to = c.exam(capacity=2), c.student(sj=1)
    c.book(c.student(sj=1), exam)
    return changed_meanwhile(
        c, booking_call(c.student(sj=1), exam),
        """WITH lock AS (SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %(exam)s
                         FOR NO KEY UPDATE)
           INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id,
                                                      attending_location, status,
                                                      offered_at, offer_expires_at)
           SELECT %(exam)s, c.student_id, c.id, 'mississauga', 'offered', now(),
                  now() + interval '1 hour'
           FROM hubspot_sync.hubspot_contact_credits AS c, (SELECT count(*) FROM lock) AS l
           WHERE c.student_id = %(student)s""", {"exam": exam, "student": offered_to})


@names(SEAT, "EXAM_NOT_ACTIVE", writes_meanwhile=True)
def create_booking_of_an_exam_closed_meanwhile(c: Ctx) -> Call:
    exam = c.exam()
    return changed_meanwhile(c, booking_call(c.student(sj=1), exam),
                             CHANGE_EXAM.format("is_active = 'false'"), (exam,))


@names(SEAT, "BUSY", reaches="was changed while", writes_meanwhile=True)
def create_booking_of_an_exam_moved_to_another_set_meanwhile(c: Ctx) -> Call:
    exam = c.exam()
    return changed_meanwhile(c, booking_call(c.student(sj=1), exam),
                             CHANGE_EXAM.format("mock_set = 'H'"), (exam,))


@names(INTERNAL + "cancel_locked_booking.sql", "BOOKING_NOT_FOUND", writes_meanwhile=True)
def cancel_booking_deleted_meanwhile(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    return changed_meanwhile(c, cancel_call(booking["booking_id"]),
                             "DELETE FROM hubspot_sync.hubspot_bookings WHERE id = %s",
                             (booking["id"],))


@names(INTERNAL + "book.sql", "BOOKING_NOT_FOUND", writes_meanwhile=True)
def rebook_of_a_booking_deleted_meanwhile(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    return changed_meanwhile(c, rebook_call(booking, c.exam(day=9)),
                             "DELETE FROM hubspot_sync.hubspot_bookings WHERE id = %s",
                             (booking["id"],))


# The same record written meanwhile by a writer that takes no lock of the call's: the call's insert
# waits on the second transaction's row in a unique index, and finds the violation once it commits.

@names(INTERNAL + "insert_booking.sql", "DUPLICATE_BOOKING", writes_meanwhile=True)
def create_booking_while_the_students_booking_moves_to_that_day(c: Ctx) -> Call:
    """(Without its check the insert draws another code for the same row, ten times.)"""
    student, exam = c.student(sj=2), c.exam(day=9)
    booking = c.book(student, c.exam())
    return changed_meanwhile(c, booking_call(student, exam),
                             "UPDATE hubspot_sync.hubspot_bookings AS b"
                             " SET exam_date = e.exam_date FROM hubspot_sync.hubspot_mock_exams"
                             " AS e WHERE b.id = %s AND e.hubspot_id = %s", (booking["id"], exam))


@names(INTERNAL + "book.sql", "IDEMPOTENCY_KEY_REUSED", writes_meanwhile=True,
       says="stored concurrently")
def rebook_while_its_key_is_given_to_another_booking(c: Ctx) -> Call:
    """(Without its check the key's claim, read again, refuses it as used for another request.)"""
    booking, key = c.book(c.student(sj=1), c.exam()), f"rb-{uuid.uuid4()}"
    other = c.book(c.student(sj=1), c.exam())
    return changed_meanwhile(
        c, lambda conn: rpc(conn, "rebook", p_booking_id=booking["booking_id"],
                            p_new_mock_exam_id=c.exam(day=9), p_idempotency_key=key),
        "UPDATE hubspot_sync.hubspot_bookings SET idempotency_key = %s WHERE id = %s",
        (key, other["id"]))


@names(INTERNAL + "insert_pulled_contact.sql", "BUSY", writes_meanwhile=True)
def pulled_new_contact_created_meanwhile(c: Ctx) -> Call:
    student = f"PULLED{uuid.uuid4().hex[:8].upper()}"
    item = {"id": f"C{student}", "properties": {"student_id": student, "email": email(student)}}
    return changed_meanwhile(
        c, sql_call("SELECT mockbook_internal.apply_pulled_contact(%s, 'test', true)",
                    Jsonb(item)),
        "SELECT tests.make_student(p_student_id := %s)", (student,))


@names(INTERNAL + "insert_pulled_exam.sql", "BUSY", writes_meanwhile=True)
def pulled_new_exam_created_meanwhile(c: Ctx) -> Call:
    exam = f"E-PULLED-{uuid.uuid4().hex[:8]}"
    return changed_meanwhile(
        c, sql_call("SELECT mockbook_internal.apply_pulled_exam(%s)",
                    Jsonb({"id": exam, "properties": EXAM_PROPS})),
        "SELECT tests.make_exam(p_hubspot_id := %s)", (exam,))


# --- two raises of one code, told apart by what the error says ----------------------------------

@names(API + "adjust_credits.sql", "CONTACT_NOT_FOUND", says="No student 'NOBODYADJUST1'")
def adjust_credits_of_nobody(c: Ctx) -> Call:
    return lambda conn: rpc(conn, "adjust_credits", p_student_id="NOBODYADJUST1",
                            p_credit_field="sj_credits", p_delta=1, p_reason="r",
                            p_actor="test")


@names(API + "cancel_booking.sql", "BOOKING_NOT_FOUND", says="No booking 'BK-NOPE-CANCEL'")
def cancel_booking_of_no_booking_names_it(c: Ctx) -> Call:
    return cancel_call("BK-NOPE-CANCEL")


NO_BOOKING = "00000000-0000-4000-8000-00000000e404"


@names(API + "cancel_booking_atomic.sql", "BOOKING_NOT_FOUND", says=f"No booking {NO_BOOKING}")
def cancel_booking_atomic_of_no_booking_names_it(c: Ctx) -> Call:
    return lambda conn: rpc(conn, "cancel_booking_atomic", p_booking_id=NO_BOOKING,
                            p_credit_field=None, p_restored_credit_value=None)


@names(API + "rebook.sql", "BOOKING_NOT_FOUND")
def a_students_jwt_rebooking_anothers_booking_with_its_key(c: Ctx) -> Call:
    """Another's booking is not there for a student's JWT, before the key could replay the
    move an admin made with it."""
    booking, exam, key = c.book(c.student(sj=1), c.exam()), c.exam(day=9), f"rb-{uuid.uuid4()}"
    rpc(c.db, "rebook", p_booking_id=booking["booking_id"], p_new_mock_exam_id=exam,
        p_idempotency_key=key)
    other = c.student(sj=1)
    return lambda conn: rpc(conn, "rebook", p_booking_id=booking["booking_id"],
                            p_new_mock_exam_id=exam, p_idempotency_key=key,
                            claims=claims_of(other))


@names(API + "set_booking_rule.sql", "INVALID_ARGUMENT", reaches="is not a scheduling rule",
       says="is not a scheduling rule")
def set_booking_rule_of_an_unknown_rule_lists_the_rules(c: Ctx) -> Call:
    """(Without its check the value's check refuses it too, naming a range, not the rules.
    Refused either way, nothing stored: the scenario needs no database of its own.)"""
    return api("set_booking_rule", p_rule="no_such_rule", p_value=1)(c)


@names(INTERNAL + "cancel_locked_booking.sql", "CONTACT_NOT_FOUND",
       says="has no contact to refund")
def cancel_booking_refunded_to_a_contact_that_is_gone(c: Ctx) -> Call:
    """A booking whose student no contact holds: nothing to refund to (without its check the
    refund refuses it too, naming no contact id)."""
    booking = c.book(c.student(sj=1), c.exam())
    c.db.execute("UPDATE hubspot_sync.hubspot_bookings SET student_id = %s WHERE id = %s",
                 (f"GONE{uuid.uuid4().hex[:8].upper()}", booking["id"]))
    return cancel_call(booking["booking_id"])


# --- an exam under way (the caller's clock moved into it) ------------------------------------

def at_the_start_of(c: Ctx, exam: str, call: Call) -> Call:
    """``call`` on a connection whose clock (mockbook.clock_offset) reads an hour after the
    exam's start: it has started and not ended."""
    caller = c.stack.enter_context(psycopg.connect(c.url, autocommit=True))
    caller.execute("SELECT set_config('mockbook.clock_offset', (e.exam_starts_at"
                   " + interval '1 hour' - now())::text, false)"
                   " FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %s", (exam,))
    return lambda _conn: call(caller)


@names(INTERNAL + "check_exam_for_student.sql", "EXAM_IN_PAST", says="started at")
def create_booking_of_an_exam_under_way(c: Ctx) -> Call:
    """(Without its check the exam is refused as one that took place.)"""
    exam = c.exam()
    return at_the_start_of(c, exam, booking_call(c.student(sj=1), exam))


@names(INTERNAL + "rule_booking_cutoff.sql", "BOOKING_CLOSED")
def create_booking_after_the_start_with_the_cutoff_on(c: Ctx) -> Call:
    """Booking after the start allowed, the cut-off at the start on: the cut-off refuses."""
    c.rule("allow_booking_after_start", True)
    c.rule("booking_cutoff", True)
    exam = c.exam()
    return at_the_start_of(c, exam, booking_call(c.student(sj=1), exam))


# --- a check that comes before a later one that would answer otherwise --------------------------

@names(INTERNAL + "check_exam_for_student.sql", "DUPLICATE_BOOKING")
def a_second_booking_of_the_day_with_no_credit_left(c: Ctx) -> Call:
    """The student's booking of the type and day is answered before the credit that would pay."""
    student = c.student(sj=1)
    c.book(student, c.exam(day=9))
    return booking_call(student, c.exam(day=9))


@names(INTERNAL + "check_exam_for_student.sql", "EXAM_FULL")
def a_full_exam_for_a_student_with_no_credit(c: Ctx) -> Call:
    """A full exam is answered before the credit that would pay (take_seat would find it full
    too, after the spend)."""
    exam = c.exam(capacity=1)
    c.book(c.student(sj=1), exam)
    return booking_call(c.student(), exam)


# --- running a scenario -------------------------------------------------------------------------

def candidates(site: Site) -> list[Scenario]:
    own = [s for s in NAMED if s.file == site.file and (s.code == site.code or
                                                        site.code not in DOCUMENTED_CODES)
           and (s.reaches is None or s.reaches in site.raise_text())]
    generic = SCENARIOS.get(site.code)
    if generic is not None:
        # the refresh limit counts the caller's requests of the last minute in the database
        own.append(Scenario(f"test_error_codes.{generic.__name__}", "", site.code, generic,
                            own_database=site.code == "REFRESH_LIMIT_REACHED"))
    return own


def answer(url: str, scenario: Scenario, *, check_data: bool = False) -> str:
    """What the scenario's call answers: the code and SQLSTATE of its error, or how else it
    ended."""
    # a mutant that waits or loops for ever is stopped, and that is an answer of its own
    with psycopg.connect(url, autocommit=True, options="-c statement_timeout=20s") as db, \
            ExitStack() as stack:
        ctx = Ctx(db, url, stack)
        try:
            call = scenario.make(ctx)
            before = table_digests(db) if check_data else None
            try:
                call(db)
            except RpcError as err:
                stack.close()
                got = f"{err.code} {err.sqlstate}"
                if scenario.says is not None:
                    said = f"{err.detail or ''} {err.hint or ''}"
                    got += " saying so" if scenario.says in said else f" saying {said!r}"
                if before is not None and table_digests(db) != before:
                    return f"{got}, and changed data"
                return got
            except psycopg.Error as exc:
                return f"{type(exc).__name__} {exc.sqlstate}"
            return "no error"
        finally:
            stack.close()
            for undo in ctx.after:
                undo()


def expected(scenario: Scenario) -> str:
    says = "" if scenario.says is None else " saying so"
    return f"{scenario.code} {DOCUMENTED_CODES[scenario.code]}{says}"


def apply(url: str, text: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(APPLY_PREAMBLE)
        conn.execute(text)


# --- the tests ---------------------------------------------------------------------------------

def test_every_site_has_one_id_and_every_listed_one_exists() -> None:
    ids = [s.id for s in SITES]
    assert len(ids) == len(set(ids))
    listed = tomllib.loads(EQUIVALENT.read_text())
    # a check that matters gets a scenario, never a listing: only the equivalent are listed
    assert set(listed) <= {"equivalent"}, f"{EQUIVALENT.name} lists {sorted(listed)}"
    entries = [e["id"] for e in listed.get("equivalent", [])]
    assert len(entries) == len(set(entries)), "a site listed twice"
    gone = sorted(set(equivalents()) - set(ids))
    assert not gone, f"listed in {EQUIVALENT.name} but no such site any more: {gone}"
    assert len(SITES) > 150, "the sites are found"


def test_every_scenario_names_a_file_with_its_code() -> None:
    assert len({s.name for s in NAMED}) == len(NAMED)
    for s in NAMED:
        assert s.code in DOCUMENTED_CODES, s.name
        assert any(site.file == s.file for site in SITES), f"{s.name}: no site in {s.file}"
        if s.reaches is not None:
            reached = [site for site in SITES if site.file == s.file
                       and (site.code == s.code or site.code not in DOCUMENTED_CODES)
                       and s.reaches in site.raise_text()]
            assert len(reached) == 1, f"{s.name}: {s.reaches!r} names {len(reached)} raises"


@pytest.fixture(scope="module")
def valid(database_url: str) -> dict[str, str]:
    """Each scenario's answer on the unmutated code, read once."""
    return {}


@pytest.mark.parametrize("scenario", NAMED, ids=[s.name for s in NAMED])
def test_the_scenario_answers_its_code_and_changes_nothing(
        scenario: Scenario, database_url: str, fresh_database: Any) -> None:
    url = fresh_database("error-scenario", migrated=True) if scenario.own_database else database_url
    check_data = not (scenario.notes or scenario.writes_meanwhile)
    assert answer(url, scenario, check_data=check_data) == expected(scenario)


@pytest.mark.parametrize("site", SITES, ids=[s.id for s in SITES])
def test_the_check_removed_is_noticed(site: Site, database_url: str, fresh_database: Any,
                                      valid: dict[str, str]) -> None:
    reason = equivalents().get(site.id)
    tried = []
    for scenario in candidates(site):
        url = (fresh_database("error-site", migrated=True) if scenario.own_database
               else database_url)
        if scenario.own_database or scenario.name not in valid:
            valid[scenario.name] = answer(url, scenario)
        assert valid[scenario.name] == expected(scenario), (
            f"{scenario.name} answers {valid[scenario.name]} on the unmutated code")
        apply(url, site.mutated())
        try:
            got = answer(url, scenario)
        finally:
            apply(url, (DB / site.file).read_text())
        if got != valid[scenario.name]:
            assert reason is None, (
                f"{site.id} is listed in {EQUIVALENT.name}, but {scenario.name} notices its"
                f" removal ({got}): take it off the list")
            return
        tried.append(f"{scenario.name}: still {got}")
    assert reason is not None, (
        f"db/{site.file}:{site.line}: with its {site.code} check removed no scenario answers"
        f" otherwise ({'; '.join(tried) or 'no scenario names it'})")
