"""Adopting an existing production database (SPEC §2, issue 2 item 5), exactly as the README tells
a DBA: the read-cache schema already exists (built outside Alembic, so no version table), the DBA
runs `alembic stamp 0001_baseline` once, then `alembic upgrade head`.

The main test builds that database with realistic data made with generate_series (12,000
contacts, 1,000 exams of the four mock types, 111,000 bookings that respect the one
Active-or-Completed booking per student, mock type and day rule, with exam total_bookings equal to
the Active count), checksums every table over its baseline columns, adopts it, and proves no row
was lost or changed, every row is still readable as service_role and the new constraints and
indexes are valid. The other tests cover what goes wrong: rows the new constraints would reject,
a forgotten stamp, an unknown revision, and downgrades.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import catalog  # tests/py/catalog.py
import psycopg
import pytest
from psycopg import sql

from glue import migrations
from glue.frozen import frozen_files

VERSIONS = migrations.ROOT / "db" / "migrations" / "versions"
BASELINE = "0001_baseline"
TABLES = ("hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings", "sync_metadata")
ORDER_BY = {"sync_metadata": "sync_type"}

MakeDatabase = Callable[[str], str]

# --- realistic baseline data ---------------------------------------------------------------

CONTACTS = 12_000
EXAMS = 1_000  # 250 days x 4 mock types, one exam per type and day
PER_EXAM = 110  # bookings per exam (distinct students): 110,000 + 1,000 rebookings
PAST_BEFORE = "2025-11-01"  # exams before this date are over: their bookings are Completed

POPULATE = f"""
INSERT INTO hubspot_sync.hubspot_contact_credits (
    hubspot_id, student_id, email, firstname, lastname, sj_credits, cs_credits, sjmini_credits,
    mock_discussion_token, shared_mock_credits, ndecc_exam_date, created_at, updated_at, synced_at)
SELECT (70000000 + g)::text,
       'STU' || lpad(g::text, 6, '0'),
       lower(f.name || '.' || l.name || g) || '@example.com',
       f.name, l.name,
       g % 4, (g / 3) % 3, g % 2, (g / 7) % 2, (g / 11) % 3,
       CASE WHEN g % 5 = 0 THEN NULL
            ELSE to_char(date '2026-03-01' + (g % 9) * 30, 'YYYY-MM-DD') END,
       timestamptz '2024-01-01 09:00-05' + g * interval '37 minutes',
       timestamptz '2025-05-01 09:00-04' + g * interval '11 minutes',
       timestamptz '2025-05-02 03:00-04' + g * interval '11 minutes'
FROM generate_series(1, {CONTACTS}) AS g,
LATERAL (SELECT (ARRAY['Amira', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hiro',
                       'Ines', 'Jonas', 'Kiran'])[1 + g % 11] AS name) AS f,
LATERAL (SELECT (ARRAY['Nguyen', 'Patel', 'Smith', 'Tremblay', 'Li', 'Roy', 'Khan',
                       'Martin', 'Singh', 'Gagnon', 'Wong', 'Cohen', 'Diaz'])[1 + g % 13] AS name)
    AS l;

INSERT INTO hubspot_sync.hubspot_mock_exams (
    hubspot_id, mock_exam_name, mock_type, exam_date, start_time, end_time, location, capacity,
    total_bookings, is_active, scheduled_activation_datetime, mock_set, prerequisite_exam_ids,
    created_at, updated_at, synced_at)
SELECT (31000000000 + g)::text,
       t.mock_type || ' - ' || initcap(t.location) || ' - ' || to_char(t.day, 'Mon DD, YYYY'),
       t.mock_type, t.day, t.start_time,
       to_char(t.start_time::time + interval '3 hours', 'HH24:MI'),
       t.location,
       PER_EXAM_CAPACITY,
       0,
       CASE WHEN g % 10 = 0 THEN 'false' WHEN g % 10 = 1 THEN 'scheduled'
            WHEN g % 10 = 2 THEN 'active' ELSE 'true' END,
       CASE WHEN g % 10 = 1
            THEN (t.day - 30 + time '09:00') AT TIME ZONE 'America/Toronto' END,
       ((ARRAY['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'])[1 + (g / 4) % 8])
           ::hubspot_sync.mock_set_letter,
       CASE WHEN t.mock_type = 'Mock Discussion' AND g >= 4
            THEN ARRAY[(31000000000 + g - 3)::text] ELSE '{{}}' END,
       (t.day - 60 + time '10:00') AT TIME ZONE 'America/Toronto',
       (t.day - 20 + time '10:00') AT TIME ZONE 'America/Toronto',
       (t.day - 19 + time '02:00') AT TIME ZONE 'America/Toronto'
