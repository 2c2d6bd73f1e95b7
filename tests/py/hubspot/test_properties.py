"""Property-based tests (hypothesis) of every public RPC function (point 6).

Random and hostile arguments -- empty, blank, huge, unicode, NUL bytes, SQL fragments, negative
and extreme numbers, unknown ids, valid ids of the wrong kind, and (through the JSON path) JSON
values of the wrong type -- are sent to each function as PostgREST would send them. Properties:

1. Only documented errors come back: an RpcError whose MESSAGE is a code of the error contract
with its
   SQLSTATE, and a non-empty DETAIL and HINT. Never a raw 22xxx/23xxx/P0001/XX000 from inside a
   function, never a deadlock, never a crash of the call.
2. A failed call changes nothing: no hubspot_sync table has a new, changed or deleted row after
   it (invariants.table_versions, checked around every call; the full-content digest is used
   where calls are few).
3. After each function's run, the invariants hold (successful calls included).
4. No call, failed or not, leaves session state behind on its connection (role, timeouts,
   claims, mockbook.* settings): PostgREST hands the connection to the next request.

Two ways in:
- typed (`rpc`): Python values of the declared types, bound as parameters -- what a supabase-js
  call with well-typed values amounts to. A NUL byte in a text value never reaches the server:
  psycopg refuses it client-side ("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
  and PostgreSQL text cannot hold it anyway; that is a client error, accepted here as such.
  Inside a jsonb value (mark_attendance's p_updates) NUL travels as the JSON escape "\u0000",
  which jsonb refuses (22P05) while converting the argument, before the function runs: a 400
  from PostgREST, accepted as such.
- JSON (`rpc_json`): any JSON value for any parameter, converted exactly as PostgREST converts
  a request body (json_to_record). A value that does not convert to the parameter's type (a
  string for an integer, 2^40 for an integer, an object for an array, "\\u0000" in a string) is
  refused by that conversion with a 22xxx SQLSTATE before the function runs, so PostgREST
  itself answers HTTP 400 with that code: not a mockbook error, and not a change. It shows up
  here as PostgrestError(400, ...).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import Snapshot, check_invariants, snapshot, table_digests, table_versions
from postgrest import PostgrestError, RpcError, rpc, rpc_json, rpc_json_rows, rpc_rows, signature

from glue.credit_fields import CREDIT_FIELD_NAMES

DOCUMENTED_CODES = {
    "INVALID_ARGUMENT": "PT400", "INVALID_EXAM_TYPE": "PT400", "INSUFFICIENT_CREDITS": "PT402",
    "FORBIDDEN": "PT403", "CONTACT_NOT_FOUND": "PT404", "EXAM_NOT_FOUND": "PT404",
    "BOOKING_NOT_FOUND": "PT404", "EXAM_FULL": "PT409", "DUPLICATE_BOOKING": "PT409",
    "ALREADY_CANCELLED": "PT409", "NOT_CANCELLABLE": "PT409", "EXAM_NOT_ACTIVE": "PT409",
    "EXAM_IN_PAST": "PT409", "CREDIT_CONFLICT": "PT409", "IDEMPOTENCY_KEY_REUSED": "PT422",
    "PREREQUISITE_NOT_MET": "PT422", "CAPACITY_BELOW_BOOKED": "PT422",
    "REBOOK_NOT_ALLOWED": "PT422", "BUSY": "PT503",
}
PUBLIC_FUNCTIONS = (
    "create_booking", "cancel_booking", "cancel_bookings", "admin_create_booking", "rebook",
    "mark_attendance", "set_exam_capacity", "adjust_credits", "get_credit_summary",
    "list_available_exams", "list_contact_bookings",
)
READS = ("get_credit_summary", "list_available_exams", "list_contact_bookings")
TYPED_EXAMPLES = 50
JSON_EXAMPLES = 30
PROPERTY_SETTINGS = settings(deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])

# --- values -------------------------------------------------------------------------------

SQL_FRAGMENTS = (
    "'; DROP TABLE hubspot_sync.hubspot_bookings; --", "' OR '1'='1", "1; SELECT pg_sleep(5)",
    "sj_credits = sj_credits + 100", "hubspot_sync.hubspot_contact_credits", "$$", "$1", "%s",
    "%(p_student_id)s", "\\", "'", "''", '"', "NULL", "null", "undefined", "true", "-1", "0",
    "1e309", "NaN", "{}", "[]", '{"booking_id": 1}', "ARRAY[1]", "*", "../../etc/passwd",
    "sj_credits); DELETE FROM hubspot_sync.credit_ledger; --",
)
UNICODE = (
    "Ωmega", "学生", "😀" * 8, "\u202eevil", "\u200b", "e\u0301", "ﬁ", "İstanbul", "ß",
    "\ufeff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Mississauga", "MISSISSAUGA", " mississauga ",
)
HUGE = ("A" * 255, "A" * 256, "S" * 1000, "x" * 100_000)
NUL = ("a\x00b", "\x00", "S1\x00")
HOSTILE = ("", " ", "\t\n", *SQL_FRAGMENTS, *UNICODE, *HUGE, *NUL)

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_@.", max_size=30),
)
int4 = st.one_of(st.sampled_from((0, -1, 1, -(2**31), 2**31 - 1, 100, 101)),
                 st.integers(-(2**31), 2**31 - 1))
any_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False,
                                                                         allow_infinity=False)
    | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=8,
)


@dataclass
class World:
    """Known-good ids, the base of valid requests and mixed into the hostile values."""

    students: list[str] = field(default_factory=list)
    exams: list[str] = field(default_factory=list)
    bookings: list[str] = field(default_factory=list)  # booking codes and uuids
    keys: list[str] = field(default_factory=list)  # idempotency keys already used
    exam_type: dict[str, str] = field(default_factory=dict)  # exam -> mock type
    booking_type: dict[str, str] = field(default_factory=dict)  # booking ref -> mock type


def email_of(student: str) -> str:
    return f"{student.lower()}@example.com"


LOCATIONS = ("mississauga", "calgary", "vancouver", "montreal", "richmond_hill")
CREDIT_FIELDS = CREDIT_FIELD_NAMES  # the one list (glue/credit_fields.py = the database's)
MOCK_TYPES = ("Situational Judgment", "Clinical Skills", "Mini-mock", "Mock Discussion")


@dataclass
class Base:
    """One coherent, valid request context: the student, exam and booking an example is about."""

    student: str
    exam: str
    booking: str


def bases(world: World) -> st.SearchStrategy[Base]:
    return st.builds(Base, st.sampled_from(world.students), st.sampled_from(world.exams),
                     st.sampled_from(world.bookings))


def valid_for(fn: str, name: str, typ: str, base: Base, world: World) -> st.SearchStrategy:
    """A well-formed value for one parameter, consistent with the example's Base, so the call
    gets past argument checks and reaches the function's real rules."""
    if name == "p_student_id":
        return st.just(base.student)
    if name in ("p_email", "p_student_email"):
        return st.sampled_from((email_of(base.student), email_of(base.student).upper()))
    if name == "p_new_mock_exam_id":  # usually an exam of the booking's own mock type
        same = [e for e, t in world.exam_type.items()
                if t == world.booking_type.get(base.booking)] or world.exams
        return st.sampled_from(same) | st.just(base.exam)
    if name == "p_mock_exam_id":
        return st.just(base.exam)
    if name == "p_idempotency_key":
        fresh = st.uuids().map(lambda u: f"prop-{u}")
        return st.one_of(fresh, fresh, fresh, st.sampled_from(world.keys))
    if name == "p_booking_id" and fn == "create_booking":  # the new booking's own code
        return st.one_of(st.none(), st.uuids().map(lambda u: f"BK-PROP-{u.hex[:10]}"))
    if name == "p_booking_id":
        return st.just(base.booking)
    if name == "p_booking_ids":
        return st.lists(st.sampled_from(world.bookings), min_size=1, max_size=5)
    if name == "p_updates":
        return st.lists(st.fixed_dictionaries(
            {"booking_id": st.sampled_from(world.bookings),
             "attendance": st.sampled_from(("Yes", "No", ""))}), min_size=1, max_size=4)
    if name in ("p_attending_location", "p_location"):
        return st.sampled_from(LOCATIONS)
    if name == "p_dominant_hand":
        return st.sampled_from(("right", "left"))
    if name == "p_credit_field":
        return st.sampled_from(CREDIT_FIELDS)
    if name == "p_mock_type":
        return st.none() | st.sampled_from(MOCK_TYPES)
    if name == "p_status":
        return st.none() | st.sampled_from(("Active", "Cancelled", "Completed", "Failed"))
    if name == "p_mock_set":
        return st.none() | st.sampled_from("ABCDEFGH")
    if name == "p_delta":
        return st.sampled_from((-3, -1, 1, 2, 5))
    if name == "p_capacity":
        return st.integers(0, 60)
    if typ == "boolean":
        return st.booleans()
    if typ == "date":
        return st.none() | st.dates(dt.date.today() - dt.timedelta(days=10),
                                    dt.date.today() + dt.timedelta(days=60))
    assert typ == "text", f"no valid value for {fn}.{name} {typ}"
    return st.sampled_from(("property test", "Pat Example", "admin@example.com"))


