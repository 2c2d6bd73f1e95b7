"""create_booking's common case, a path inside the booking pipeline (mockbook_internal.book),
against the pipeline's full path: the plain call is booked by one read and the shared writes,
every other case takes the full path before anything is written, both write the same rows and
answer the same result, and racing calls of one student and one key keep the invariants.

Which of the two booked a call is read from the transaction's own function counters
(pg_stat_get_xact_function_calls with track_functions on for the transaction), so the tests
see the path taken, not a timing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from psycopg.rows import dict_row
from test_concurrency import (
    BusyRetries,
    book,
    email,
    make_exams,
    make_students,
    retrying_busy,
    run_concurrently,
    scalar,
)

# the full path takes the key through this helper first, and it returns before any error of the
# call (a function raising an error is not counted): the common case never calls it
PIPELINE = "mockbook_internal.lock_idempotency_key(text)"


def call_counting(db: psycopg.Connection, student: str, exam: str, key: str,
                  counted: str = PIPELINE, **extra: Any) -> tuple[Any, str | None, int]:
    """create_booking in a transaction rolled back after: (result, error code, calls of
    `counted`, by default the pipeline's)."""
    args = {"p_attending_location": "mississauga", **extra}
    named = ", ".join(f"{k} := %({k})s" for k in args)
    with db.transaction(force_rollback=True):
        db.execute("SET LOCAL track_functions = 'all'")
        # the counter may still hold an earlier transaction's calls (flushed at most once a
        # second): the difference is this call's
        before = scalar(db, "SELECT coalesce(pg_stat_get_xact_function_calls("
                            "%s::regprocedure), 0)", (counted,))
        db.execute("SAVEPOINT call")
        result, code = None, None
        try:
            result = scalar(db, "SELECT hubspot_sync.create_booking(p_student_id := %(s)s,"
                                " p_email := %(e)s, p_mock_exam_id := %(x)s,"
                                f" p_idempotency_key := %(k)s, {named})",
                            {"s": student, "e": email(student), "x": exam, "k": key, **args})
        except psycopg.Error as exc:
            code = exc.diag.message_primary
            db.execute("ROLLBACK TO SAVEPOINT call")
        calls = scalar(db, "SELECT coalesce(pg_stat_get_xact_function_calls(%s::regprocedure), 0)",
                       (counted,)) - before
    return result, code, calls


def test_a_plain_booking_is_the_common_case(db: psycopg.Connection) -> None:
    (exam,) = make_exams(db, 1)
    (student,) = make_students(db, 1, p_sj=2)
    result, code, calls = call_counting(db, student, exam, str(uuid.uuid4()))
    assert code is None and result["success"] and not result["idempotent_replay"]
    assert calls == 0, "a plain booking went through the pipeline"


def test_a_key_stored_by_another_keyed_call_leaves_a_plain_booking_the_common_case(
        db: psycopg.Connection) -> None:
    """The common case reads whether its own key served another keyed call, not whether any
    did: with another call's result stored, a plain booking is still the common case."""
    (exam,) = make_exams(db, 1)
    student, other = make_students(db, 2, p_sj=2)
    rpc(db, "adjust_credits", p_student_id=other, p_credit_field="sj_credits", p_delta=1,
        p_reason="goodwill", p_actor="ops", p_idempotency_key=str(uuid.uuid4()))
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.idempotency_results") > 0
    result, code, calls = call_counting(db, student, exam, str(uuid.uuid4()))
    assert code is None and result["success"]
    assert calls == 0, "a plain booking went through the pipeline"


DAY = 40  # the day (from today) of the exam each case books


def _exam_with_prerequisite(db: psycopg.Connection, student: str, exam: str) -> dict[str, Any]:
    (later,) = make_exams(db, 1, first_day=DAY + 20)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET prerequisite_exam_ids = ARRAY[%s]"
               " WHERE hubspot_id = %s", (exam, later))
    return {"exam": later}


def _full(db: psycopg.Connection, student: str, exam: str) -> dict[str, Any]:
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = capacity"
               " WHERE hubspot_id = %s", (exam,))
    return {}


def _closed(db: psycopg.Connection, student: str, exam: str) -> dict[str, Any]:
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET is_active = 'false'"
               " WHERE hubspot_id = %s", (exam,))
    return {}