FROM generate_series(0, {EXAMS - 1}) AS g,
LATERAL (SELECT (ARRAY['Situational Judgment', 'Clinical Skills', 'Mini-mock',
                       'Mock Discussion'])[1 + g % 4] AS mock_type,
                date '2025-06-02' + g / 4 AS day,
                (ARRAY['09:00', '13:00', '17:30'])[1 + (g / 4) % 3] AS start_time,
                CASE WHEN g % 4 = 2 THEN 'online'
                     ELSE (ARRAY['mississauga', 'vancouver', 'calgary',
                                 'montreal'])[1 + (g / 4) % 4]
                END AS location) AS t;

-- Bookings: exam e gets PER_EXAM distinct students (k = 0..PER_EXAM-1); k % 9 = 0 cancelled,
-- k % 50 = 1 failed, the others Completed (past exams, with attendance) or Active. Booking codes
-- BK-YYYYMMDD-XXXXXX are unique by construction (x -> x * odd mod 2^24 is a bijection).
CREATE TEMP TABLE booking_plan ON COMMIT DROP AS
SELECT g, g % {EXAMS} AS e, g / {EXAMS} AS k,
       (g % {EXAMS} * 7919 + g / {EXAMS} * 13) % {CONTACTS} + 1 AS s,
       CASE WHEN (g / {EXAMS}) % 9 = 0 THEN 'Cancelled'
            WHEN (g / {EXAMS}) % 50 = 1 THEN 'Failed' END AS forced_status
FROM generate_series(0, {EXAMS * PER_EXAM - 1}) AS g
UNION ALL
-- each exam's first (cancelled) student booked again: a Cancelled + Active/Completed pair.
SELECT {EXAMS * PER_EXAM} + e, e, 0, (e * 7919) % {CONTACTS} + 1, NULL
FROM generate_series(0, {EXAMS - 1}) AS e;

INSERT INTO hubspot_sync.hubspot_bookings (
    hubspot_id, booking_id, associated_mock_exam, associated_contact_id, student_id, name,
    student_email, is_active, attendance, dominant_hand, attending_location, token_used,
    token_refunded, token_refunded_at, token_refund_admin, start_time, end_time, exam_date,
    mock_type, mock_set, ndecc_exam_date, idempotency_key, created_at, updated_at, synced_at)
SELECT (41000000000 + p.g)::text,
       'BK-' || to_char(b.created_at AT TIME ZONE 'America/Toronto', 'YYYYMMDD') || '-'
           || upper(lpad(to_hex((p.g::bigint * 2654435761) % 16777216), 6, '0')),
       x.hubspot_id, c.hubspot_id, c.student_id, c.firstname || ' ' || c.lastname, c.email,
       b.status,
       CASE WHEN b.status = 'Completed' THEN CASE WHEN p.g % 7 = 0 THEN 'No' ELSE 'Yes' END END,
       CASE WHEN x.mock_type = 'Clinical Skills'
            THEN CASE WHEN p.s % 10 = 0 THEN 'left' ELSE 'right' END END,
       x.location,
       b.token_used,
       b.status = 'Cancelled' AND b.token_used <> 'Admin Override',
       CASE WHEN b.status = 'Cancelled' AND b.token_used <> 'Admin Override'
            THEN b.created_at + interval '26 hours' END,
       CASE WHEN b.status = 'Cancelled' AND b.token_used <> 'Admin Override' AND p.g % 2 = 0
            THEN 'admin@prep.example.com' END,
       x.start_time, x.end_time, x.exam_date, x.mock_type, x.mock_set, c.ndecc_exam_date,
       CASE WHEN p.g % 3 = 0 THEN NULL ELSE 'idem-' || md5('booking ' || p.g) END,
       b.created_at, b.created_at + interval '2 hours', b.created_at + interval '3 hours'
