"""What a customer built on the adopted tables keeps working, or the dry run says why not.

A school's DBA adds their own objects to the production tables: a trigger that logs each
booking, a column default, a CHECK constraint and a generated column computed by their
functions, a rule, a policy for their reporting role, a view that role owns. Their functions
are written without a search_path of their own, as people write them, and find their tables
through `public`. After the adoption they run inside mockbook's functions, which pin
`search_path = ''`: every booking would fail with a raw 42P01. Here a booking works before,
`migrate --check` names each object with what breaks and the fix, the upgrade refuses and
changes nothing, the documented fixes are applied as printed, and a booking through mockbook
then runs every object as before. A DBA may instead accept the change
(mockbook.accept_changed_objects = on): the upgrade goes on, reports each object, and the
booking fails exactly as predicted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from postgrest import rpc
from test_adopt_legacy_data import SEED
from test_adopt_production import BASELINE, DUMP, load_dump

from glue.cli import cli
from glue.db import migrations

MakeDatabase = Callable[[str], str]
CUSTOMER_PY = Path(__file__).resolve().parents[3] / "db" / "migrations" / "customer.py"

TABLES = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cust_reporter') THEN
        CREATE ROLE cust_reporter NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA hubspot_sync TO cust_reporter;
GRANT SELECT ON hubspot_sync.hubspot_bookings TO cust_reporter;
CREATE TABLE public.cust_booking_log (booking uuid, at timestamptz DEFAULT now());
CREATE TABLE public.cust_settings (key text PRIMARY KEY, value text);
INSERT INTO public.cust_settings VALUES ('source', 'web');
CREATE TABLE public.cust_locations (name text PRIMARY KEY);
INSERT INTO public.cust_locations VALUES ('mississauga'), ('vancouver'), ('calgary'), ('online');
CREATE TABLE public.cust_rule_log (booking text, label text);
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;
"""
TRIGGER = """
CREATE FUNCTION public.cust_log_booking() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO cust_booking_log (booking) VALUES (NEW.id);  -- "cust_log" in a comment
    RETURN NEW;
END $f$;
CREATE TRIGGER cust_log_booking AFTER INSERT ON hubspot_sync.hubspot_bookings
    FOR EACH ROW EXECUTE FUNCTION public.cust_log_booking();
"""
# each kind of object, as (object as --check names it, its SQL)
OBJECTS = {
    "trigger cust_log_booking on hubspot_sync.hubspot_bookings": TRIGGER,
    "default of hubspot_sync.hubspot_bookings.cust_source": """
CREATE FUNCTION public.cust_source() RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    RETURN (SELECT value FROM cust_settings WHERE key = 'source');
END $f$;
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN cust_source text
    DEFAULT public.cust_source();
""",
    "CHECK constraint cust_known_location on hubspot_sync.hubspot_bookings": """
CREATE FUNCTION public.cust_location_ok(p text) RETURNS boolean LANGUAGE sql STABLE AS $f$
    SELECT p IS NULL OR EXISTS (SELECT FROM cust_locations WHERE name = lower(p))
$f$;
ALTER TABLE hubspot_sync.hubspot_bookings ADD CONSTRAINT cust_known_location
    CHECK (public.cust_location_ok(attending_location));
""",
    "generated column hubspot_sync.hubspot_bookings.cust_label": """
CREATE FUNCTION public.cust_prefix() RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT 'mock: '
$f$;
CREATE FUNCTION public.cust_type_label(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT cust_prefix() || p
$f$;
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN cust_label text
    GENERATED ALWAYS AS (public.cust_type_label(mock_type)) STORED;
""",
    "rule cust_rule on hubspot_sync.hubspot_bookings": """
CREATE FUNCTION public.cust_rule_label(p text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    RETURN (SELECT value FROM cust_settings WHERE key = 'source') || '/' || p;
END $f$;
CREATE RULE cust_rule AS ON INSERT TO hubspot_sync.hubspot_bookings DO ALSO
    INSERT INTO public.cust_rule_log  -- by code: a rule's NEW.id runs the id's default again
    VALUES (NEW.booking_id, public.cust_rule_label(NEW.mock_type));
""",
    "policy cust_reporter_read on hubspot_sync.hubspot_bookings": """
CREATE POLICY cust_reporter_read ON hubspot_sync.hubspot_bookings FOR SELECT
    TO cust_reporter USING (true);
""",
    "event trigger cust_ddl_audit": """
CREATE TABLE public.cust_ddl_log (tag text, object text);
CREATE FUNCTION public.cust_log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $f$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        INSERT INTO cust_ddl_log VALUES (r.command_tag, r.object_identity);
    END LOOP;
END $f$;
CREATE EVENT TRIGGER cust_ddl_audit ON ddl_command_end EXECUTE FUNCTION public.cust_log_ddl();
""",
    "trigger cust_cancel_through_view on view cust_active_bookings": """
CREATE VIEW public.cust_active_bookings AS
    SELECT id, booking_id, is_active FROM hubspot_sync.hubspot_bookings WHERE is_active = 'Active';
CREATE FUNCTION public.cust_cancel() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE hubspot_sync.hubspot_bookings SET is_active = NEW.is_active WHERE id = OLD.id;
    RETURN NEW;
END $f$;
CREATE TRIGGER cust_cancel_through_view INSTEAD OF UPDATE ON public.cust_active_bookings
    FOR EACH ROW EXECUTE FUNCTION public.cust_cancel();
GRANT SELECT, UPDATE ON public.cust_active_bookings TO service_role;
""",
    "view public.cust_booking_counts": """
CREATE VIEW public.cust_booking_counts AS
    SELECT mock_type, count(*) AS bookings FROM hubspot_sync.hubspot_bookings GROUP BY 1;
ALTER VIEW public.cust_booking_counts OWNER TO cust_reporter;
""",
}
# what each object's line says it finds today only through the search path
FOUND_THROUGH_PUBLIC = {
    "trigger cust_log_booking on hubspot_sync.hubspot_bookings":
        "relation cust_booking_log (public.cust_booking_log)",
    "default of hubspot_sync.hubspot_bookings.cust_source":
        "relation cust_settings (public.cust_settings)",
    "CHECK constraint cust_known_location on hubspot_sync.hubspot_bookings":
        "relation cust_locations (public.cust_locations)",
    "generated column hubspot_sync.hubspot_bookings.cust_label":
        "function cust_prefix (public.cust_prefix)",
    "rule cust_rule on hubspot_sync.hubspot_bookings":
        "relation cust_settings (public.cust_settings)",
    "event trigger cust_ddl_audit": "relation cust_ddl_log (public.cust_ddl_log)",
}