def _same_type_that_day(db: psycopg.Connection, student: str, exam: str) -> dict[str, Any]:
    (other,) = make_exams(db, 1, first_day=DAY)
    book(student, other)(db)
    return {}


def _completed_that_day(db: psycopg.Connection, student: str, exam: str) -> dict[str, Any]:
    (other,) = make_exams(db, 1, first_day=DAY)
    book(student, other)(db)
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET is_active = 'Completed'"
               " WHERE student_id = %s AND associated_mock_exam = %s", (student, other))
    return {}


def _legacy_duplicate_that_day(db: psycopg.Connection, student: str,
                               exam: str) -> dict[str, Any]:
    # a booking the adoption flagged as the old app's duplicate (its pair cancelled since): out
    # of the one-per-type-and-day unique index, still the student's booking of that type and day
    (other,) = make_exams(db, 1, first_day=DAY)
    book(student, other)(db)
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET legacy_issue = 'duplicate of LEGACY-1'"
               " WHERE student_id = %s AND associated_mock_exam = %s", (student, other))
    return {}


def _open_place(db: psycopg.Connection, student: str, exam: str) -> dict[str, Any]:
    (elsewhere,) = make_exams(db, 1, first_day=DAY - 10)
    db.execute("INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id,"
               " attending_location) SELECT %s, c.student_id, c.id, 'mississauga'"
               " FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = %s",
               (elsewhere, student))
    return {}


# every case the common case leaves to the pipeline: setup(db, student, exam) -> changes of the
# call's arguments, and the answer expected (None: booked)
OTHER_CASES: dict[str, tuple[Callable[[psycopg.Connection, str, str], dict[str, Any]],
                             str | None]] = {
    "the caller's booking code": (
        lambda db, s, x: {"p_booking_id": f"CODE-{uuid.uuid4().hex[:8]}"}, None),
    "an unknown student": (lambda db, s, x: {"student": "NOSUCH1"}, "CONTACT_NOT_FOUND"),
    "an unknown exam": (lambda db, s, x: {"exam": "no-such-exam"}, "EXAM_NOT_FOUND"),
    "an open waitlist place elsewhere": (_open_place, None),
    "a key used for another request": (lambda db, s, x: {"key": f"used-{s}"},
                                       "IDEMPOTENCY_KEY_REUSED"),
    "a replay": (lambda db, s, x: {"key": book(s, x, f"replayed-{s}")(db) and f"replayed-{s}"},
                 None),
}

# steps 4-8, the exam's checks: the common case takes them from check_exam_for_student, the one
# place the pipeline takes them from, so each refusal is that function's, without the pipeline
EXAM_CHECK_CASES: dict[str, tuple[Callable[[psycopg.Connection, str, str], dict[str, Any]],
                                  str]] = {
    "an exam with a prerequisite": (_exam_with_prerequisite, "PREREQUISITE_NOT_MET"),
    "a full exam": (_full, "EXAM_FULL"),
    "a closed exam": (_closed, "EXAM_NOT_ACTIVE"),
    "no location": (lambda db, s, x: {"p_attending_location": None}, "INVALID_ARGUMENT"),
    "the same type booked that day": (_same_type_that_day, "DUPLICATE_BOOKING"),
    "a completed booking of the type that day": (_completed_that_day, "DUPLICATE_BOOKING"),
    "a flagged legacy duplicate that day": (_legacy_duplicate_that_day, "DUPLICATE_BOOKING"),
}


def _setup_case(db: psycopg.Connection, setup: Callable[[psycopg.Connection, str, str],
                                                         dict[str, Any]],
                ) -> tuple[str, str, str, dict[str, Any]]:
    (exam,) = make_exams(db, 1, first_day=DAY)
    (student,) = make_students(db, 1, p_sj=3)
    book(student, make_exams(db, 1, first_day=DAY + 10)[0], key=f"used-{student}")(db)
    args = setup(db, student, exam)
    exam, student = args.pop("exam", exam), args.pop("student", student)
    return student, exam, args.pop("key", str(uuid.uuid4())), args


