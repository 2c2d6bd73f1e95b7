"""The lock step takes everything: no statement of any revision waits for a booking's lock.

db/migrations/steps.py reads from each revision's statements the tables they lock in a mode a
booking's calls conflict with and takes them up front, in the lock order; a revision that locked
a table later, after a booking took it, could deadlock with that booking. Here every revision
runs, both ways, the way a database meets it — an empty one up to head and back down one
revision at a time, and a production database adopted to head and rolled back, each in one
transaction — while a second session reads, after each step, the locks the migration's session
holds (pg_locks) on tables that existed when its transaction began: each must be covered by
what the lock step took for that transaction (the same mode or a stronger one; a row written
or locked: EXCLUSIVE at least, so that no booking holds a row lock there). So a revision
growing a statement whose lock the reading does not see fails here, naming the step, the table
and the mode."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from alembic import command
from test_adopt_legacy_data import SEED
from test_adopt_production import BASELINE, load_dump

from glue.db import migrations
from glue.db.adoption import migrations_module

MakeDatabase = Callable[[str], str]
steps = migrations_module("steps")

# what each mode held needs the lock step to have taken (1 SHARE ... 4 ACCESS EXCLUSIVE)
NEEDS = {"ShareLock": 1, "ShareRowExclusiveLock": 2, "ExclusiveLock": 3,
         "AccessExclusiveLock": 4, "RowExclusiveLock": 3, "RowShareLock": 3}
# the locks the migration's session holds on tables the watcher sees (committed before the
# migration's transaction began): an index or TOAST table stands for its table
HELD = r"""
SELECT format('%%I.%%I', n.nspname, t.relname), l.mode
FROM pg_catalog.pg_locks AS l
JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
LEFT JOIN pg_catalog.pg_index AS i ON i.indexrelid = c.oid
LEFT JOIN pg_catalog.pg_class AS o ON o.reltoastrelid = c.oid
JOIN pg_catalog.pg_class AS t ON t.oid = coalesce(i.indrelid, o.oid, c.oid)
JOIN pg_catalog.pg_namespace AS n ON n.oid = t.relnamespace
WHERE l.pid = %s AND l.granted AND l.locktype = 'relation'
  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d
                    WHERE d.datname = current_database())
  AND t.relkind IN ('r', 'p') AND n.nspname NOT LIKE 'pg\_%%'
  AND n.nspname <> 'information_schema'
  AND t.oid IS DISTINCT FROM to_regclass('mockbook.alembic_version')  -- one migration at a time