def hostile_for(name: str, typ: str, world: World) -> st.SearchStrategy:
    """A random or hostile value of the parameter's declared type (or NULL)."""
    bookings = st.sampled_from(world.bookings)
    anything = st.one_of(hostile_text, st.none(), st.sampled_from(world.students),
                         st.sampled_from(world.exams), bookings)
    if typ == "text[]":
        return st.one_of(st.lists(anything, max_size=8),
                         st.lists(bookings, min_size=101, max_size=120), st.none())
    if typ == "jsonb":
        item = st.fixed_dictionaries(
            {"booking_id": anything,
             "attendance": st.sampled_from(("Yes", "No", "", "yes", "Maybe")) | hostile_text})
        return st.one_of(st.lists(item, max_size=6), st.lists(item, min_size=101, max_size=110),
                         any_json)
    if typ == "integer":
        return st.one_of(int4, st.none())
    if typ == "boolean":
        return st.one_of(st.booleans(), st.none())
    if typ == "date":
        return st.one_of(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), st.none())
    assert typ == "text", f"no hostile value for {name} {typ}"
    return anything


def to_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True,
                         options="-c statement_timeout=30s") as c:
        yield c


@pytest.fixture
def world(conn: psycopg.Connection) -> World:
    """Fresh for each test: exams of every kind (bookable ones of each mock type on several
    days, inactive, scheduled, past, full, an unknown type, one with a prerequisite), students
    with and without credits, and Active bookings made through the RPCs."""
    w = World()

    def one(query: str, params: Any = ()) -> Any:
        return conn.execute(query, params).fetchone()[0]

    def exam(mock_type: str = "Situational Judgment", capacity: int = 30, day: int = 40,
             active: str = "true", prereq: list[str] | None = None) -> str:
        hid = one("""SELECT tests.make_exam(p_mock_type := %s, p_capacity := %s,
                         p_exam_date := hubspot_sync.business_today() + %s, p_is_active := %s,
                         p_prerequisite_exam_ids := %s)""",
                  (mock_type, capacity, day, active, prereq or []))
        w.exams.append(hid)
        w.exam_type[hid] = mock_type
        return hid

    sj = [exam(day=40), exam(day=40), exam(day=41), exam(capacity=1, day=46)]
    cs = [exam("Clinical Skills", day=40), exam("Clinical Skills", day=43)]
    mini = [exam("Mini-mock", day=42), exam("Mini-mock", day=44)]
    md = [exam("Mock Discussion", day=42)]
    exam(active="false")
    exam(active="scheduled")
    exam(day=-3)
    exam(capacity=0, day=47)
    exam("Oral Boards", day=48)
    exam(day=45, prereq=[sj[0]])
    for credits in ((50, 50, 50, 50, 50), (1, 0, 0, 0, 1), (0, 0, 0, 0, 0), (3, 3, 3, 3, 0),
                    (5, 5, 5, 5, 5)):
        w.students.append(one("SELECT tests.make_student(%s, %s, %s, %s, %s)", credits))
    rich, poor, _, some, more = w.students
    for i, (student, hid) in enumerate(((rich, sj[0]), (rich, cs[0]), (some, mini[0]),
                                        (poor, sj[2]), (more, sj[1]), (more, md[0]),
                                        (some, cs[1]), (rich, mini[1]))):
        key = f"prop-world-{i}-{uuid.uuid4()}"
        booking = rpc(conn, "create_booking", p_student_id=student, p_email=email_of(student),
                      p_mock_exam_id=hid, p_idempotency_key=key,
                      p_attending_location="calgary", p_dominant_hand="right")
        for ref in (booking["booking_id"], str(booking["id"])):
            w.bookings.append(ref)
            w.booking_type[ref] = w.exam_type[hid]
        w.keys.append(key)
    return w