FROM booking_plan AS p
JOIN hubspot_sync.hubspot_mock_exams AS x ON x.hubspot_id = (31000000000 + p.e)::text
JOIN hubspot_sync.hubspot_contact_credits AS c ON c.hubspot_id = (70000000 + p.s)::text,
LATERAL (SELECT coalesce(p.forced_status,
                         CASE WHEN x.exam_date < date '{PAST_BEFORE}' THEN 'Completed'
                              ELSE 'Active' END) AS status,
                CASE WHEN p.g % 37 = 5 THEN 'Admin Override'
                     WHEN x.mock_type IN ('Situational Judgment', 'Clinical Skills')
                          AND p.g % 4 = 0 THEN 'Shared Token'
                     ELSE x.mock_type || ' Token' END AS token_used,
                (x.exam_date - 1 - p.g % 40 + time '08:00') AT TIME ZONE 'America/Toronto'
                    + (p.g % 600) * interval '1 minute' AS created_at) AS b;

UPDATE hubspot_sync.hubspot_mock_exams AS x SET total_bookings = a.n
FROM (SELECT associated_mock_exam, count(*) AS n FROM hubspot_sync.hubspot_bookings
      WHERE is_active = 'Active' GROUP BY 1) AS a
WHERE a.associated_mock_exam = x.hubspot_id;

INSERT INTO hubspot_sync.sync_metadata (sync_type, last_sync_timestamp, last_sync_status,
                                        records_synced, error_message)
VALUES ('contacts', '2025-11-20 03:00-05', 'success', {CONTACTS}, NULL),
       ('mock_exams', '2025-11-20 03:05-05', 'success', {EXAMS}, NULL),
       ('bookings', '2025-11-20 03:10-05', 'failed', 48213, 'HubSpot 429: rate limit');
""".replace("PER_EXAM_CAPACITY", f"{PER_EXAM} + (g % 5) * 10")


def baseline_sql() -> str:
    files = frozen_files(VERSIONS / f"{BASELINE}.py", "upgrade")
    assert files, "0001_baseline has no frozen upgrade SQL"
    return "\n".join(path.read_text() for path in files)


def create_baseline_without_alembic(url: str) -> None:
    """What a production database looks like before mockbook: the tables, no version table."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(baseline_sql())


def version(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('mockbook.alembic_version')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchone()
        return row[0] if row else None


def baseline_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position)"
        " FROM information_schema.columns WHERE table_schema = 'hubspot_sync'"
        " AND table_name = ANY(%s) GROUP BY table_name", [list(TABLES)]).fetchall()
    return dict(rows)


def column_types(conn: psycopg.Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = 'hubspot_sync'::regnamespace"
        " AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped", [list(TABLES)])
    return {(table, column): kind for table, column, kind in rows.fetchall()}


def checksums(conn: psycopg.Connection, columns: dict[str, list[str]]) -> dict[str, tuple]:
    """(row count, md5 of every row over the given columns in key order) per table."""
    result = {}
    for table, cols in columns.items():
        query = sql.SQL(
            "SELECT count(*), md5(string_agg(ROW({cols})::text, E'\\n' ORDER BY {key}))"
            " FROM hubspot_sync.{table}").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
            key=sql.Identifier(ORDER_BY.get(table, "id")), table=sql.Identifier(table))
        result[table] = tuple(conn.execute(query).fetchone())
    return result


# --- the DBA path on a populated database ------------------------------------------------


@pytest.fixture(scope="module")
def adopted(make_database: MakeDatabase) -> dict:
    url = make_database("adopt")
    create_baseline_without_alembic(url)
    with psycopg.connect(url) as conn:
        conn.execute(POPULATE)
        conn.commit()
        columns = baseline_columns(conn)
        before = checksums(conn, columns)
        types_before = column_types(conn)
    assert version(url) is None, "a production database has no version table"

    started = time.monotonic()
    migrations.stamp(url, BASELINE)
    assert version(url) == BASELINE
    migrations.upgrade(url, "head")
    # How long it took is printed, not asserted: speed belongs to the benchmarks (SPEC §11).
    print(f"stamp + upgrade of the populated baseline: {time.monotonic() - started:.1f} s")

    with psycopg.connect(url) as conn:
        after = checksums(conn, columns)
        types_after = column_types(conn)
    return {"url": url, "columns": columns, "before": before, "after": after,
            "types_before": types_before, "types_after": types_after}


