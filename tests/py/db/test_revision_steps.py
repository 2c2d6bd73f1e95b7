"""Every revision, one step at a time, against the catalog of the step before.

The forward pass upgrades an empty database one revision at a time and snapshots the catalog
after each (tests/py/catalog.py: tables, columns, constraints, indexes, functions with their
bodies, triggers, policies, grants, roles). Then, from head down, each revision N is
downgraded — the catalog must be exactly N-1's snapshot — and applied again to that catalog — it
must give exactly N's snapshot — and downgraded again. So a downgrade that forgets a grant, a
trigger or an index, or an upgrade that depends on what an earlier run left behind, is named
with its revision. (Head equals db/: tests/py/db/test_schema_equivalence.py.)

A revision changing a view drops the materialized view without CASCADE: an object a DBA built
on it makes the upgrade fail, naming that object, and nothing is dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import catalog  # tests/py/catalog.py (pytest puts tests/py on sys.path)
import db_copies
import psycopg
import pytest
from alembic import command
from psycopg import sql

from glue.db import migrations
from glue.db import revision as freeze

# Downgrades that are known not to restore the previous catalog exactly, frozen so in committed
# revisions (the lock pins them; a later revision cannot change what an earlier downgrade does):
# (category, object, field or None for the whole object) keep their state of the revision.
KNOWN_RESIDUE: dict[str, tuple[str, list[tuple[str, str, str | None]]]] = {
    "0001_baseline": (
        "the schema hubspot_sync is left, with production's grants (the baseline creates it "
        "IF NOT EXISTS: on an adopted database it predates mockbook)",
        [("schemas", "hubspot_sync", None)]),
    "0002_mockbook_1_0": (
        "the auth schema and auth.uid()/jwt()/role() are kept, as the Supabase roles are: on "
        "Supabase they are Supabase's own (its downgrade says so)",
        [("schemas", "auth", None), ("functions", "auth.jwt()", None),
         ("functions", "auth.role()", None), ("functions", "auth.uid()", None)]),
}


def _expected(snapshots: dict[str, catalog.Snapshot], at: str, residue_of: list[str],
              downgraded: dict[str, str]) -> catalog.Snapshot:
    """The catalog `at` a revision, with the known residue of the revisions in `residue_of`
    (each object keeps its state of the revision whose downgrade left it) until a lower
    revision's downgrade (in `downgraded`: revision -> the one before) drops the object."""
    expected = copy.deepcopy(snapshots[at])
    for rev in sorted(residue_of):
        for category, key, field in KNOWN_RESIDUE.get(rev, ("", []))[1]:
            if any(lower < rev and key in snapshots[lower][category]
                   and key not in snapshots[before][category]
                   for lower, before in downgraded.items()):
                continue  # the downgrade of the revision that created it dropped it since
            kept = snapshots[rev][category][key]
            if field is None:
                expected[category][key] = copy.deepcopy(kept)
            else:
                expected[category].setdefault(key, {})[field] = kept[field]
    return expected


def test_each_revision_steps_up_and_down_between_the_same_catalogs(
    make_database: Callable[[str], str],
) -> None:
    url = make_database("steps")
    revisions = migrations.revisions()
    previous = dict(zip(revisions, ["base", *revisions[:-1]], strict=True))
    snapshots = {"base": catalog.snapshot_url(url)}
    for rev in revisions:  # forward, one revision at a time
        migrations.upgrade(url, rev)
        snapshots[rev] = catalog.snapshot_url(url)

    # from head down: N-1's catalog after N's downgrade, N's again after applying N to it
    failures: list[str] = []
    downgraded: dict[str, str] = {}
    for rev in reversed(revisions):
        before = previous[rev]
        migrations.downgrade(url, before)
        downgraded[rev] = before
        if found := catalog.diff(_expected(snapshots, before, list(downgraded), downgraded),
                                 catalog.snapshot_url(url), (before, f"downgrade of {rev}")):
            failures.append(f"downgrade of {rev} does not give {before}'s catalog:\n"
                            + "\n".join(found))
        migrations.upgrade(url, rev)
        if found := catalog.diff(_expected(snapshots, rev, list(downgraded)[:-1], downgraded),
                                 catalog.snapshot_url(url), (rev, f"{rev} again")):
            failures.append(f"{rev} applied again on {before} differs:\n" + "\n".join(found))
        migrations.downgrade(url, before)
    assert migrations.current(url) is None
    # not vacuous: the steps do change the catalog
    assert all(snapshots[rev] != snapshots[previous[rev]] for rev in revisions)
    assert not failures, "\n\n".join(failures)


