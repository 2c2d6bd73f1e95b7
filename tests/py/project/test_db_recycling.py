"""The test harness's copies given back clean (tests/db_recycling.py): a copy kept for the next
test holds exactly what a new copy of the template holds, and a copy whose schema, settings or
connections a test changed is never kept (the harness drops it, as before)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import conftest
import psycopg
import pytest
from db_recycling import Recycler, handed_out
from psycopg.conninfo import conninfo_to_dict

# The schemas a test's rows live in. Temporary tables are left out: they belong to the session
# that made them, and a closed session's are dropped by its backend as it exits, which the next
# connection can see half done (listed in pg_class, gone when read).
_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema')"
                 " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'")


def _state(url: str) -> dict[str, object]:
    """Everything a test can read of a database's rows: each user table's rows, each sequence,
    each materialized view's rows, the planner's counts and statistics of the user relations,
    and the database's statistics counters."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class AS c"
            " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            f" WHERE c.relkind IN ('r', 'm') AND {_USER_SCHEMAS} ORDER BY 1")]
        state: dict[str, object] = {
            table: conn.execute(
                f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                f" FROM {table} AS t").fetchone()[0]
            for table in tables}
        state["sequences"] = conn.execute(
            "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
        ).fetchall()
        state["sizes"] = conn.execute(
            "SELECT c.oid::regclass::text, relpages, reltuples, relallvisible FROM pg_class AS c"
            f" JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE {_USER_SCHEMAS}"
            " ORDER BY 1").fetchall()
        state["statistics"] = conn.execute(
            "SELECT count(*) FROM pg_statistic WHERE starelid IN (SELECT c.oid FROM pg_class"
            f" AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE {_USER_SCHEMAS})"
        ).fetchone()[0]
        state["counters"] = conn.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
            " FROM pg_stat_user_tables").fetchone()[0]
        state["heap_pages"] = conn.execute(
            "SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n"
            f" ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND {_USER_SCHEMAS}"
            " AND pg_relation_size(c.oid) > 0").fetchone()[0]
    return state


def _handed_out(fresh_database: Callable[..., str]) -> tuple[Recycler, str, str]:
    """A copy of the template marked by a recycler of the test's own."""
    url = fresh_database("recycled", migrated=True)
    name = conninfo_to_dict(url)["dbname"]
    recycler = Recycler()
    with psycopg.connect(url, autocommit=True) as conn:
        recycler.mark(url, name, handed_out(conn))
    return recycler, url, name


def _busy_day(url: str) -> None:
    """What a test does to a copy: students, exams, bookings (the outbox, the ledger), rows of
    the template's own tables changed, a table analyzed, a temporary table, sequences moved."""
    with psycopg.connect(url, autocommit=True) as conn:
        exam = conn.execute("SELECT tests.make_exam(p_capacity := 3)").fetchone()[0]
        for _ in range(3):
            student = conn.execute("SELECT tests.make_student(p_sj := 2)").fetchone()[0]
            conn.execute("SELECT tests.book(%s, %s, %s)", (student, exam, str(uuid.uuid4())))
        conn.execute("UPDATE hubspot_sync.booking_rules SET updated_at = now() + interval '1 day'")
        conn.execute("DELETE FROM hubspot_sync.adoption_report WHERE id % 2 = 0")
        conn.execute("ANALYZE hubspot_sync.hubspot_bookings")
        conn.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
        for seq in conn.execute("SELECT format('%I.%I', schemaname, sequencename)"
                                " FROM pg_sequences").fetchall():
            conn.execute("SELECT nextval(%s)", seq)


def test_a_copy_given_back_holds_what_a_new_copy_holds(
        fresh_database: Callable[..., str]) -> None:
    new = _state(fresh_database("new", migrated=True))
    recycler, url, name = _handed_out(fresh_database)
    _busy_day(url)
    assert _state(url) != new  # the day left its mark
    assert recycler.give_back(url, name)
    assert _state(url) == new
    # and again: a copy kept is handed out as one (the harness renames it and marks it again)
    kept, xid = recycler.take()
    assert kept == name
    recycler.mark(url, name, xid)
    _busy_day(url)
    assert recycler.give_back(url, name)
    assert _state(url) == new