def test_the_baseline_database_is_realistic(adopted: dict) -> None:
    counts = {table: value[0] for table, value in adopted["before"].items()}
    assert counts["hubspot_contact_credits"] >= 10_000
    assert counts["hubspot_mock_exams"] >= 500
    assert counts["hubspot_bookings"] >= 100_000
    with psycopg.connect(adopted["url"]) as conn:
        mix = dict(conn.execute(
            "SELECT is_active, count(*) FROM hubspot_sync.hubspot_bookings GROUP BY 1").fetchall())
        types = {r[0] for r in conn.execute(
            "SELECT DISTINCT mock_type FROM hubspot_sync.hubspot_mock_exams").fetchall()}
        exam_states = {r[0] for r in conn.execute(
            "SELECT DISTINCT is_active FROM hubspot_sync.hubspot_mock_exams").fetchall()}
        wrong_totals = conn.execute(
            "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams x WHERE total_bookings <> ("
            " SELECT count(*) FROM hubspot_sync.hubspot_bookings b"
            " WHERE b.associated_mock_exam = x.hubspot_id AND b.is_active = 'Active')").fetchone()
        over_capacity = conn.execute(
            "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams"
            " WHERE total_bookings > capacity").fetchone()
        rebooked = conn.execute(
            "SELECT count(*) FROM (SELECT student_id, mock_type, exam_date"
            " FROM hubspot_sync.hubspot_bookings GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
            ).fetchone()
    assert set(mix) == {"Active", "Cancelled", "Completed", "Failed"}
    assert min(mix.values()) > 1_000
    assert types == {"Situational Judgment", "Clinical Skills", "Mini-mock", "Mock Discussion"}
    assert exam_states == {"true", "false", "scheduled", "active"}
    assert wrong_totals == (0,) and over_capacity == (0,)
    assert rebooked == (EXAMS,), "each exam has one cancelled-then-rebooked student"


def test_adoption_loses_and_changes_no_row(adopted: dict) -> None:
    for table in TABLES:
        assert adopted["after"][table] == adopted["before"][table], (
            f"{table}: rows lost or changed in the baseline columns")
    before, after = adopted["types_before"], adopted["types_after"]
    changed = {column: (kind, after.get(column)) for column, kind in before.items()
               if after.get(column) != kind}
    assert not changed, f"existing columns changed type or disappeared: {changed}"


def test_adopted_database_is_at_head_with_valid_constraints(adopted: dict) -> None:
    url = adopted["url"]
    assert version(url) == migrations.head()
    with psycopg.connect(url) as conn:
        not_valid = [r[0] for r in conn.execute(
            "SELECT conname FROM pg_constraint WHERE connamespace = 'hubspot_sync'::regnamespace"
            " AND NOT convalidated ORDER BY 1").fetchall()]
        invalid_indexes = [r[0] for r in conn.execute(
            "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_class c"
            " ON c.oid = i.indexrelid WHERE c.relnamespace = 'hubspot_sync'::regnamespace"
            " AND NOT (i.indisvalid AND i.indisready)").fetchall()]
        unique = {r[0] for r in conn.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indisunique"
            " AND indrelid = 'hubspot_sync.hubspot_bookings'::regclass").fetchall()}
    # booking_id NOT NULL for new rows is a trigger (require_booking_code), not a constraint.
    assert not_valid == []
    assert invalid_indexes == []
    assert {"hubspot_sync.hubspot_bookings_booking_id_key",
            "hubspot_sync.uq_bookings_one_per_student_type_day"} <= unique


