"""`alembic upgrade head` on an empty database gives exactly the schema of db/ applied directly.

This is what keeps the frozen revisions honest: db/ is what people edit, revisions carry
frozen copies, and this test fails as soon as the two drift apart (a db/ change without a new
revision, or a revision that does not build what db/ says). The catalogs of the two databases are
compared object by object, by name (see catalog.py); each category is its own test case so a
failure says at once what drifted, and the message lists only the differing objects.
"""

from __future__ import annotations

from collections.abc import Callable

import catalog  # tests/py/catalog.py (pytest puts tests/py on sys.path)
import psycopg
import pytest

from glue.db import migrations
from glue.db.source import apply_source


@pytest.fixture(scope="module")
def snapshots(make_database: Callable[[str], str]) -> tuple[catalog.Snapshot, catalog.Snapshot]:
    migrated = make_database("eq_alembic")
    migrations.upgrade(migrated, "head")
    source = make_database("eq_source")
    apply_source(source)
    return catalog.snapshot_url(migrated), catalog.snapshot_url(source)


@pytest.mark.parametrize("category", catalog.CATEGORIES)
def test_migrations_build_the_db_source_schema(
    snapshots: tuple[catalog.Snapshot, catalog.Snapshot], category: str
) -> None:
    migrated, source = snapshots
    differences = catalog.diff(migrated, source, ("alembic", "db/"), (category,))
    assert not differences, (
        "alembic upgrade head and db/ differ (fold the db/ change into the release's revision "
        "with `make revision`, or fix its hand-written SQL):\n" + "\n".join(differences)
    )


def test_the_snapshot_sees_the_objects_it_compares(
    snapshots: tuple[catalog.Snapshot, catalog.Snapshot],
) -> None:
    """Guard against a vacuous comparison (e.g. a query filtering everything out)."""
    migrated, _ = snapshots
    assert "hubspot_sync.hubspot_bookings" in migrated["tables"]
    assert "hubspot_sync.hubspot_bookings.booking_id" in migrated["columns"]
    assert "hubspot_sync.uq_bookings_one_per_student_type_day" in migrated["indexes"]
    assert "hubspot_sync.hubspot_bookings.service_role_all" in migrated["policies"]
    assert "auth.uid()" in migrated["functions"]
    assert migrated["tables"]["hubspot_sync.hubspot_bookings"]["rls"] is True
    bookings = "hubspot_sync.hubspot_bookings."
    assert migrated["constraints"][bookings + "hubspot_bookings_values_check"]["validated"]
    assert set(migrated["roles"]) == {"anon", "authenticated", "service_role", "mockbook_glue"}
    assert any(k.startswith("mockbook_internal.raise_error(") for k in migrated["functions"])
    assert not any(key.startswith("mockbook.") for c in migrated.values() for key in c)


def test_a_drifted_database_is_reported(database_url: str) -> None:
    """The comparison can fail: alter a copy of the schema (inside a rolled-back transaction)
    in several ways and check each change is named in the diff, and nothing else is."""
    with psycopg.connect(database_url) as conn:
        before = catalog.snapshot(conn)
        conn.execute("CREATE INDEX idx_drift ON hubspot_sync.hubspot_bookings (name)")
        conn.execute("ALTER TABLE hubspot_sync.sync_errors ALTER COLUMN attempts SET DEFAULT 1")
        conn.execute("GRANT SELECT ON hubspot_sync.sync_metadata TO authenticated")
        conn.execute("ALTER TABLE hubspot_sync.sync_queue DISABLE ROW LEVEL SECURITY")
        conn.execute(
            "CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS "
            "$$ SELECT 'drifted'::text $$")
        after = catalog.snapshot(conn)
        conn.rollback()
        assert catalog.snapshot(conn) == before

    report = "\n".join(catalog.diff(before, after, ("before", "after")))
    assert "+ hubspot_sync.idx_drift only in after" in report
    assert "CREATE INDEX idx_drift ON hubspot_sync.hubspot_bookings USING btree (name)" in report
    assert "~ hubspot_sync.sync_errors.attempts\n      default: before='0'  after='1'" in report
    assert "~ hubspot_sync.sync_metadata\n      acl:" in report
    assert "authenticated:SELECT" in report
    assert "~ hubspot_sync.sync_queue\n      rls: before=True  after=False" in report
    assert "~ auth.role()" in report and "+AS $function$ SELECT 'drifted'::text" in report
    changed = {line.split(":")[0] for line in catalog.diff(before, after)}
    assert changed == {"indexes", "columns", "tables", "functions"}
