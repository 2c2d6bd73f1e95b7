"""The argument checks of every API function at their limits, enumerated from the catalog where
a check applies to many functions (mockbook_internal.check_text_arg and the checks built on it):
the largest value an argument takes and the one past it, refused as INVALID_ARGUMENT naming the
argument and changing nothing (docs/rpc.md, "Errors"). A new function with such an argument fails
the enumeration until it is listed here.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from invariants import table_digests
from postgrest import RpcError
from test_who_acts import CASES, call, catalog_cache, scenario


def actor_functions(db: psycopg.Connection) -> list[str]:
    return sorted(fn for fn, (_, args) in catalog_cache(db).items() if "p_actor" in args)


def test_every_function_with_an_actor_is_checked_here(db: psycopg.Connection) -> None:
    assert actor_functions(db) == sorted(ACTOR_FUNCTIONS)


ACTOR_FUNCTIONS = ("adjust_credits", "admin_create_booking", "cancel_booking", "cancel_bookings",
                   "complete_past_bookings", "mark_attendance", "process_waitlist", "rebook",
                   "set_booking_rule", "set_business_timezone", "set_realtime_broadcasts")


@pytest.mark.parametrize("fn", ACTOR_FUNCTIONS)
def test_p_actor_takes_255_characters_and_refuses_256(db: psycopg.Connection, fn: str) -> None:
    """docs/rpc.md: `p_actor` (≤ 255) in every function that takes one."""
    s = scenario(db)
    args = CASES[fn].args(db, s)
    with pytest.raises(RpcError) as refused:
        call(db, fn, None, {**args, "p_actor": "a" * 256})
    assert refused.value.code == "INVALID_ARGUMENT" and "p_actor" in refused.value.detail
    assert call(db, fn, None, {**CASES[fn].args(db, s), "p_actor": "a" * 255}) is not None


def student_functions(db: psycopg.Connection) -> list[str]:
    return sorted(fn for fn, (_, args) in catalog_cache(db).items() if "p_student_id" in args)


# the functions that take a student id (at most 64 characters); the two lookups take any and
# find nobody
STUDENT_ID_LIMITED = ("accept_offer", "adjust_credits", "admin_create_booking", "cancel_booking",
                      "create_booking", "create_booking_atomic", "create_booking_atomic_v1",
                      "get_credit_summary", "join_waitlist", "leave_waitlist",
                      "list_contact_bookings", "request_refresh")


STUDENT_ID_LOOKUPS = ("get_contact_credits", "list_available_exams")


def refused_naming(db: psycopg.Connection, fn: str, s: Any, field: str, value: str,
                   limit: int) -> bool:
    """Whether ``fn``, called with the scenario's arguments and ``field`` set to ``value``, is
    refused as INVALID_ARGUMENT naming the field and its limit (any other answer: False)."""
    try:
        call(db, fn, None, {**CASES[fn].args(db, s), field: value})
    except RpcError as exc:
        return exc.code == "INVALID_ARGUMENT" and field in (exc.detail or "") \
            and str(limit) in exc.detail
    return False


@pytest.mark.parametrize("fn", STUDENT_ID_LIMITED)
def test_a_student_id_takes_64_characters_and_refuses_65(db: psycopg.Connection,
                                                         fn: str) -> None:
    s = scenario(db)
    for length, refused in ((64, False), (65, True)):
        assert refused_naming(db, fn, s, "p_student_id", "A" * length, 64) == refused, (fn, length)


def test_every_function_with_a_student_id_is_checked_at_its_length(db: psycopg.Connection,
                                                                   ) -> None:
    assert student_functions(db) == sorted(STUDENT_ID_LIMITED + STUDENT_ID_LOOKUPS)


def email_functions(db: psycopg.Connection) -> list[str]:
    return sorted(fn for fn, (_, args) in catalog_cache(db).items()
                  if {"p_email", "p_student_email"} & set(args))


# the functions that check an email's form (at most 254 characters, RFC 5321's path limit);
# get_contact_credits only looks one up and finds nobody
EMAIL_LIMITED = ("accept_offer", "admin_create_booking", "create_booking",
                 "create_booking_atomic", "create_booking_atomic_v1", "get_credit_summary",
                 "join_waitlist")


EMAIL_LOOKUPS = ("get_contact_credits",)


def test_every_function_with_an_email_is_checked_at_its_length(db: psycopg.Connection) -> None:
    assert email_functions(db) == sorted(EMAIL_LIMITED + EMAIL_LOOKUPS)


@pytest.mark.parametrize("fn", EMAIL_LIMITED)
def test_an_email_takes_254_characters_and_refuses_255(db: psycopg.Connection, fn: str) -> None:
    """A 254-character address passes the argument check (it names no student here, so another
    error answers); one of 255 is refused naming the argument and the limit."""
    s = scenario(db)
    args = CASES[fn].args(db, s)
    field = "p_email" if "p_email" in args else "p_student_email"
    for length, refused in ((254, False), (255, True)):
        email = "a" * (length - len("@example.com")) + "@example.com"
        assert refused_naming(db, fn, s, field, email, 254) == refused, (fn, length)


# an exam id of the largest length, in a call otherwise accepted: (argument, the other arguments)
AT_LIMIT = {
    "rebook": ("p_new_mock_exam_id", lambda s: {"p_booking_id": s.booking,
                                                "p_idempotency_key": f"edge-{uuid.uuid4()}"}),
    "set_exam_capacity": ("p_mock_exam_id", lambda s: {"p_capacity": 5}),
}


@pytest.mark.parametrize("fn", sorted(AT_LIMIT))
def test_an_exam_id_of_255_characters_is_looked_up_not_refused(db: psycopg.Connection,
                                                               fn: str) -> None:
    """docs/rpc.md, Errors: a text argument takes 255 characters; an exam id that long is looked
    up as any other (one past it is refused by name: the enumerated test below)."""
    arg, rest = AT_LIMIT[fn]
    with pytest.raises(RpcError) as refused:
        call(db, fn, None, {**rest(scenario(db)), arg: "X" * 255})
    assert refused.value.code == "EXAM_NOT_FOUND"


def test_a_rule_name_of_64_characters_is_an_unknown_rule_65_too_long(
        db: psycopg.Connection) -> None:
    for length, words in ((64, "is not a scheduling rule"), (65, "64")):
        with pytest.raises(RpcError) as refused:
            call(db, "set_booking_rule", None, {"p_rule": "r" * length, "p_value": True,
                                                "p_actor": "test"})
        assert refused.value.code == "INVALID_ARGUMENT" and words in refused.value.detail, (
            length, refused.value.detail)


def test_a_pattern_without_its_words_is_named_well_formed(db: psycopg.Connection) -> None:
    """check_text_arg's documented default: a value off a pattern given without the words for
    it is refused as not well-formed (every API caller gives its words; this is the helper's
    own contract)."""
    with pytest.raises(psycopg.Error) as refused:
        db.execute("SELECT mockbook_internal.check_text_arg('p_x', 'a b', true, 10, '^[a-z]+$')")
    db.rollback()
    assert (refused.value.diag.message_primary, refused.value.diag.message_detail) == \
        ("INVALID_ARGUMENT", "p_x must be well-formed.")


# a text argument's largest accepted length, where it is not 255 (docs/rpc.md, "Errors")
TEXT_LIMITS = {"p_reason": 1000, "p_student_id": 64, "p_email": 254, "p_student_email": 254,
               "p_dominant_hand": 32}


# functions that write nothing: a name past its limit is one nobody holds (not found, an empty
# list), and the call changes nothing either way. increment_exam_bookings is production's
# counter, kept for its callers, and changes nothing (docs/rpc.md).
NO_WRITES = ("increment_exam_bookings",)


def text_arguments(db: psycopg.Connection) -> list[tuple[str, str]]:
    """(function, argument) of every text argument of the API functions that write (VOLATILE),
    from the catalog."""
    rows = db.execute(
        "SELECT p.proname, a.name FROM pg_catalog.pg_proc AS p"
        " CROSS JOIN LATERAL unnest(p.proargnames, p.proargtypes::oid[]) WITH ORDINALITY"
        "     AS a(name, type, n)"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.prokind = 'f'"
        "   AND p.provolatile = 'v' AND a.type = 'text'::regtype AND a.n <= p.pronargs"
        " ORDER BY 1, 2").fetchall()
    return [(fn, arg) for fn, arg in rows if fn not in NO_WRITES]


def test_every_text_argument_one_past_its_limit_is_refused_by_name(
        db: psycopg.Connection) -> None:
    """Enumerated from the catalog: every text argument of every API function that writes, one
    character past its limit (255 unless docs/rpc.md says otherwise), is INVALID_ARGUMENT naming
    it, and the call changes nothing."""
    failures = []
    arguments = text_arguments(db)
    assert {fn for fn, _ in arguments} >= {"create_booking", "rebook", "set_exam_capacity",
                                          "set_exam_prerequisites", "adjust_credits"}
    for fn, arg in arguments:
        s = scenario(db)
        args = {**CASES[fn].args(db, s), arg: "X" * (TEXT_LIMITS.get(arg, 255) + 1)}
        before = table_digests(db)
        try:
            call(db, fn, None, args)
            failures.append(f"{fn}({arg}): accepted")
        except RpcError as refused:
            if refused.code != "INVALID_ARGUMENT" or arg not in (refused.detail or ""):
                failures.append(f"{fn}({arg}): {refused.code} {refused.detail}")
        if table_digests(db) != before:
            failures.append(f"{fn}({arg}): changed the tables")
    assert failures == [], "\n".join(failures)