def test_every_row_is_readable_as_service_role_and_not_as_anon(adopted: dict) -> None:
    with psycopg.connect(adopted["url"]) as conn:
        conn.execute("SET ROLE service_role")
        for table in TABLES:
            (n,) = conn.execute(f"SELECT count(*) FROM hubspot_sync.{table}").fetchone()
            assert n == adopted["before"][table][0], table
        conn.rollback()
        for role in ("anon", "authenticated"):
            conn.execute(f"SET ROLE {role}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings")
            conn.rollback()


# --- what goes wrong, and changes nothing ------------------------------------------------

BAD_ROWS = """
INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email, sj_credits)
VALUES ('C1', 'STU1', 'stu1@example.com', 2), ('C2', 'STU2', 'stu2@example.com', -1);
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_type, exam_date, capacity,
                                             total_bookings, is_active)
VALUES ('X1', 'Clinical Skills', '2025-12-01', 10, 2, 'true');
INSERT INTO hubspot_sync.hubspot_bookings (hubspot_id, booking_id, associated_mock_exam,
    associated_contact_id, student_id, student_email, is_active, mock_type, exam_date)
VALUES ('B1', 'BK-20251101-AAAAAA', 'X1', 'C1', 'STU1', 'stu1@example.com', 'Active',
        'Clinical Skills', '2025-12-01'),
       ('B2', 'BK-20251101-AAAAAA', 'X1', 'C1', 'STU1', 'stu1@example.com', 'Active',
        'Clinical Skills', '2025-12-01');
"""


def _table_state(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        return checksums(conn, {t: ["id"] if t != "sync_metadata" else ["sync_type"]
                                for t in TABLES}) | {
            "constraints": tuple(conn.execute(
                "SELECT conname FROM pg_constraint"
                " WHERE connamespace = 'hubspot_sync'::regnamespace ORDER BY 1").fetchall())}


def test_rows_violating_new_constraints_stop_the_upgrade_naming_them(
    make_database: MakeDatabase,
) -> None:
    url = make_database("adopt_bad_rows")
    migrations.upgrade(url, BASELINE)
    with psycopg.connect(url) as conn:
        conn.execute(BAD_ROWS)
        (negative_contact,) = conn.execute(
            "SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE hubspot_id = 'C2'"
        ).fetchone()
    with pytest.raises(psycopg.errors.RaiseException) as failure:
        migrations.upgrade(url, "head")
    state = _table_state(url)
    message = str(failure.value)
    assert "mockbook 0004_constraints: existing rows violate the new constraints; nothing was" \
        " changed" in message
    assert "duplicate booking codes: BK-20251101-AAAAAA (2 rows)" in message
    assert ("students with two Active/Completed bookings of one mock type on one day: "
            "STU1/Clinical Skills/2025-12-01") in message
    assert f"contacts with a negative credit balance: {negative_contact} (C2)" in message
    assert "HINT:  Fix or remove these rows" in message
    # the revisions before 0004 committed; 0004 left nothing behind
    assert version(url) == "0003_supabase_roles"
    assert "hubspot_contact_credits_sj_credits_check" not in str(state["constraints"])

    # fixing the rows lets the same upgrade go through
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE hubspot_sync.hubspot_bookings"
                     " SET booking_id = 'BK-20251101-BBBBBB', is_active = 'Cancelled'"
                     " WHERE hubspot_id = 'B2'")
        conn.execute("UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = 0"
                     " WHERE hubspot_id = 'C2'")
    migrations.upgrade(url, "head")
    assert version(url) == migrations.head()
    assert _table_state(url)["hubspot_bookings"] == state["hubspot_bookings"]


def test_forgetting_the_stamp_is_refused_with_the_stamp_hint(make_database: MakeDatabase) -> None:
    url = make_database("adopt_no_stamp")
    create_baseline_without_alembic(url)
    with psycopg.connect(url) as conn:
        conn.execute(BAD_ROWS.split(";")[0])
    before = _table_state(url)
    with psycopg.connect(url) as conn:
        schema_before = catalog.snapshot(conn)
    with pytest.raises(psycopg.errors.RaiseException) as failure:
        migrations.upgrade(url, "head")
    message = str(failure.value)
    assert "hubspot_sync.hubspot_bookings already exists; nothing was changed" in message
    assert 'run "alembic stamp 0001_baseline"' in message
    assert version(url) is None
    assert _table_state(url) == before
    with psycopg.connect(url) as conn:
        assert catalog.diff(schema_before, catalog.snapshot(conn)) == []