@pytest.mark.parametrize("case", list(OTHER_CASES))
def test_every_other_case_goes_to_the_pipeline(db: psycopg.Connection, case: str) -> None:
    setup, expected = OTHER_CASES[case]
    student, exam, key, args = _setup_case(db, setup)
    result, code, calls = call_counting(db, student, exam, key, **args)
    assert calls == 1, f"{case}: the pipeline was not called ({calls})"
    assert code == expected, (case, code, result)


EXAM_CHECK = ("mockbook_internal.check_exam_for_student(hubspot_sync.hubspot_mock_exams,text,"
              "text,text,boolean,boolean,uuid,timestamptz,text)")


@pytest.mark.parametrize("case", list(EXAM_CHECK_CASES))
def test_the_common_case_refuses_with_the_exams_one_check(db: psycopg.Connection,
                                                          case: str) -> None:
    """An exam check that fails is refused by the common case itself, with the error
    check_exam_for_student raises (the one the pipeline raises), before anything is written."""
    setup, expected = EXAM_CHECK_CASES[case]
    student, exam, key, args = _setup_case(db, setup)
    result, code, calls = call_counting(db, student, exam, key, **args)
    assert (code, calls) == (expected, 0), (case, code, result)
    direct = _first_error(db, [(
        "SELECT mockbook_internal.check_exam_for_student(e, %(s)s, %(l)s, 'left')"
        " FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %(x)s",
        {"s": student, "x": exam,
         "l": args.get("p_attending_location", "mississauga")})])
    assert direct is not None and direct[0] == code, (case, direct)


def test_a_plain_booking_takes_the_exams_checks_from_the_one_place(
        db: psycopg.Connection) -> None:
    """A check added to check_exam_for_student binds plain bookings too: the common case calls
    it once, as the pipeline does."""
    (exam,) = make_exams(db, 1, first_day=DAY)
    (student,) = make_students(db, 1, p_sj=2)
    result, code, checks = call_counting(db, student, exam, str(uuid.uuid4()), counted=EXAM_CHECK)
    _, _, pipeline = call_counting(db, student, exam, str(uuid.uuid4()))
    assert code is None and result["success"]
    assert (checks, pipeline) == (1, 0)


def test_no_credit_is_refused_by_the_common_case_with_the_pipelines_error(
        db: psycopg.Connection) -> None:
    """A student without a credit passes every check before the credit's: the common case
    refuses them itself, with pick_credit's error, as the pipeline does."""
    (exam,) = make_exams(db, 1)
    (student,) = make_students(db, 1, p_sj=0)
    _, code, calls = call_counting(db, student, exam, str(uuid.uuid4()))
    assert (code, calls) == ("INSUFFICIENT_CREDITS", 0)


# (mock type, the student's credits) -> the credit field pick_credit chooses, or its error
CREDIT_CASES: dict[tuple[str, str], str] = {
    ("Situational Judgment", "p_sj=1, p_shared=1"): "sj_credits",
    ("Situational Judgment", "p_shared=1"): "shared_mock_credits",
    ("Situational Judgment", "p_cs=1, p_sjmini=1"): "INSUFFICIENT_CREDITS",
    ("Clinical Skills", "p_cs=1, p_shared=1"): "cs_credits",
    ("Clinical Skills", "p_shared=2"): "shared_mock_credits",
    ("Mini-mock", "p_sjmini=1"): "sjmini_credits",
    ("Mini-mock", "p_shared=1"): "INSUFFICIENT_CREDITS",
    ("Mock Discussion", "p_md=1"): "mock_discussion_token",
    ("Mock Discussion", "p_sj=3"): "INSUFFICIENT_CREDITS",
}