def parameters(conn: psycopg.Connection, fn: str) -> tuple[list[tuple[str, str]], int]:
    """A public function's parameters (name, type) and how many of them have defaults."""
    params, _ = signature(conn, fn)
    defaults = conn.execute(
        "SELECT p.pronargdefaults FROM pg_proc AS p JOIN pg_namespace AS n"
        " ON n.oid = p.pronamespace WHERE n.nspname = 'hubspot_sync' AND p.proname = %s",
        (fn,)).fetchone()[0]
    return [(p.name, p.type) for p in params], defaults


# --- the property -------------------------------------------------------------------------

def shorten(args: dict[str, Any]) -> str:
    return repr({k: (v[:60] + f"...({len(v)} chars)" if isinstance(v, str) and len(v) > 60
                     else v) for k, v in args.items()})


@dataclass
class Tally:
    ok: int = 0
    documented: int = 0
    client_side: int = 0
    postgrest_400: int = 0
    snap: Snapshot | None = field(default=None, repr=False)
    fn: str = ""
    codes: Counter = field(default_factory=Counter)


def arguments(draw: Callable, fn: str, sig: tuple[list[tuple[str, str]], int], world: World,
              *, as_json: bool) -> dict[str, Any]:
    """All required parameters, plus a random subset of the optional ones (PostgREST passes
    only the keys the body has; the others take their defaults). Each example is valid except
    for none, one, some or all of its arguments, so both the argument checks and the rules
    behind them are reached."""
    params, defaults = sig
    required = params[:len(params) - defaults]
    optional = params[len(params) - defaults:]
    chosen = required + [p for p in optional if draw(st.integers(0, 3)) > 0]
    base = draw(bases(world))
    mode = draw(st.sampled_from(("valid", "valid", "one", "one", "some", "all")))
    victim = draw(st.sampled_from([n for n, _ in chosen])) if chosen else None
    args = {}
    for name, typ in chosen:
        if mode == "all" or (mode == "one" and name == victim) or (
                mode == "some" and draw(st.booleans())):
            strategy = any_json if as_json and draw(st.booleans()) else hostile_for(
                name, typ, world)
        else:
            strategy = valid_for(fn, name, typ, base, world)
        args[name] = draw(strategy.map(to_json) if as_json else strategy)
    return args