def test_an_unknown_revision_is_refused_and_nothing_changes(make_database: MakeDatabase) -> None:
    url = make_database("adopt_unknown_rev")
    migrations.upgrade(url, "0002_dual_id")
    with psycopg.connect(url) as conn:
        schema_before = catalog.snapshot(conn)
    # an unknown target
    for attempt in (lambda: migrations.upgrade(url, "0042_nope"),
                    lambda: migrations.stamp(url, "0042_nope")):
        with pytest.raises(Exception, match="Can't locate revision identified by '0042_nope'"):
            attempt()
    assert version(url) == "0002_dual_id"
    # a database stamped with a revision this checkout does not know (e.g. a newer mockbook)
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE mockbook.alembic_version SET version_num = '0042_from_the_future'")
    for attempt in (lambda: migrations.upgrade(url, "head"),
                    lambda: migrations.downgrade(url, "base")):
        with pytest.raises(Exception, match="Can't locate revision identified by "
                                            "'0042_from_the_future'"):
            attempt()
    assert version(url) == "0042_from_the_future"
    with psycopg.connect(url) as conn:
        assert catalog.diff(schema_before, catalog.snapshot(conn)) == []


def test_upgrading_twice_is_a_no_op(make_database: MakeDatabase) -> None:
    url = make_database("adopt_twice")
    migrations.upgrade(url, "head")
    with psycopg.connect(url) as conn:
        schema_before = catalog.snapshot(conn)
    migrations.upgrade(url, "head")
    assert version(url) == migrations.head()
    with psycopg.connect(url) as conn:
        assert catalog.diff(schema_before, catalog.snapshot(conn)) == []


def test_downgrade_to_base_on_an_empty_database(make_database: MakeDatabase) -> None:
    url = make_database("adopt_down_empty")
    migrations.upgrade(url, "head")
    migrations.downgrade(url, "base")
    assert version(url) is None
    with psycopg.connect(url) as conn:
        left = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'hubspot_sync' UNION ALL SELECT t.typname FROM pg_type t"
            " JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'hubspot_sync'"
            " UNION ALL SELECT p.proname FROM pg_proc p"
            " WHERE p.pronamespace = 'hubspot_sync'::regnamespace").fetchall()
    assert left == []
    migrations.upgrade(url, "head")
    assert version(url) == migrations.head()


def test_dual_id_downgrade_refuses_rows_hubspot_does_not_know(make_database: MakeDatabase) -> None:
    url = make_database("adopt_down_dual_id")
    migrations.upgrade(url, "head")
    with psycopg.connect(url) as conn:
        (contact,) = conn.execute(
            "INSERT INTO hubspot_sync.hubspot_contact_credits (student_id, email)"
            " VALUES ('STU9', 'stu9@example.com') RETURNING id").fetchone()
    with pytest.raises(psycopg.errors.RaiseException) as failure:
        migrations.downgrade(url, BASELINE)
    message = str(failure.value)
    assert ("mockbook 0002_dual_id downgrade: rows without hubspot_id exist "
            f"(contact {contact})") in message
    assert "Push them to HubSpot first" in message
    assert version(url) == "0002_dual_id"
    with psycopg.connect(url) as conn:
        (n,) = conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_contact_credits"
                            " WHERE hubspot_id IS NULL").fetchone()
        nullable = conn.execute(
            "SELECT is_nullable FROM information_schema.columns WHERE table_schema ="
            " 'hubspot_sync' AND table_name = 'hubspot_contact_credits'"
            " AND column_name = 'hubspot_id'").fetchone()
    assert n == 1 and nullable == ("YES",)


def test_baseline_sql_is_the_frozen_file() -> None:
    """The DBA path above runs exactly the frozen baseline, not db/ (which has moved on)."""
    frozen = Path(VERSIONS / BASELINE / "upgrade" / "01_baseline.sql").read_text()
    assert baseline_sql() == frozen
    assert "hubspot_id text UNIQUE NOT NULL" in frozen
