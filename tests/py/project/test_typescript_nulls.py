"""The apps' row types say null exactly where real rows have nulls.

A column of a function returning rows is `| null` in clients/typescript/mockbook.types.ts when the
function's comment says it can be null (its `Null:` sentence, glue.db.tsrows), and only then.
Checked against real rows, every function called as PostgREST calls it:

- a fresh database with the rows an app meets: bookings and waitlist places made through the
  API, and a contact, an exam and a booking holding only what the tables require (as HubSpot or
  an adoption may leave them);
- the production dump filled as the original app writes it and adopted through the migrations
  (`alembic stamp 0001_baseline`, `upgrade head`), every student and exam read.

A null in a real row of a column typed non-null fails (`row.hubspot_id.toUpperCase()` would
compile and throw), and so does a column typed `| null` that no row of either database has null
in (the type would then say more than the data can).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

import psycopg
import pytest
from postgrest import rpc, rpc_rows
from test_adopt_production import BASELINE, load_dump, populate_sql

from glue.db import migrations, tsrows, tstypes

ROW_TYPE = re.compile(r"^export type \w+Row = NullableIn<GeneratedRow<'(\w+)'>, (.+)>$", re.M)
Seen = dict[str, dict[str, set[str]]]  # function -> column -> {"null", "value"}


def typed_nullable() -> dict[str, set[str]]:
    """Each function returning rows → its columns typed `| null`, read from the committed
    mockbook.types.ts."""
    found = {}
    for fn, union in ROW_TYPE.findall(tstypes.MOCKBOOK_TYPES.read_text()):
        found[fn] = set() if union == "never" else set(re.findall(r"'(\w+)'", union))
    return found


def observe(seen: Seen, fn: str, rows: Iterable[dict[str, Any]]) -> None:
    columns = seen.setdefault(fn, {})
    for row in rows:
        for column, value in row.items():
            columns.setdefault(column, set()).add("null" if value is None else "value")


def nulls_typed_non_null(seen: Seen, nullable: dict[str, set[str]]) -> list[str]:
    return [f"{fn}.{column}: null in a real row, typed non-null"
            for fn, columns in seen.items() for column, kinds in columns.items()
            if "null" in kinds and column not in nullable.get(fn, set())]


@pytest.fixture(scope="module")
def fresh(database_url: str) -> Seen:
    """The rows of every function returning rows on a fresh database (see the docstring)."""
    seen: Seen = {}
    with psycopg.connect(database_url, autocommit=True) as db:
        def one(query: str, *params: Any) -> Any:
            return db.execute(query, params).fetchone()[0]

        full = one("SELECT tests.make_exam(p_capacity := 1)")
        other = one("SELECT tests.make_exam(p_capacity := 5,"
                    " p_exam_date := hubspot_sync.business_today() + 9)")
        ann, bob = one("SELECT tests.make_student(p_sj := 3)"), one(
            "SELECT tests.make_student(p_sj := 3)")
        for student, exam in ((ann, full), (bob, other)):
            rpc(db, "create_booking", p_student_id=student,
                p_email=f"{student.lower()}@example.com", p_mock_exam_id=exam,
                p_idempotency_key=f"nulls-{uuid.uuid4()}", p_attending_location="mississauga")
        rpc(db, "join_waitlist", p_student_id=bob, p_email=f"{bob.lower()}@example.com",
            p_mock_exam_id=full, p_attending_location="mississauga")
        # what the tables require and nothing more: a contact and an exam as a HubSpot record
        # with empty properties leaves them, a booking of that contact with its code only
        db.execute("INSERT INTO hubspot_sync.hubspot_contact_credits (student_id, email)"
                   " VALUES ('SPARSE1', 'sparse1@example.com')")
        db.execute("INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, prerequisite_exam_ids,"
                   " total_bookings, created_at, updated_at, synced_at)"
                   " VALUES ('SPARSE-EXAM', NULL, NULL, NULL, NULL, NULL)")
        db.execute("INSERT INTO hubspot_sync.hubspot_bookings (booking_id, student_id,"
                   " token_refunded, created_at, updated_at, synced_at)"
                   " VALUES ('BK-20260101-SPARSE', 'SPARSE1', NULL, NULL, NULL, NULL)")
        students = [(ann, f"{ann.lower()}@example.com"), (bob, f"{bob.lower()}@example.com"),
                    ("SPARSE1", "sparse1@example.com")]
        read_all(db, seen, students)
    return seen


def read_all(db: psycopg.Connection, seen: Seen, students: list[tuple[str, str]]) -> None:
    """Every function returning rows, for every student given and every exam."""
    observe(seen, "credit_rules", rpc_rows(db, "credit_rules"))
    observe(seen, "list_available_exams", rpc_rows(db, "list_available_exams"))
    observe(seen, "list_available_exams",
            rpc_rows(db, "list_available_exams", p_include_unbookable=True))
    for student, email in students:
        observe(seen, "get_credit_summary",
                rpc_rows(db, "get_credit_summary", p_student_id=student, p_email=email))
        observe(seen, "list_contact_bookings",
                rpc_rows(db, "list_contact_bookings", p_student_id=student))


@pytest.fixture(scope="module")
def adopted(make_database) -> Seen:
    """The rows of every function returning rows on the adopted production data."""
    url = make_database("nulls_adopted")
    load_dump(url)
    with psycopg.connect(url) as conn:
        conn.execute(populate_sql(300, 24, 12))
    migrations.stamp(url, BASELINE)
    migrations.upgrade(url, "head")
    seen: Seen = {}
    with psycopg.connect(url, autocommit=True) as db:
        students = db.execute("SELECT student_id, email FROM hubspot_sync.hubspot_contact_credits"
                              " ORDER BY student_id").fetchall()
        read_all(db, seen, students)
    return seen


def test_the_types_are_the_comments(db: psycopg.Connection) -> None:
    """The row types of mockbook.types.ts name the columns each function's `Null:` sentence
    names, for every function returning rows the catalog has."""
    assert typed_nullable() == {fn: set(nullable) for fn, (_, nullable)
                                in tsrows.row_nulls(db).items()}
    assert {"get_credit_summary", "list_available_exams", "list_contact_bookings",
            "credit_rules"} <= set(typed_nullable())


def test_no_null_on_a_fresh_database_where_the_types_say_never(fresh: Seen) -> None:
    assert sum(len(c) for c in fresh.values()) > 50
    assert nulls_typed_non_null(fresh, typed_nullable()) == []


def test_no_null_on_an_adopted_database_where_the_types_say_never(adopted: Seen) -> None:
    assert len(adopted["list_contact_bookings"]["booking_id"]) == 2  # legacy rows lack codes
    assert nulls_typed_non_null(adopted, typed_nullable()) == []


def test_every_column_typed_nullable_is_null_in_a_real_row(fresh: Seen, adopted: Seen) -> None:
    never_null = [f"{fn}.{column}: typed `| null`, never null in a real row"
                  for fn, columns in typed_nullable().items() for column in sorted(columns)
                  if "null" not in fresh[fn].get(column, set()) | adopted[fn].get(column, set())]
    assert never_null == []


def test_a_null_where_the_type_says_never_is_caught() -> None:
    """The check itself: one null in a column typed non-null is named."""
    seen: Seen = {}
    observe(seen, "get_credit_summary", [{"hubspot_id": None, "email": "a@example.com"},
                                         {"hubspot_id": "1", "email": None}])
    assert nulls_typed_non_null(seen, {"get_credit_summary": {"hubspot_id"}}) == [
        "get_credit_summary.email: null in a real row, typed non-null"]


# --- how a comment's `Null:` sentence is read ------------------------------------------------

COLUMNS = ["id", "hubspot_id", "email", "firstname", "reason"]


@pytest.mark.parametrize(("comment", "nullable"), [
    ("Rows: `id, hubspot_id`. Null: `hubspot_id`, `firstname` (as HubSpot left them), no other"
     " column. Errors: none.", ["hubspot_id", "firstname"]),
    ("Null: `reason` (`create_booking`'s code; `id` never).", ["reason"]),
    ("Rows: `id`. Null: any column but `id` and `email` (a place has no booking columns).",
     ["hubspot_id", "firstname", "reason"]),
    ("Rows `(id, email)`. Null: none.", []),
])
def test_a_null_sentence_names_the_columns(comment: str, nullable: list[str]) -> None:
    assert tsrows.null_columns(comment, COLUMNS) == nullable


@pytest.mark.parametrize("comment", [
    "Rows: `id, email`.",                            # no sentence: says nothing either way
    "Null: `hubspot_id`. Null: `email`.",            # two sentences
    "Null: `hubspot_ids` (a typo).",                 # not a column
    "Null: (none of them).",                         # no column named
])
def test_a_null_sentence_that_cannot_be_read_is_refused(comment: str) -> None:
    """make types stops, naming the function, instead of guessing."""
    with pytest.raises(tsrows.NullsError):
        tsrows.null_columns(comment, COLUMNS)