SESSION_SETTINGS = ("role", "lock_timeout", "statement_timeout", "search_path",
                    "transaction_read_only", "request.jwt.claims", "request.method",
                    "mockbook.actor", "mockbook.origin", "mockbook.lock_timeout")


def session_state(conn: psycopg.Connection) -> dict[str, str | None]:
    """What a call must not leave behind on its (pooled, in PostgREST) connection."""
    row = conn.execute(
        "SELECT current_user, " + ", ".join("current_setting(%s, true)" for _ in SESSION_SETTINGS),
        SESSION_SETTINGS).fetchone()
    # A custom setting once set with is_local = true reads '' (not NULL) after the transaction:
    # PostgreSQL keeps the placeholder. That is no leak, so '' and NULL count as the same.
    return {k: v or None for k, v in zip(("current_user", *SESSION_SETTINGS), row, strict=True)}


def check_call(conn: psycopg.Connection, fn: str, args: dict[str, Any], *, as_json: bool,
               tally: Tally) -> None:
    session = session_state(conn)
    try:
        check_outcome(conn, fn, args, as_json=as_json, tally=tally)
    finally:
        # PostgREST reuses connections: settings must be transaction-local (set_config(..., true))
        after = session_state(conn)
        changed = {k: (session[k], after[k]) for k in after if after[k] != session[k]}
        assert not changed, f"{fn} left session state behind (before, after): {changed}"


def check_outcome(conn: psycopg.Connection, fn: str, args: dict[str, Any], *, as_json: bool,
                  tally: Tally) -> None:
    before = table_versions(conn)
    method = "GET" if fn in READS else "POST"
    _, retset = signature(conn, fn)
    try:
        if as_json:
            call = rpc_json_rows if retset else rpc_json
            call(conn, fn, args, method=method)
        else:
            call = rpc_rows if retset else rpc
            call(conn, fn, method=method, **args)
        tally.ok += 1
        return
    except RpcError as exc:
        assert DOCUMENTED_CODES.get(exc.code) == exc.sqlstate, f"undocumented error {exc}"
        assert exc.detail and exc.hint, f"{exc.code} without DETAIL or HINT"
        tally.documented += 1
        tally.codes[exc.code] += 1
    except PostgrestError as exc:
        # PostgREST's own 400: a value did not convert to the parameter's type (the function
        # never ran): a JSON value of the wrong type, or "\u0000" inside a JSON string
        assert exc.status == 400 and exc.code.startswith("22"), exc
        tally.postgrest_400 += 1
    except psycopg.Error as exc:
        # psycopg refuses NUL in text client-side (no SQLSTATE): nothing was sent for the call
        if not (isinstance(exc, psycopg.DataError) and exc.sqlstate is None
                and "NUL" in str(exc) and not as_json):
            pytest.fail(f"{fn}{'(JSON)' if as_json else ''} answered an undocumented error "
                        f"[{exc.sqlstate}] {exc}\narguments: {shorten(args)}")
        tally.client_side += 1
    assert table_versions(conn) == before, f"a failed {fn} call changed data"


