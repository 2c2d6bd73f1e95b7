"""A server that cannot take a call answers one documented code, UNAVAILABLE (PT503).

docs/rpc.md ("Errors"): a full disk, a read-only database (a standby, or writes switched off as
Supabase does when a disk fills), or a server out of memory or locks reaches the caller as
UNAVAILABLE naming the condition, never as a raw SQLSTATE whose message names a file, and
nothing of the call remains. Every API function is enumerated from the catalog (test_who_acts'
CASES) and called with valid arguments on a read-only database.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from invariants import table_digests
from postgrest import RpcError, rpc
from psycopg import sql
from test_who_acts import CASES, call, catalog_cache, email, scenario

# the functions that write nothing on the scenario's call: they answer on a read-only database
WRITE_NOTHING = {"business_today", "check_idempotency_key", "credit_rules", "get_booking",
                 "get_changed_fields", "get_contact_credits", "get_credit_summary",
                 "increment_exam_bookings", "list_available_exams", "list_contact_bookings"}


@pytest.fixture
def read_only(db: psycopg.Connection, database_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the module's database once it takes no writes (every new session's
    transactions read-only, as on a standby or after Supabase's disk-full switch)."""
    database = sql.Identifier(db.info.dbname)
    db.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on")
               .format(database))
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            yield conn
    finally:
        db.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only")
                   .format(database))


def test_the_functions_that_write_nothing_are_api_functions(db: psycopg.Connection) -> None:
    assert set(catalog_cache(db)) >= WRITE_NOTHING


@pytest.mark.parametrize("fn", sorted(CASES))
def test_a_read_only_database_answers_unavailable_and_keeps_nothing(
        db: psycopg.Connection, read_only: psycopg.Connection, fn: str) -> None:
    s = scenario(db)
    args = CASES[fn].args(db, s)
    before = table_digests(db)
    if fn in WRITE_NOTHING:
        assert call(read_only, fn, None, args) is not None
        return
    with pytest.raises(RpcError) as refused:
        call(read_only, fn, None, args)
    assert (refused.value.code, refused.value.sqlstate) == ("UNAVAILABLE", "PT503")
    assert "read-only" in refused.value.detail
    assert table_digests(db) == before


def test_a_full_disk_is_unavailable_naming_no_file(db: psycopg.Connection) -> None:
    """The error PostgreSQL raises when a table cannot grow, stood in for by a trigger that
    raises it where the booking's insert would."""
    s = scenario(db)
    db.execute("""
        CREATE FUNCTION tests.disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'could not extend file "pg_tblspc/16385/PG_15_202209061/5/16401": '
                            'No space left on device' USING ERRCODE = 'disk_full';
        END $$""")
    db.execute("CREATE TRIGGER disk_full BEFORE INSERT ON hubspot_sync.hubspot_bookings"
               " FOR EACH ROW EXECUTE FUNCTION tests.disk_full()")
    try:
        before = table_digests(db)
        with pytest.raises(RpcError) as refused:
            rpc(db, "create_booking", p_student_id=s.s0, p_email=email(s.s0),
                p_mock_exam_id=s.e2, p_idempotency_key="disk-full-1",
                p_attending_location="mississauga")
        assert (refused.value.code, refused.value.sqlstate) == ("UNAVAILABLE", "PT503")
        assert "disk is full" in refused.value.detail
        assert "pg_tblspc" not in str(refused.value)
        assert table_digests(db) == before
    finally:
        db.execute("DROP TRIGGER disk_full ON hubspot_sync.hubspot_bookings")
        db.execute("DROP FUNCTION tests.disk_full()")


def test_a_write_called_with_get_keeps_postgrests_own_answer(db: psycopg.Connection) -> None:
    """PostgREST runs a GET read-only; a write function called so fails with 25006, which
    PostgREST answers 405 (Method Not Allowed): a caller's mistake, not an outage."""
    s = scenario(db)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        rpc(db, "create_booking", method="GET", p_student_id=s.s0, p_email=email(s.s0),
            p_mock_exam_id=s.e2, p_idempotency_key="get-1", p_attending_location="mississauga")