def customer_database(fresh_database: MakeDatabase, name: str, objects: list[str]) -> str:
    url = fresh_database(name)
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
        conn.execute(TABLES)
        for obj in objects:
            conn.execute(OBJECTS[obj])
    return url


def book_as_the_old_app(url: str, student: str, exam: str) -> None:
    """Production's create_booking_atomic as the JS app calls it through PostgREST."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('role', 'service_role', true),"
                     " set_config('request.jwt.claims', '{\"role\":\"service_role\"}', true),"
                     " set_config('search_path', 'hubspot_sync, public', true)")
        conn.execute(
            "SELECT hubspot_sync.create_booking_atomic(p_booking_id := %s,"
            " p_student_id := %s, p_student_email := %s, p_mock_exam_id := %s,"
            " p_student_name := 'Old', p_token_used := 'Clinical Skills Token',"
            " p_attending_location := 'mississauga', p_dominant_hand := 'right',"
            " p_idempotency_key := %s, p_credit_field := 'cs_credits', p_new_credit_value := 2)",
            (f"Clinical Skills-{student}-old", student, f"{student.lower()}@example.com", exam,
             f"old-{uuid.uuid4()}"))


def book_through_mockbook(url: str, student: str, exam: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return rpc(conn, "create_booking", p_student_id=student,
                   p_email=f"{student.lower()}@example.com", p_mock_exam_id=exam,
                   p_idempotency_key=f"cust-{uuid.uuid4()}", p_dominant_hand="right",
                   p_attending_location="mississauga")["booking_id"]


def everything_ran(url: str, code: str) -> None:
    """Each object did its work for the booking of code `code`."""
    with psycopg.connect(url) as conn:
        (booking, source, label) = conn.execute(
            "SELECT id, cust_source, cust_label FROM hubspot_sync.hubspot_bookings"
            " WHERE booking_id = %s", (code,)).fetchone()
        assert (source, label) == ("web", "mock: Clinical Skills")
        assert conn.execute("SELECT count(*) FROM public.cust_booking_log WHERE booking = %s",
                            (booking,)).fetchone() == (1,)
        assert conn.execute("SELECT label FROM public.cust_rule_log WHERE booking = %s",
                            (code,)).fetchone() == ("web/Clinical Skills",)
        conn.execute("SET ROLE cust_reporter")
        counts = dict(conn.execute("SELECT mock_type, bookings FROM public.cust_booking_counts"))
        assert counts["Clinical Skills"] >= 1


def check(url: str) -> tuple[int, dict]:
    done = CliRunner().invoke(cli, ["migrate", "--check", "--json"],
                              env={"DATABASE_URL": url}, catch_exceptions=False)
    return done.exit_code, json.loads(done.output.strip().splitlines()[-1])


def test_each_kind_is_named_refused_fixed_as_documented_and_works_after(
        fresh_database: MakeDatabase) -> None:
    url = customer_database(fresh_database, "adopt_customer", list(OBJECTS))
    book_as_the_old_app(url, "OLD5", "51000000002")
    everything_ran(url, "Clinical Skills-OLD5-old")
    migrations.stamp(url, BASELINE)

    # the dry run names every object: what breaks, and the fix; it exits 1
    code, report = check(url)
    assert code == 1
    refused = {f["object"]: f["action"] for f in report["findings"] if f["kind"] == "refuse"}
    assert set(refused) == set(OBJECTS), refused
    assert report["refused_objects"] == len(OBJECTS) and report["refused_rows"] == 0
    for obj, found in FOUND_THROUGH_PUBLIC.items():
        assert found in refused[obj] and "search_path = ''" in refused[obj], refused[obj]
        assert "Fix: ALTER FUNCTION public." in refused[obj], refused[obj]
    assert "42501" in refused["view public.cust_booking_counts"]
    through_view = "trigger cust_cancel_through_view on view cust_active_bookings"
    assert "every write through the view fails with 42501" in refused[through_view]
    assert "for the DDL mockbook runs" in refused["event trigger cust_ddl_audit"]
    assert "cust_reporter" in refused["policy cust_reporter_read on hubspot_sync.hubspot_bookings"]
    text = CliRunner().invoke(cli, ["migrate", "--check"], env={"DATABASE_URL": url}).output
    assert f"0 rows and {len(OBJECTS)} objects refused (the upgrade would stop" in text, text

    # the upgrade refuses the same objects, hint first, and changes nothing
    with pytest.raises(SystemExit) as stopped:
        migrations.upgrade(url, "head")
    block = str(stopped.value)
    assert block.splitlines()[0].startswith("mockbook: Fix each object"), block
    assert "mockbook.accept_changed_objects = on" in block.splitlines()[0]
    assert all(obj in block for obj in OBJECTS)
    assert block.splitlines()[-1] == (
        "nothing was changed: the database is still at 0001_baseline")
    assert migrations.current(url) == BASELINE

    # the fixes as --check printed them: each function pinned, the view owned by the tables'
    # owner (its reader granted), the policy dropped
    with psycopg.connect(url, autocommit=True) as conn:
        for obj, action in refused.items():
            fix = action.split("Fix: ", 1)[1]
            if obj.startswith("policy "):
                conn.execute("DROP POLICY cust_reporter_read ON hubspot_sync.hubspot_bookings")
                continue
            if obj == through_view:   # the app calls mockbook's functions instead
                conn.execute(fix.split("then ", 1)[1])
                continue
            for statement in fix.split(" (", 1)[0].split("; "):  # the SQL, less the note
                conn.execute(statement)
        conn.execute("GRANT SELECT ON public.cust_booking_counts TO cust_reporter")
    code, report = check(url)
    assert code == 0 and report["refused"] == 0, report

    migrations.upgrade(url, "head")
    assert migrations.current(url) == migrations.head()
    everything_ran(url, book_through_mockbook(url, "OLD4", "51000000002"))
    with psycopg.connect(url) as conn:   # the DDL audit logged the adoption's DDL
        assert conn.execute("SELECT count(*) FROM public.cust_ddl_log"
                            " WHERE object LIKE 'mockbook_internal.%'").fetchone()[0] > 0


def test_an_accepted_object_is_adopted_reported_and_breaks_as_predicted(
        fresh_database: MakeDatabase) -> None:
    trigger = "trigger cust_log_booking on hubspot_sync.hubspot_bookings"
    url = customer_database(fresh_database, "adopt_customer_accepted", [trigger])
    migrations.stamp(url, BASELINE)
    os.environ["PGOPTIONS"] = "-c mockbook.accept_changed_objects=on"
    try:
        code, report = check(url)
        migrations.upgrade(url, "head")
    finally:
        del os.environ["PGOPTIONS"]
    accepted = [f for f in report["findings"] if f["object"] == trigger]
    assert code == 0 and [f["kind"] for f in accepted] == ["change"], report
    with psycopg.connect(url) as conn:
        reported = conn.execute(
            "SELECT object, old_value, new_value FROM hubspot_sync.adoption_report"
            " WHERE action LIKE 'object outside mockbook adopted as it is%'").fetchall()
    assert reported == [(trigger, accepted[0]["old_value"], accepted[0]["new_value"])]
    # what --check predicted: mockbook's booking runs the trigger under search_path ''
    with pytest.raises(psycopg.errors.UndefinedTable, match="cust_booking_log"):
        book_through_mockbook(url, "OLD4", "51000000002")


def test_the_names_read_from_a_body() -> None:
    spec = importlib.util.spec_from_file_location("customer", CUSTOMER_PY)
    customer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(customer)
    bare, qualified = customer.identifiers("""
        -- cust_comment in a comment
        /* cust_block
           comment */
        INSERT INTO cust_log (a) SELECT "Quoted Name".x FROM other.tab AS t
        WHERE t.b = 'cust_string' AND c = E'it''s \\' cust_escaped'
          AND d = helper(1) AND e = audit.note(2) AND NEW.id IS NOT NULL;
        EXECUTE $q$ SELECT cust_dynamic $q$;
        PERFORM "Mixed"(1);
    """)
    names = {name for name, _ in bare}
    assert {"cust_log", "helper", "Mixed", "insert", "select"} <= names
    assert not names & {"cust_comment", "cust_block", "cust_string", "cust_escaped",
                        "cust_dynamic", "tab", "note", "x", "id", "other", "audit",
                        "Quoted Name"}
    assert ("helper", True) in bare and ("cust_log", True) in bare  # INSERT INTO x (a)
    assert qualified == {("audit", "note")}


def test_production_triggers_and_policies_are_the_dumps() -> None:
    """customer.py tells production's own objects (whose changes docs/dba.md lists) from a
    customer's by the dump's names."""
    spec = importlib.util.spec_from_file_location("customer", CUSTOMER_PY)
    customer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(customer)
    dump = DUMP.read_text()
    tables = "|".join(customer.ADOPTED)
    triggers = set(re.findall(rf"CREATE TRIGGER (\w+) .* ON hubspot_sync\.(?:{tables}) ", dump))
    policies = set(re.findall(rf'CREATE POLICY "([^"]+)" ON "hubspot_sync"\."(?:{tables})"',
                              dump))
    functions = set(re.findall(r'FUNCTION "?hubspot_sync"?\."?(\w+)', dump))
    assert triggers == set(customer.PRODUCTION_TRIGGERS)
    assert policies == set(customer.PRODUCTION_POLICIES)
    assert functions == set(customer.PRODUCTION_FUNCTIONS)


def test_an_event_trigger_stops_the_upgrade_from_a_release_until_it_is_fixed(
        fresh_database: MakeDatabase) -> None:
    """A DDL audit trigger written with a bare table name, on a database at 1.0: the upgrade
    runs DDL inside mockbook's functions (search_path = ''), where the trigger's name is not
    found. `migrate --check` names it with its fix, the upgrade refuses before it locks
    anything, and with the fix as printed the upgrade runs and the trigger logs it."""
    url = fresh_database("upgrade_event_trigger")
    migrations.upgrade(url, migrations.revisions()[-2])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(OBJECTS["event trigger cust_ddl_audit"])
    code, report = check(url)
    assert code == 1, report
    (finding,) = report["findings"]
    assert finding["object"] == "event trigger cust_ddl_audit" and finding["kind"] == "refuse"
    with pytest.raises(SystemExit) as stopped:
        migrations.upgrade(url, "head")
    assert "event trigger cust_ddl_audit" in str(stopped.value)
    assert stopped.value.state == (f"nothing was changed: the database is at "
                                   f"{migrations.revisions()[-2]}"), stopped.value.state
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(finding["action"].split("Fix: ", 1)[1].split(" (", 1)[0])
    assert check(url)[0] == 0
    migrations.upgrade(url, "head")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM public.cust_ddl_log").fetchone()[0] > 0


COLUMN_GRANTS = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cust_reporter') THEN
        CREATE ROLE cust_reporter NOLOGIN;
    END IF;
END $$;
GRANT SELECT (email), UPDATE (firstname) ON hubspot_sync.hubspot_contact_credits TO anon;
GRANT SELECT (student_id) ON hubspot_sync.hubspot_bookings TO authenticated WITH GRANT OPTION;
GRANT SELECT (booking_id) ON hubspot_sync.hubspot_bookings TO cust_reporter;
GRANT SELECT (group_name) ON hubspot_sync.groups TO anon;
"""
COLUMN_ACLS = """
SELECT a.attrelid::regclass::text, a.attname, a.attacl::text FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND a.attacl IS NOT NULL ORDER BY 1, 2
"""


