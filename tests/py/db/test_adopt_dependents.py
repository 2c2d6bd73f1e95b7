"""What the adoption's DDL meets outside mockbook: objects a DBA built on production's columns
and functions.

Revision 0002 changes the type of production columns (timestamps to timestamptz, exam_date to
date, token_refunded to boolean, ...) and later revisions drop production functions. PostgreSQL
refuses ALTER COLUMN ... TYPE under a view, a rule, a policy, a trigger naming the column or a
SQL-standard function body, and DROP FUNCTION under anything using the function; indexes,
CHECK constraints and statistics are rebuilt by ALTER TYPE itself. A reporting view on
hubspot_bookings.exam_date made `migrate --check` report no refusal and the upgrade then fail
inside 0002. Now --check names every such object as a refusal, the upgrade stops before
changing anything and names them too, and each prediction is checked against PostgreSQL's own
answer to the statement the revision runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import pytest
from click.testing import CliRunner
from test_adopt_production import BASELINE, load_dump

from glue.cli import cli
from glue.db import adoption, migrations

MakeDatabase = Callable[[str], str]

PLANTED = {
    "view public.bookings_by_day": (
        "CREATE VIEW public.bookings_by_day AS SELECT exam_date, count(*) AS n"
        " FROM hubspot_sync.hubspot_bookings GROUP BY exam_date",
        "ALTER TABLE hubspot_sync.hubspot_bookings ALTER COLUMN exam_date TYPE date"
        " USING (exam_date AT TIME ZONE 'UTC')::date"),
    "materialized view public.exam_days": (
        "CREATE MATERIALIZED VIEW public.exam_days AS SELECT DISTINCT exam_date"
        " FROM hubspot_sync.hubspot_mock_exams",
        "ALTER TABLE hubspot_sync.hubspot_mock_exams ALTER COLUMN exam_date TYPE date"
        " USING exam_date::date"),
    "policy recent_only on hubspot_sync.hubspot_contact_credits": (
        "CREATE POLICY recent_only ON hubspot_sync.hubspot_contact_credits FOR SELECT"
        " TO authenticated USING (created_at > now() - interval '1 year')",
        "ALTER TABLE hubspot_sync.hubspot_contact_credits ALTER COLUMN created_at TYPE"
        " timestamptz USING created_at AT TIME ZONE 'UTC'"),
    "trigger refund_watch on hubspot_sync.hubspot_bookings": (
        "CREATE FUNCTION public.refund_watch() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RETURN NEW; END$$;"
        " CREATE TRIGGER refund_watch BEFORE UPDATE OF token_refunded"
        " ON hubspot_sync.hubspot_bookings FOR EACH ROW EXECUTE FUNCTION public.refund_watch()",
        "ALTER TABLE hubspot_sync.hubspot_bookings ALTER COLUMN token_refunded TYPE boolean"
        " USING token_refunded::boolean"),
    "function public.last_sync()": (
        "CREATE FUNCTION public.last_sync() RETURNS bigint LANGUAGE sql BEGIN ATOMIC"
        " SELECT max(last_sync_timestamp) FROM hubspot_sync.sync_metadata; END",
        "ALTER TABLE hubspot_sync.sync_metadata ALTER COLUMN last_sync_timestamp TYPE"
        " timestamptz USING to_timestamp(last_sync_timestamp / 1000.0)"),
    "publication relation hubspot_sync.hubspot_bookings in publication refunds_only": (
        "CREATE PUBLICATION refunds_only FOR TABLE hubspot_sync.hubspot_bookings"
        " WHERE (token_refunded = 'true') WITH (publish = 'insert')",
        "ALTER TABLE hubspot_sync.hubspot_bookings ALTER COLUMN token_refunded TYPE boolean"
        " USING token_refunded::boolean"),
    "publication relation hubspot_sync.hubspot_mock_exams in publication exam_days": (
        "CREATE PUBLICATION exam_days FOR TABLE hubspot_sync.hubspot_mock_exams"
        " (hubspot_id, exam_date) WITH (publish = 'insert')",
        "ALTER TABLE hubspot_sync.hubspot_mock_exams ALTER COLUMN exam_date TYPE date"
        " USING exam_date::date"),
    "generated column hubspot_sync.hubspot_mock_exams.exam_year": (
        "ALTER TABLE hubspot_sync.hubspot_mock_exams ADD COLUMN exam_year integer"
        " GENERATED ALWAYS AS (extract(year FROM exam_date)::integer) STORED",
        "ALTER TABLE hubspot_sync.hubspot_mock_exams ALTER COLUMN exam_date TYPE date"
        " USING exam_date::date"),
    "view public.cancel_probe": (
        "CREATE VIEW public.cancel_probe AS SELECT 'hubspot_sync.cancel_booking_atomic"
        "(uuid, text, integer)'::regprocedure AS fn, hubspot_sync.cancel_booking_atomic("
        "NULL::uuid, NULL::text, NULL::integer) AS result WHERE false",
        "DROP FUNCTION hubspot_sync.cancel_booking_atomic(uuid, text, integer)"),
}
# rebuilt by ALTER TYPE, or (a publication of the whole table) not in its way: no refusal,
# the upgrade goes through
HARMLESS = ("CREATE PUBLICATION all_bookings FOR TABLE hubspot_sync.hubspot_bookings;"
            " CREATE INDEX bookings_by_exam_day ON hubspot_sync.hubspot_bookings (exam_date);"
            " ALTER TABLE hubspot_sync.hubspot_mock_exams ADD CONSTRAINT exam_after_2000"
            " CHECK (exam_date > '2000-01-01');"
            " CREATE STATISTICS exam_stats ON exam_date, capacity"
            " FROM hubspot_sync.hubspot_mock_exams")


def production(make_database: MakeDatabase, name: str) -> str:
    url = make_database(name)
    load_dump(url)
    return url


def refusals(url: str) -> dict[str, dict]:
    with psycopg.connect(url) as conn:
        return {f["object"]: f for f in adoption.check(conn) if f["kind"] == "refuse"}


def test_check_names_every_dependent_and_postgresql_agrees(
        make_database: MakeDatabase) -> None:
    url = production(make_database, "adopt_dependents")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(HARMLESS)
        for create, _ in PLANTED.values():
            conn.execute(create)
    predicted = refusals(url)
    assert set(predicted) == set(PLANTED)
    assert "which the upgrade changes its type to date" in predicted[
        "view public.bookings_by_day"]["action"]
    assert predicted["view public.cancel_probe"]["revision"] == "0002_mockbook_1_0"
    # each prediction is what PostgreSQL answers to the revision's own statement
    with psycopg.connect(url) as conn:
        for _, statement in PLANTED.values():
            with pytest.raises((psycopg.errors.FeatureNotSupported,
                                psycopg.errors.DependentObjectsStillExist)), conn.transaction():
                conn.execute(statement)
            conn.rollback()
    # and the upgrade stops before it changes anything, naming them
    migrations.stamp(url, BASELINE)
    with pytest.raises(SystemExit) as stopped:
        migrations.upgrade(url, "head")
    for dependent in PLANTED:
        assert dependent in str(stopped.value)
    assert "nothing was changed" in str(stopped.value)
    assert migrations.current(url) == BASELINE
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE"
                            " attrelid = 'hubspot_sync.hubspot_bookings'::regclass"
                            " AND attname = 'exam_date'").fetchone()[0] != "date"


def test_rebuilt_dependents_are_no_refusal_and_the_upgrade_keeps_them(
        make_database: MakeDatabase) -> None:
    url = production(make_database, "adopt_rebuilt")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(HARMLESS)
    assert refusals(url) == {}
    migrations.stamp(url, BASELINE)
    migrations.upgrade(url, "head")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT pg_get_indexdef('hubspot_sync.bookings_by_exam_day'"
                            "::regclass)").fetchone()[0].endswith("(exam_date)")
        assert conn.execute("SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'exam_stats'"
                            ).fetchone()[0] == 1


def test_check_predicts_the_rows_the_upgrade_reports(make_database: MakeDatabase) -> None:
    """`migrate --check` on a stamped production database lists what the upgrade will do to the
    rows: exactly the rows reported when it runs; at head there is nothing left to check."""
    from test_adopt_legacy_data import SEED

    url = production(make_database, "adopt_predicted")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, BASELINE)
    done = CliRunner().invoke(cli, ["--json", "migrate", "--check"],
                              env={"DATABASE_URL": url}, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    findings = json.loads(done.output.strip().splitlines()[-1])["findings"]
    assert findings and all(f["revision"] == adoption.ADOPTION for f in findings)
    predicted = {(f["action"], f["object"], f["record_id"], f["new_value"])
                 for f in findings if f["kind"] == "change" and f["record_id"] is not None}
    migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        reported = set(conn.execute(
            "SELECT action, object, record_id, new_value FROM hubspot_sync.adoption_report"
            " WHERE record_id IS NOT NULL").fetchall())
    assert predicted == reported
    assert {action.split(" adopted")[0] for action, *_ in reported if "legacy" in action} == {
        "legacy duplicate", "legacy over-capacity exam", "legacy booking code",
        "legacy exam time"}
    # at head there is nothing left to check
    done = CliRunner().invoke(cli, ["migrate", "--check"], env={"DATABASE_URL": url},
                              catch_exceptions=False)
    assert done.exit_code == 0 and "(head): nothing to check" in done.output