@pytest.mark.parametrize("case", list(CREDIT_CASES), ids=lambda c: f"{c[0]}:{c[1]}")
def test_the_common_case_pays_with_the_credit_pick_credit_picks(db: psycopg.Connection,
                                                                case: tuple[str, str]) -> None:
    """The common case picks the credit in its one statement: the field and token that
    mockbook_internal.pick_credit picks for the same student and type, or pick_credit's error,
    without the pipeline."""
    mock_type, credits = case
    (exam,) = make_exams(db, 1, mock_type=mock_type, first_day=DAY)
    (student,) = make_students(db, 1, **{k: int(v) for k, v in
                                          (kv.split("=") for kv in credits.split(", "))})
    result, code, calls = call_counting(db, student, exam, str(uuid.uuid4()),
                                        p_dominant_hand="left")
    assert calls == 0, case
    picked = _first_error(db, [(
        "SELECT mockbook_internal.pick_credit(c, %(t)s) FROM hubspot_sync.hubspot_contact_credits"
        " AS c WHERE c.student_id = %(s)s", {"t": mock_type, "s": student})])
    if CREDIT_CASES[case] == "INSUFFICIENT_CREDITS":
        assert (code, picked[0] if picked else None) == ("INSUFFICIENT_CREDITS",) * 2, case
        return
    assert code is None, (case, code)
    token = scalar(db, "SELECT (mockbook_internal.pick_credit(c, %s)).token_used"
                       " FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = %s",
                   (mock_type, student))
    assert (result["credit_field"], result["token_used"]) == (CREDIT_CASES[case], token), case


RULES_CHECK = "mockbook_internal.check_booking_rules(hubspot_sync.hubspot_mock_exams,text,uuid)"

# (rule, value) -> the answer expected; the common case reads whether a scheduling rule is on
# and calls check_booking_rules only then. A value check_booking_rules reads as off but that is
# not one of the plain off values ('"yes"' for booking_cutoff) counts as on: it is checked
RULE_SETTINGS: dict[tuple[str, str], str | None] = {
    ("booking_cutoff", "true"): None,
    ("booking_cutoff", '"yes"'): None,
    ("time_conflict", "true"): None,
    ("min_notice_hours", "1"): None,
    ("min_notice_hours", "100000"): "BOOKING_CLOSED",
    ("max_active_per_type", "5"): None,
    ("max_active_per_type", "0"): "BOOKING_LIMIT_REACHED",
    ("max_active_per_week", "0"): "BOOKING_LIMIT_REACHED",
}


@pytest.mark.parametrize("setting", list(RULE_SETTINGS), ids=lambda s: f"{s[0]}={s[1]}")
def test_a_rule_that_is_on_is_checked_by_the_common_case(db: psycopg.Connection,
                                                         setting: tuple[str, str]) -> None:
    """With a rule on, the common case calls check_booking_rules (its answer, a rule's error or
    none, is the call's); the pipeline is not needed for it."""
    rule, value = setting
    (exam,) = make_exams(db, 1, first_day=DAY)
    (student,) = make_students(db, 1, p_sj=2)
    with db.transaction(force_rollback=True):
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s::jsonb WHERE rule = %s",
                   (value, rule))
        result, code, checks = call_counting(db, student, exam, str(uuid.uuid4()),
                                             counted=RULES_CHECK)
        _, _, pipeline = call_counting(db, student, exam, str(uuid.uuid4()))
    assert pipeline == 0, setting
    assert code == RULE_SETTINGS[setting], (setting, code, result)
    # a function that raised is not counted: the rule's own error shows the call
    assert checks == (1 if code is None else 0), setting


def test_with_every_rule_off_the_common_case_reads_no_rule_function(
        db: psycopg.Connection) -> None:
    """The installed rules are all off (and a rule the booking does not read may be set): the
    common case books without calling check_booking_rules."""
    (exam,) = make_exams(db, 1, first_day=DAY)
    (student,) = make_students(db, 1, p_sj=2)
    with db.transaction(force_rollback=True):
        db.execute("UPDATE hubspot_sync.booking_rules SET value = '5' WHERE rule ="
                   " 'cancel_deadline_hours'")
        result, code, checks = call_counting(db, student, exam, str(uuid.uuid4()),
                                             counted=RULES_CHECK)
    assert code is None and result["success"]
    assert checks == 0


# create_booking's arguments: a call that passes its one-expression check skips the checking
# functions, so every case here, well-formed or not, must get exactly their answer
BASE_ARGS = {"p_student_id": "NOSUCH9", "p_email": "nosuch9@example.com",
             "p_mock_exam_id": "no-such-exam", "p_idempotency_key": "k-1",
             "p_attending_location": "mississauga", "p_dominant_hand": None,
             "p_student_name": None, "p_mock_set": None, "p_booking_id": None}