def test_column_grants_are_reported_revoked_and_given_back(fresh_database: MakeDatabase) -> None:
    """Column-level privileges on the production tables: the API roles' and another role's on
    the adopted tables, anon's on a table mockbook does not own. `--check` lists each, the
    upgrade revokes each with one report row, mockbook's tables then hold no column privilege,
    and the rollback gives every one back."""
    url = fresh_database("adopt_column_grants")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
        conn.execute(COLUMN_GRANTS)
        before = conn.execute(COLUMN_ACLS).fetchall()
    assert len(before) == 5
    migrations.stamp(url, BASELINE)
    code, report = check(url)
    listed = sorted((f["object"], f["old_value"]) for f in report["findings"]
                    if f["action"] == "revoked column privilege")
    assert code == 0 and [o for o, _ in listed] == [
        "groups.group_name SELECT from anon", "hubspot_bookings.booking_id SELECT from "
        "cust_reporter", "hubspot_bookings.student_id SELECT from authenticated",
        "hubspot_contact_credits.email SELECT from anon",
        "hubspot_contact_credits.firstname UPDATE from anon"], listed
    migrations.upgrade(url, "head")
    with psycopg.connect(url) as conn:
        reported = sorted(conn.execute(
            "SELECT object, old_value FROM hubspot_sync.adoption_report"
            " WHERE action = 'revoked column privilege'").fetchall())
        assert conn.execute(COLUMN_ACLS).fetchall() == []
    assert reported == listed
    migrations.downgrade(url, BASELINE)
    with psycopg.connect(url) as conn:
        assert conn.execute(COLUMN_ACLS).fetchall() == before