def test_a_dependent_object_stops_the_view_change_instead_of_being_dropped(
    make_database: Callable[[str], str], tmp_path: Path,
) -> None:
    """A revision changing the view (frozen from a copy of db/), both ways: its downgrade runs
    the previous frozen copy it refers to."""
    db_copy = db_copies.released(tmp_path)
    before = freeze.load_manifest(db_copy)["head"]
    view = db_copy / "views" / "exam_utilization.sql"
    view.write_text(view.read_text() + "\n-- changed\n")
    rev = freeze.freeze("exam utilization changed", db_dir=db_copy)
    assert rev
    url = make_database("view_dependent")
    cfg = migrations.alembic_config(url)
    cfg.set_main_option("script_location", str(db_copy / "migrations"))
    command.upgrade(cfg, before)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE VIEW public.dba_exam_report AS "
                     "SELECT hubspot_id, bookings FROM hubspot_sync.exam_utilization")

    with pytest.raises(SystemExit) as refused:   # the runner's block: the hint first
        command.upgrade(cfg, rev)
    assert refused.value.sqlstate == "2BP01"
    assert str(refused.value).startswith("mockbook: Drop or change the object"), refused.value
    assert "CASCADE" not in str(refused.value)
    assert "hubspot_sync.exam_utilization" in str(refused.value)
    assert "view dba_exam_report depends on materialized view hubspot_sync.exam_utilization" in (
        refused.value.detail or "")
    assert migrations.current(url) == before
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('public.dba_exam_report')").fetchone()[0]

    # the documented way through: drop it, migrate, re-create it
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP VIEW public.dba_exam_report")
    command.upgrade(cfg, rev)
    assert migrations.current(url) == rev
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE VIEW public.dba_exam_report AS "
                     "SELECT hubspot_id, bookings FROM hubspot_sync.exam_utilization")
    # and the downgrade, re-creating the old view, refuses the same way
    with pytest.raises(SystemExit, match="view dba_exam_report depends on"):
        command.downgrade(cfg, before)
    assert migrations.current(url) == rev


def test_the_upgrade_compiles_in_the_zone_a_1_0_database_stored(
    make_database: Callable[[str], str],
) -> None:
    """1.0 read the zone from the database setting; 1.1 reads what is compiled into
    business_timezone(): the upgrade compiles in the zone 1.0 stored, and the downgrade leaves
    the setting, which 1.0 reads again."""
    url = make_database("zone_upgrade")
    migrations.upgrade(url, "0002_mockbook_1_0")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET mockbook.business_timezone = 'Europe/London'")
                     .format(sql.Identifier(conn.info.dbname)))
    migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT mockbook_internal.business_timezone()").fetchone()[0] == (
            "Europe/London")
        # no other session's copy of the setting is read: the body holds the zone
        conn.execute("SET mockbook.business_timezone = 'Asia/Tokyo'")
        assert conn.execute("SELECT mockbook_internal.business_timezone()").fetchone()[0] == (
            "Europe/London")
    migrations.downgrade(url, "0002_mockbook_1_0")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT mockbook_internal.business_timezone()").fetchone()[0] == (
            "Europe/London")


def test_the_upgrade_derives_again_the_end_of_a_day_whose_next_midnight_repeats(
    make_database: Callable[[str], str],
) -> None:
    """1.0 stored an exam without an end time as ending at the next day's midnight read by
    PostgreSQL, the second 00:00 where the clocks go back over it (America/Havana 2027-11-07:
    05:00Z); 1.1 ends the day at the next day's first instant (04:00Z), and the upgrade derives
    the stored ends again (an exam with a known end keeps its own)."""
    url = make_database("day_ends_upgrade")
    migrations.upgrade(url, "0002_mockbook_1_0")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET mockbook.business_timezone = 'America/Havana'")
                     .format(sql.Identifier(conn.info.dbname)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, exam_date,"
                     " start_time, end_time) VALUES ('DAY1', '2027-11-06', '18:00', NULL),"
                     " ('DAY2', '2027-11-06', '18:00', '20:00')")
        ends = dict(conn.execute("SELECT hubspot_id, exam_ends_at::text FROM"
                                 " hubspot_sync.hubspot_mock_exams").fetchall())
        assert ends == {"DAY1": "2027-11-07 05:00:00+00", "DAY2": "2027-11-07 00:00:00+00"}
    migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        ends = dict(conn.execute("SELECT hubspot_id, exam_ends_at::text FROM"
                                 " hubspot_sync.hubspot_mock_exams").fetchall())
        assert ends == {"DAY1": "2027-11-07 04:00:00+00", "DAY2": "2027-11-07 00:00:00+00"}