# What a test may change besides rows: each is refused (the copy dropped, not kept).
CHANGES = {
    "a table created": "CREATE TABLE public.extra (x int)",
    "a function replaced": "CREATE OR REPLACE FUNCTION tests.total(p_exam text) RETURNS integer"
                           " LANGUAGE sql AS 'SELECT 0'",
    "a function's setting": "ALTER FUNCTION tests.total(text) SET search_path = public",
    "a privilege granted": "GRANT SELECT ON hubspot_sync.hubspot_bookings TO PUBLIC",
    "row security turned off": "ALTER TABLE hubspot_sync.hubspot_bookings"
                               " DISABLE ROW LEVEL SECURITY",
    "a trigger disabled": "ALTER TABLE hubspot_sync.hubspot_bookings DISABLE TRIGGER USER",
    "a table renamed": "ALTER TABLE hubspot_sync.adoption_report RENAME TO adoption_report_old",
    "a column dropped": "ALTER TABLE hubspot_sync.adoption_report DROP COLUMN old_value",
    "a comment": "COMMENT ON TABLE hubspot_sync.hubspot_bookings IS 'changed'",
    "an index dropped": "ALTER TABLE hubspot_sync.hubspot_bookings"
                        " DROP CONSTRAINT hubspot_bookings_hubspot_id_key",
    "a function dropped": "DROP FUNCTION tests.total(text)",
    "a schema created": "CREATE SCHEMA realtime",
    "a sequence's increment": "ALTER SEQUENCE hubspot_sync.sync_queue_id_seq INCREMENT BY 2",
    "a database setting": "ALTER DATABASE {db} SET statement_timeout = '1s'",
    "a role's setting in the database": "ALTER ROLE postgres IN DATABASE {db} SET work_mem = '8MB'",
    "connect revoked": "REVOKE CONNECT ON DATABASE {db} FROM PUBLIC",
    "a connection limit": "ALTER DATABASE {db} CONNECTION LIMIT 50",
    "a large object": "SELECT lo_create(0)",
    "a publication": "CREATE PUBLICATION every_table FOR ALL TABLES",
    "an analytics view refreshed": "REFRESH MATERIALIZED VIEW hubspot_sync.credit_usage",
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_copy_whose_schema_or_settings_changed_is_not_kept(
        fresh_database: Callable[..., str], change: str) -> None:
    recycler, url, name = _handed_out(fresh_database)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(change.format(db=f'"{name}"'))
    assert not recycler.give_back(url, name)
    assert recycler.take() is None


def test_a_copy_someone_is_still_connected_to_is_not_kept(
        fresh_database: Callable[..., str]) -> None:
    recycler, url, name = _handed_out(fresh_database)
    with psycopg.connect(url, autocommit=True):
        assert not recycler.give_back(url, name)


def test_a_copy_with_only_rows_changed_is_kept(fresh_database: Callable[..., str]) -> None:
    recycler, url, name = _handed_out(fresh_database)
    _busy_day(url)
    assert recycler.give_back(url, name)
    assert recycler.take() is not None


def test_the_harness_connects_as_its_server_settings_say_whatever_the_environment_says_now(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The threads that make and drop copies run beside the tests, and a test may point PGUSER
    elsewhere meanwhile: a copy made then was once left behind, its comment refused to the
    other role and never dropped."""
    params = conftest.server_params()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PGUSER", "mockbook_no_such_role")
    with conftest._admin(params) as admin:
        assert admin.execute("SELECT current_user").fetchone()[0] == params["user"]


def test_a_copy_whose_analytics_view_was_refreshed_concurrently_is_not_kept(
        fresh_database: Callable[..., str]) -> None:
    """REFRESH ... CONCURRENTLY writes a view's rows without changing the catalog, and the reset
    cannot truncate a view: the copy is refused."""
    recycler, url, name = _handed_out(fresh_database)
    _busy_day(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY hubspot_sync.booking_analytics")
        assert conn.execute("SELECT count(*) FROM hubspot_sync.booking_analytics").fetchone()[0]
    assert not recycler.give_back(url, name)