"""


def chain(start: str | None, target: str, direction: str) -> list[str]:
    """The revisions a command runs, in order."""
    revs = migrations.revisions()
    if direction == "upgrade":
        first = revs.index(start) + 1 if start else 0
        return revs[first:revs.index(target) + 1]
    last = revs.index(target) if target != "base" else -1
    return list(reversed(revs[last + 1:revs.index(start) + 1]))


def watched(url: str, start: str | None, target: str, direction: str, *,
            one_transaction: bool) -> list[str]:
    """Run the command with a second session watching the migration's locks after each step;
    the locks the lock step did not cover, one line each."""
    revs = chain(start, target, direction)
    plans = {rev: steps.plan(rev, direction) for rev in revs}
    names = [(rev, step.name) for rev in revs for step in plans[rev]]
    found: dict[tuple[str, str], str] = {}  # (table, mode) -> the first step that held it
    seen: list[str] = []
    taken: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as watcher:
        def progress() -> None:
            rev, name = names[len(seen)]
            transaction = "one" if one_transaction else rev
            if not seen or (not one_transaction and rev != names[len(seen) - 1][0]) or (
                    transaction == "one" and len(seen) == 0):
                # what the transaction's lock step took: resolved as it resolved it, on what
                # was committed when the transaction began (all this session sees)
                wanted = set().union(*(s.locks for r in (revs if one_transaction else [rev])
                                       for s in plans[r]))
                taken.clear()
                taken.update(watcher.execute(steps.resolve_sql(wanted)).fetchall()
                             if wanted else [])
            seen.append(name)
            (pid,) = watcher.execute(
                "SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchone()
            for table, mode in watcher.execute(HELD, (pid,)).fetchall():
                if NEEDS.get(mode, 0) > taken.get(table, 0):
                    had = steps.MODES[taken[table] - 1] if table in taken else "nothing"
                    found.setdefault((table, mode), f"{name}: {mode} on {table} (the lock step "
                                                    f"took {had} there)")

        cfg = migrations.alembic_config(url)
        cfg.attributes["progress"] = progress
        (command.upgrade if direction == "upgrade" else command.downgrade)(cfg, target)
    assert len(seen) == len(names), (len(seen), len(names))
    return sorted(found.values())


def test_every_revision_takes_its_locks_up_front_both_ways(
        fresh_database: MakeDatabase) -> None:
    """An empty database one revision at a time (at the baseline, the step to the adoption's
    revision is an adoption: one transaction; and the step back a rollback), up and down."""
    url = fresh_database("locks_fresh")
    found = []
    revs = migrations.revisions()
    for before, rev in zip([None, *revs[:-1]], revs, strict=True):
        found += watched(url, before, rev, "upgrade", one_transaction=before == BASELINE)
    for rev, below in zip(reversed(revs), [*reversed(revs[:-1]), "base"], strict=True):
        found += watched(url, rev, below, "downgrade", one_transaction=below == BASELINE)
    assert found == [], "\n".join(found)


def test_the_adoption_and_its_rollback_take_their_locks_up_front(
        fresh_database: MakeDatabase) -> None:
    url = fresh_database("locks_adoption")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, BASELINE)
    found = watched(url, BASELINE, migrations.head(), "upgrade", one_transaction=True)
    found += watched(url, migrations.head(), BASELINE, "downgrade", one_transaction=True)
    assert found == [], "\n".join(found)


def test_the_reading_sees_what_a_statement_locks() -> None:
    """The reading itself, on statements of each kind (a statement it does not know locks
    every relation it names ACCESS EXCLUSIVE, as a DO block locks those its body names)."""
    def read(sql: str) -> set[tuple[str, str]]:
        return {(lock.name, lock.mode) for lock in steps.locks(sql)}

    assert read("CREATE OR REPLACE TRIGGER t AFTER INSERT OR UPDATE OF a ON sch.x FOR EACH ROW"
                " EXECUTE FUNCTION sch.f();") == {("sch.x", "SHARE ROW EXCLUSIVE")}
    assert read("CREATE INDEX IF NOT EXISTS i ON sch.x (a);") == {("sch.x", "SHARE")}
    assert read("ALTER TABLE sch.x VALIDATE CONSTRAINT c;") == set()
    assert read("ALTER TABLE sch.x ADD COLUMN r int REFERENCES sch.y (id);") == {
        ("sch.x", "ACCESS EXCLUSIVE"), ("sch.y", "SHARE ROW EXCLUSIVE")}
    assert read("UPDATE sch.x SET a = 1 FROM sch.y WHERE sch.y.id = 1;") == {("sch.x", "EXCLUSIVE")}
    assert read("DROP INDEX IF EXISTS sch.i;") == {("sch.i", "ACCESS EXCLUSIVE")}
    assert read("ALTER DOMAIN sch.d ADD CONSTRAINT c CHECK (VALUE > 0);") == {("sch.d", "SHARE")}
    assert read("CREATE OR REPLACE FUNCTION sch.f() RETURNS void LANGUAGE sql"
                " AS $$ DELETE FROM sch.x $$; COMMENT ON TABLE sch.x IS 'x';"
                " GRANT SELECT ON sch.x TO r;") == set()
    assert read("DO $$ BEGIN INSERT INTO sch.x (a) VALUES ('sch.z'); END $$;"
                " SELECT sch.g(); SELECT * FROM sch.w;") == {
        ("sch.x", "ACCESS EXCLUSIVE"), ("sch.w", "ACCESS EXCLUSIVE")}
    assert read("LOCK TABLE sch.x, sch.y IN SHARE MODE;") == {("sch.x", "SHARE"),
                                                              ("sch.y", "SHARE")}


def test_a_later_revision_runs_as_its_files_say() -> None:
    """The revisions after the last cut release run what their files say: no file written to
    run outside the transaction, no CONCURRENTLY, nothing run in a file's place (a `-- frozen:`
    line, which the revision file documents, and the drop of an invalid index aside)."""
    from glue.db import revision

    cut = [r["revision"] for r in revision.load_releases() if r["date"]]
    later = migrations.revisions()[migrations.revisions().index(cut[-1]) + 1:]
    said = {"its `-- frozen:` lines replaced by the files they name",
            "an invalid index of the name it builds is dropped first"}
    found = [f"{step.file}: {why}" for rev in later for direction in ("upgrade", "downgrade")
             for step in steps.plan(rev, direction) for why in step.changed if why not in said]
    found += [f"{step.file}: CONCURRENTLY" for rev in later
              for direction in ("upgrade", "downgrade") for step in steps.plan(rev, direction)
              if steps._CONCURRENTLY.search(steps._code(step.sql))]
    assert found == [], found