ARGUMENT_CASES: list[dict[str, Any]] = [
    *({"p_student_id": v} for v in (None, "", " ", "abc", "A B", "A" * 64, "A" * 65, "\u00c91",
                                    "A1\n", "A1 ")),
    *({"p_email": v} for v in (None, "", "x", "a@b", "a@b.c", "a b@c.d", " a@b.c",
                               "x" * 246 + "@ex.com", "x" * 248 + "@ex.com", "a@b.c\t")),
    *({"p_mock_exam_id": v} for v in (None, "", "   ", "x" * 255, "x" * 256)),
    *({"p_idempotency_key": v} for v in (None, "", " ", "k" * 255, "k" * 256,
                                         "waitlist-offer-1", "WAITLIST-OFFER-2",
                                         "Waitlist-offerx")),
    *({"p_attending_location": v} for v in (None, "Mississauga", "nowhere", "", "calgary")),
    *({"p_dominant_hand": v} for v in ("", "h" * 32, "h" * 33, " " * 40, "left")),
    *({"p_student_name": v} for v in ("", "  ", "n" * 255, "n" * 256)),
    *({"p_booking_id": v} for v in ("", "   ", "b" * 256)),
    *({"p_mock_set": v} for v in ("A", "H", "I", "a", "")),
]


def _first_error(db: psycopg.Connection, statements: list[tuple[str, dict[str, Any]]],
                 ) -> tuple[str, str] | None:
    """The (code, message) of the first statement that fails, in a transaction rolled back
    after; None when none does."""
    with db.transaction(force_rollback=True):
        for sql, params in statements:
            try:
                with db.transaction():
                    db.execute(sql, params)
            except psycopg.Error as exc:
                return exc.diag.message_primary, exc.diag.message_detail
    return None


def test_arguments_get_the_answer_of_the_checking_functions(db: psycopg.Connection) -> None:
    """Every case against the checking functions called one by one, in create_booking's order
    (validate_booking_args, the name's and the code's lengths, a blank code, the mock set):
    the same error, or, when they accept it, the step after the arguments (an unknown
    student)."""
    checked = 0
    for case in ARGUMENT_CASES:
        args = {**BASE_ARGS, **case}
        expected = _first_error(db, [
            ("SELECT mockbook_internal.validate_booking_args(%(p_student_id)s, %(p_email)s,"
             " %(p_mock_exam_id)s, %(p_idempotency_key)s, %(p_attending_location)s,"
             " %(p_dominant_hand)s)", args),
            ("SELECT mockbook_internal.check_text_arg('p_student_name', %(p_student_name)s,"
             " false, 255)", args),
            ("SELECT mockbook_internal.check_text_arg('p_booking_id', %(p_booking_id)s,"
             " false, 255)", args),
            ("SELECT CASE WHEN btrim(%(p_booking_id)s) = '' THEN mockbook_internal.raise_error("
             "'INVALID_ARGUMENT', 'p_booking_id must not be blank.') END", args),
            ("SELECT CASE WHEN %(p_mock_set)s::text NOT IN ('A', 'B', 'C', 'D', 'E', 'F', 'G',"
             " 'H') THEN mockbook_internal.raise_error('INVALID_ARGUMENT',"
             " 'p_mock_set must be one of A-H.') END", args),
        ])
        named = ", ".join(f"{k} := %({k})s" for k in args)
        answer = _first_error(db, [(f"SELECT hubspot_sync.create_booking({named})", args)])
        if expected is None:
            assert answer is not None and answer[0] == "CONTACT_NOT_FOUND", (case, answer)
        else:
            assert answer == expected, (case, answer, expected)
            checked += 1
    assert checked >= len(ARGUMENT_CASES) // 2


def _rows_written(db: psycopg.Connection, student: str) -> dict[str, Any]:
    """What one booking wrote, without the values that differ between two runs of it (ids,
    codes, times)."""
    db.row_factory = dict_row
    try:
        booking = db.execute(
            "SELECT * FROM hubspot_sync.hubspot_bookings WHERE student_id = %s"
            " ORDER BY created_at DESC LIMIT 1", (student,)).fetchone()
        ledger = db.execute(
            "SELECT credit_field, delta, balance_after, reason, actor, note"
            " FROM hubspot_sync.credit_ledger WHERE booking_id = %s", (booking["id"],)).fetchall()
        audit = db.execute(
            "SELECT table_name, operation, changed_fields, performed_by"
            " FROM hubspot_sync.supabase_audit_log WHERE performed_at = now()"
            " ORDER BY table_name, operation").fetchall()
        outbox = db.execute(
            "SELECT table_name, operation FROM hubspot_sync.sync_queue WHERE created_at = now()"
            " ORDER BY table_name, operation").fetchall()
    finally:
        db.row_factory = psycopg.rows.tuple_row
    for column in ("id", "booking_id", "created_at", "updated_at", "synced_at"):
        booking.pop(column)
    return {"booking": booking, "ledger": ledger, "audit": audit, "outbox": outbox}