@pytest.fixture
def guard(conn: psycopg.Connection, world: World) -> Iterator[Tally]:
    """Per test: a tally of outcomes (checked by finish())."""
    tally = Tally()
    tally.snap = snapshot(conn)
    yield tally


def finish(conn: psycopg.Connection, tally: Tally) -> None:
    """The invariants hold after all the calls, and some calls did reach the function."""
    assert tally.snap is not None
    check_invariants(conn, tally.snap)
    assert tally.ok + tally.documented > 0, f"nothing reached the function: {tally}"
    if os.environ.get("MOCKBOOK_PROPERTY_STATS"):
        print(f"\n{tally.fn}: {tally}")


@pytest.mark.parametrize("fn", PUBLIC_FUNCTIONS)
def test_typed_arguments(fn: str, conn: psycopg.Connection, world: World,
                         guard: Tally) -> None:
    sig = parameters(conn, fn)
    guard.fn = fn

    @settings(PROPERTY_SETTINGS, max_examples=TYPED_EXAMPLES)
    @given(data=st.data())
    def prop(data: st.DataObject) -> None:
        args = arguments(data.draw, fn, sig, world, as_json=False)
        check_call(conn, fn, args, as_json=False, tally=guard)

    prop()
    finish(conn, guard)


@pytest.mark.parametrize("fn", PUBLIC_FUNCTIONS)
def test_json_arguments(fn: str, conn: psycopg.Connection, world: World,
                        guard: Tally) -> None:
    sig = parameters(conn, fn)
    guard.fn = fn

    @settings(PROPERTY_SETTINGS, max_examples=JSON_EXAMPLES)
    @given(data=st.data())
    def prop(data: st.DataObject) -> None:
        args = arguments(data.draw, fn, sig, world, as_json=True)
        check_call(conn, fn, args, as_json=True, tally=guard)

    prop()
    finish(conn, guard)


def test_wrong_json_type_is_postgrest_400_not_a_mockbook_error(conn: psycopg.Connection,
                                                               world: World) -> None:
    """A string where an integer is expected: PostgREST's conversion fails with 22P02 and it
    answers HTTP 400 itself; the function never runs, so no mockbook code and no change."""
    before = table_digests(conn)
    with pytest.raises(PostgrestError) as info:
        rpc_json(conn, "set_exam_capacity", {"p_mock_exam_id": world.exams[0],
                                             "p_capacity": "twelve"})
    assert (info.value.status, info.value.code) == (400, "22P02")
    with pytest.raises(PostgrestError) as info:
        rpc_json(conn, "adjust_credits", {"p_student_id": world.students[0],
                                          "p_credit_field": "sj_credits", "p_delta": 2**40,
                                          "p_reason": "x", "p_actor": "x"})
    assert (info.value.status, info.value.code) == (400, "22003")
    with pytest.raises(PostgrestError) as info:
        rpc_json(conn, "cancel_booking", {"p_booking_id": "BK-\u0000"})
    assert (info.value.status, info.value.code) == (400, "22P05")
    assert table_digests(conn) == before


@pytest.mark.parametrize(("fn", "name", "value"), [
    ("adjust_credits", "p_delta", -(2**31)),
    ("adjust_credits", "p_delta", 2**31 - 1),
    ("set_exam_capacity", "p_capacity", -(2**31)),
    ("set_exam_capacity", "p_capacity", 2**31 - 1),
])
def test_integer_extremes(fn: str, name: str, value: int, conn: psycopg.Connection,
                          world: World) -> None:
    """The ends of the integer range reach a documented answer, never an overflow inside the
    function (e.g. abs(-2147483648) raises 22003)."""
    student = world.students[0]
    plain = {"adjust_credits": {"p_student_id": student, "p_credit_field": "sj_credits",
                                "p_delta": 1, "p_reason": "extremes", "p_actor": "test"},
             "set_exam_capacity": {"p_mock_exam_id": world.exams[0], "p_capacity": 5}}
    args = {**plain[fn], name: value}
    check_call(conn, fn, args, as_json=False, tally=Tally())