def _book_counting(db: psycopg.Connection, student: str, exam: str, key: str,
                   **extra: Any) -> tuple[dict[str, Any], int]:
    """create_booking in the current transaction: (result, calls of the full path's key helper)."""
    db.execute("SET LOCAL track_functions = 'all'")
    # the counter may still hold an earlier transaction's calls (flushed at most once a second)
    before = scalar(db, "SELECT coalesce(pg_stat_get_xact_function_calls(%s::regprocedure), 0)",
                    (PIPELINE,))
    named = "".join(f", {k} := %({k})s" for k in extra)
    result = scalar(db, "SELECT hubspot_sync.create_booking(p_student_id := %(s)s, p_email :="
                        " %(e)s, p_mock_exam_id := %(x)s, p_idempotency_key := %(k)s,"
                        f" p_attending_location := 'mississauga'{named})",
                    {"s": student, "e": email(student), "x": exam, "k": key, **extra})
    calls = scalar(db, "SELECT coalesce(pg_stat_get_xact_function_calls(%s::regprocedure), 0)",
                   (PIPELINE,))
    return result, calls - before


def test_the_common_case_writes_and_answers_as_the_full_path(db: psycopg.Connection) -> None:
    """The same booking made by the common case and by the full path (the caller's booking code
    sends it there; each in a transaction rolled back after): the same booking row but its
    code, ledger row, audit and outbox rows and result."""
    (exam,) = make_exams(db, 1)
    (student,) = make_students(db, 1, p_sj=2)
    key = str(uuid.uuid4())
    runs, paths = {}, {}
    for path, extra in (("common case", {}),
                        ("full path", {"p_booking_id": f"FULL-{uuid.uuid4().hex[:8]}"})):
        with db.transaction(force_rollback=True):
            result, paths[path] = _book_counting(db, student, exam, key, **extra)
            for volatile in ("id", "booking_id"):
                result.pop(volatile)
            runs[path] = {"result": result, **_rows_written(db, student)}
    assert paths == {"common case": 0, "full path": 1}
    for part in runs["full path"]:
        assert runs["common case"][part] == runs["full path"][part], part
    assert runs["full path"]["ledger"] and len(runs["full path"]["audit"]) == 3
    assert len(runs["full path"]["outbox"]) == 3


@pytest.mark.parametrize("setting", list(RULE_SETTINGS), ids=lambda s: f"{s[0]}={s[1]}")
def test_a_rule_answers_the_same_on_both_paths(db: psycopg.Connection,
                                               setting: tuple[str, str]) -> None:
    """With a rule on, the common case and the full path give the same answer: the same error,
    or the same booking."""
    rule, value = setting
    (exam,) = make_exams(db, 1, first_day=DAY)
    (student,) = make_students(db, 1, p_sj=2)
    answers, paths = {}, {}
    for path, extra in (("common case", {}), ("full path", {"p_booking_id": "FULL-1"})):
        with db.transaction(force_rollback=True):
            db.execute("UPDATE hubspot_sync.booking_rules SET value = %s::jsonb WHERE rule = %s",
                       (value, rule))
            try:
                with db.transaction():
                    result, paths[path] = _book_counting(db, student, exam, str(uuid.uuid4()),
                                                         **extra)
                answers[path] = (result["credit_field"], result["credits_remaining"])
            except psycopg.Error as exc:
                answers[path] = exc.diag.message_primary
    assert answers["common case"] == answers["full path"], (setting, answers)
    assert answers["common case"] == (RULE_SETTINGS[setting] or ("sj_credits", 1)), answers
    if RULE_SETTINGS[setting] is None:
        assert paths == {"common case": 0, "full path": 1}


def test_every_checked_rule_turned_on_is_checked_by_the_common_case(
        db: psycopg.Connection) -> None:
    """Each rule the declaration marks checked, set to a value that is not off, makes the common
    case call its rule function (mockbook_internal.rule_<rule>): the skip condition is derived
    from the declaration, so a rule cannot be left out of it."""
    checked = db.execute("SELECT d.rule, d.kind FROM mockbook_internal.declared_booking_rules()"
                         " AS d WHERE d.checked").fetchall()
    assert len(checked) >= 5
    on = {"boolean": "true", "hours": "1", "limit": "10000"}
    (student,) = make_students(db, 1, p_sj=len(checked) + 1)
    for rule, kind in checked:
        (exam,) = make_exams(db, 1, first_day=DAY)
        function = (f"mockbook_internal.rule_{rule}(hubspot_sync.hubspot_mock_exams,text,uuid,"
                    "jsonb)")
        with db.transaction(force_rollback=True):
            db.execute("UPDATE hubspot_sync.booking_rules SET value = %s::jsonb WHERE rule = %s",
                       (on[kind], rule))
            result, code, calls = call_counting(db, student, exam, str(uuid.uuid4()),
                                                counted=function)
            _, _, full = call_counting(db, student, exam, str(uuid.uuid4()))
        assert (code, calls, full) == (None, 1, 0), (rule, code, result)


def test_racing_calls_of_one_student_keep_the_invariants(db: psycopg.Connection,
                                                         database_url: str) -> None:
    """One student's calls race each other and what they can meet: 8 exams each booked by two
    calls with one key (one books, the other replays it or waits for its key), cancellations
    of the student's earlier bookings and capacity changes of the exams. The common case and
    the pipeline's waits meet on the key and the contact: 8 bookings, 8 credits, no error but
    a replay, and the invariants hold."""
    exams = make_exams(db, 8, capacity=5, first_day=60, step=2)
    earlier = make_exams(db, 4, capacity=5, first_day=61, step=2)
    (student,) = make_students(db, 1, p_sj=8)
    made = [book(student, x)(db)["id"] for x in earlier]
    db.execute("UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = 8"
               " WHERE student_id = %s", (student,))
    snap = snapshot(db)
    retries = BusyRetries()
    keys = {x: str(uuid.uuid4()) for x in exams}
    tasks: list[Callable[[psycopg.Connection], Any]] = []
    for x in exams:
        tasks += [book(student, x, keys[x]), book(student, x, keys[x])]
    for booking in made:
        tasks.append(lambda conn, b=booking: rpc(conn, "cancel_booking", p_booking_id=b,
                                                 p_student_id=student))
    for x in exams[:4]:
        tasks.append(lambda conn, x=x: rpc(conn, "set_exam_capacity", p_mock_exam_id=x,
                                           p_capacity=6))
    outcomes = run_concurrently(database_url, [retrying_busy(t, retries) for t in tasks], 16)
    errors = [o.error for o in outcomes if o.error is not None]
    assert not errors, errors[:3]
    bookings = outcomes[:2 * len(exams)]
    replays = [o.value["idempotent_replay"] for o in bookings]
    assert replays.count(False) == len(exams) and replays.count(True) == len(exams)
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s"
                      " AND is_active = 'Active'", (student,)) == len(exams)
    assert scalar(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", (student,)) == 8 - len(exams) + len(made)
    check_invariants(db, snap)


def test_a_contact_held_by_another_call_is_waited_for_by_the_pipeline(
        db: psycopg.Connection, database_url: str) -> None:
    """The common case never waits: with the contact's row held elsewhere it hands the call to
    the pipeline, whose bounded wait answers BUSY (mockbook.lock_timeout), and the call books
    once the row is free."""
    (exam,) = make_exams(db, 1)
    (student,) = make_students(db, 1, p_sj=1)
    key = str(uuid.uuid4())
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_contact_credits"
                       " WHERE student_id = %s FOR UPDATE", (student,))
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("SET mockbook.lock_timeout = '200ms'")
            with pytest.raises(RpcError) as busy:
                book(student, exam, key)(conn)
        holder.rollback()
    assert busy.value.code == "BUSY"
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert book(student, exam, key)(conn)["success"]
