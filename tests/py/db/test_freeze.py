"""`mockbook db revision` (glue.db.revision): a revision freezes the changed db/ SQL and applies it
without ever reading db/ again. Each test here starts from a copy whose release is cut, so each
`freeze` after a `cut` starts the next release's one revision (folding into an unreleased one:
tests/py/db/test_fold.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import db_copies
import psycopg
import pytest
from alembic import command

from glue.db import migrations
from glue.db import revision as freeze

FUNCTION_V1 = """
CREATE OR REPLACE FUNCTION hubspot_sync.freeze_probe()
RETURNS integer LANGUAGE sql STABLE SET search_path = '' AS $$ SELECT 1 $$;
REVOKE ALL ON FUNCTION hubspot_sync.freeze_probe() FROM PUBLIC, anon, authenticated;
"""
FUNCTION_V2 = FUNCTION_V1.replace("SELECT 1", "SELECT 2")
FUNCTION_V3 = FUNCTION_V1.replace("freeze_probe()\nRETURNS integer", "freeze_probe()\nRETURNS text")
FUNCTION_V3 = FUNCTION_V3.replace("SELECT 1", "SELECT 'three'")


@pytest.fixture
def db_copy(tmp_path: Path) -> Path:
    """A private copy of db/ whose pending changes are all folded and whose release is cut
    (whether or not it is cut in the checkout: db_copies.released)."""
    return db_copies.released(tmp_path)


cut = db_copies.cut


def probe(url: str):
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regprocedure('hubspot_sync.freeze_probe()')").fetchone()
        if row[0] is None:
            return None
        return conn.execute("SELECT hubspot_sync.freeze_probe()").fetchone()[0]


def alembic_at(db_copy: Path, url: str):
    cfg = migrations.alembic_config(url)
    cfg.set_main_option("script_location", str(db_copy / "migrations"))
    return cfg


def test_nothing_to_freeze_gives_no_revision(db_copy: Path) -> None:
    before = sorted(p.name for p in (db_copy / "migrations" / "versions").iterdir())
    assert freeze.freeze("nothing", db_dir=db_copy) is None
    assert sorted(p.name for p in (db_copy / "migrations" / "versions").iterdir()) == before


def test_new_changed_and_retyped_function_round_trip(db_copy: Path, make_database) -> None:
    source = db_copy / "functions" / "freeze_probe.sql"
    source.write_text(FUNCTION_V1)
    rev1 = freeze.freeze("add probe", db_dir=db_copy)
    cut(db_copy)
    source.write_text(FUNCTION_V2)
    rev2 = freeze.freeze("probe returns 2", db_dir=db_copy)
    cut(db_copy)
    source.write_text(FUNCTION_V3)
    rev3 = freeze.freeze("probe returns text", db_dir=db_copy)
    assert rev1 and rev2 and rev3 and len({rev1, rev2, rev3}) == 3
    up3 = "".join(p.read_text() for p in (db_copy / "migrations/versions" / rev3).rglob("*.sql"))
    assert "DROP FUNCTION IF EXISTS hubspot_sync.freeze_probe;" in up3

    # The revisions carry copies: db/ may now change or vanish without affecting them.
    source.write_text("this is not SQL")
    url = make_database("freeze")
    cfg = alembic_at(db_copy, url)
    command.upgrade(cfg, rev1)
    assert probe(url) == 1
    command.upgrade(cfg, rev2)
    assert probe(url) == 2
    command.upgrade(cfg, rev3)
    assert probe(url) == "three"
    command.downgrade(cfg, rev2)
    assert probe(url) == 2
    command.downgrade(cfg, rev1)
    assert probe(url) == 1
    command.downgrade(cfg, "-1")
    assert probe(url) is None


def test_a_downgrade_refers_to_the_earlier_copy_and_checks_its_hash(db_copy: Path,
                                                                   make_database) -> None:
    """A changed file's downgrade is a reference to its previous frozen copy (path and sha256),
    not a second copy; a referenced file edited since is refused when the downgrade runs."""
    source = db_copy / "functions" / "freeze_probe.sql"
    source.write_text(FUNCTION_V1)
    rev1 = freeze.freeze("add probe", db_dir=db_copy)
    cut(db_copy)
    source.write_text(FUNCTION_V2)
    rev2 = freeze.freeze("probe returns 2", db_dir=db_copy)
    versions = db_copy / "migrations" / "versions"
    (earlier,) = (versions / rev1 / "upgrade").glob("*_functions_freeze_probe.sql")
    (down,) = (versions / rev2 / "downgrade").glob("*_functions_freeze_probe.sql")
    digest = hashlib.sha256(earlier.read_bytes()).hexdigest()
    reference = f"-- frozen: versions/{rev1}/upgrade/{earlier.name} sha256:{digest}"
    assert reference in down.read_text().splitlines()
    assert "SELECT 1" not in down.read_text()

    url = make_database("freeze_ref")
    cfg = alembic_at(db_copy, url)
    command.upgrade(cfg, rev2)
    assert probe(url) == 2
    earlier.write_text(earlier.read_text().replace("SELECT 1", "SELECT 7"))
    with pytest.raises(RuntimeError, match=f"{earlier.name} is not the file a revision refers"):
        command.downgrade(cfg, rev1)
    assert probe(url) == 2
    earlier.write_text(earlier.read_text().replace("SELECT 7", "SELECT 1"))
    command.downgrade(cfg, rev1)
    assert probe(url) == 1


def test_deleted_function_is_dropped_and_restored_on_downgrade(db_copy: Path, make_database):
    source = db_copy / "functions" / "freeze_probe.sql"
    source.write_text(FUNCTION_V1)
    added = freeze.freeze("add probe", db_dir=db_copy)
    cut(db_copy)
    source.unlink()
    removed = freeze.freeze("remove probe", db_dir=db_copy)
    url = make_database("freeze_del")
    cfg = alembic_at(db_copy, url)
    command.upgrade(cfg, added)
    assert probe(url) == 1
    command.upgrade(cfg, removed)
    assert probe(url) is None
    command.downgrade(cfg, added)
    assert probe(url) == 1


def test_a_moved_function_file_keeps_its_function(db_copy: Path, make_database) -> None:
    """A file moved to another folder (functions/x.sql -> functions/api/x.sql) is one "moved"
    change: the function stays through the upgrade and the downgrade, and the manifest knows
    the file by its new path."""
    source = db_copy / "functions" / "freeze_probe.sql"
    source.write_text(FUNCTION_V1)
    added = freeze.freeze("add probe", db_dir=db_copy)
    cut(db_copy)
    (db_copy / "functions" / "api").mkdir(exist_ok=True)
    source.rename(db_copy / "functions" / "api" / "freeze_probe.sql")
    assert freeze.pending_changes(db_dir=db_copy) == [freeze.Change(
        "functions/api/freeze_probe.sql", "moved", "functions/freeze_probe.sql")]
    moved = freeze.freeze("move probe", db_dir=db_copy)
    files = freeze.load_manifest(db_copy)["files"]
    assert "functions/freeze_probe.sql" not in files and "functions/api/freeze_probe.sql" in files
    assert freeze.pending_changes(db_dir=db_copy) == []
    url = make_database("freeze_move")
    cfg = alembic_at(db_copy, url)
    command.upgrade(cfg, moved)
    assert probe(url) == 1
    command.downgrade(cfg, added)
    assert probe(url) == 1


def test_changed_table_file_gets_a_guard_that_refuses_to_run(db_copy: Path, make_database):
    table = db_copy / "schema" / "13_sync_metadata.sql"
    table.write_text(table.read_text().replace("error_message text,", "error_message text,\n"
                                               "    note text,"))
    rev = freeze.freeze("add a note column", db_dir=db_copy)
    guard = db_copy / "migrations" / "versions" / rev / "upgrade" / "0000_schema_changes.sql"
    assert "db/schema/13_sync_metadata.sql" in guard.read_text()
    url = make_database("freeze_guard")
    cfg = alembic_at(db_copy, url)
    with pytest.raises(SystemExit, match="write the schema changes"):
        command.upgrade(cfg, rev)


def test_new_table_file_is_frozen_as_is(db_copy: Path, make_database) -> None:
    (db_copy / "schema" / "99_freeze_probe.sql").write_text(
        "CREATE TABLE hubspot_sync.freeze_probe_t (id bigint PRIMARY KEY);\n"
        "ALTER TABLE hubspot_sync.freeze_probe_t ENABLE ROW LEVEL SECURITY;\n")
    rev = freeze.freeze("probe table", db_dir=db_copy)
    folder = db_copy / "migrations" / "versions" / rev
    assert not (folder / "upgrade" / "0000_schema_changes.sql").exists()
    assert "DROP TABLE IF EXISTS hubspot_sync.freeze_probe_t;" in "".join(
        p.read_text() for p in (folder / "downgrade").glob("*.sql"))
    url = make_database("freeze_table")
    cfg = alembic_at(db_copy, url)
    command.upgrade(cfg, rev)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('hubspot_sync.freeze_probe_t')").fetchone()[0]
    command.downgrade(cfg, "-1")
    with psycopg.connect(url) as conn:
        gone = conn.execute("SELECT to_regclass('hubspot_sync.freeze_probe_t')").fetchone()[0]
    assert gone is None


def _trigger(url: str, table: str, name: str = "touch_updated_at"):
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT t.oid, p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE t.tgrelid = %s::regclass AND t.tgname = %s",
            (f"hubspot_sync.{table}", name)).fetchone()
    return row


def test_trigger_function_change_runs_beside_readers_of_the_table(db_copy: Path, make_database):
    """A changed trigger function is applied with CREATE OR REPLACE TRIGGER: no DROP TRIGGER,
    so no ACCESS EXCLUSIVE lock on the hot tables. Proved by upgrading while another session
    holds a read lock on hubspot_bookings: a DROP TRIGGER would wait for it and fail at the
    revision's lock_timeout."""
    source = db_copy / "triggers" / "touch_updated_at.sql"
    source.write_text(source.read_text().replace(
        "    -- the statement already wrote",
        "    -- (a changed body) the statement already wrote"))
    before = freeze.load_manifest(db_copy)["head"]
    rev = freeze.freeze("touch_updated_at body", db_dir=db_copy)
    up = "".join(p.read_text() for p in
                 sorted((db_copy / "migrations/versions" / rev / "upgrade").glob("*.sql")))
    assert "DROP TRIGGER" not in up
    assert "CREATE OR REPLACE TRIGGER touch_updated_at" in up
    url = make_database("freeze_trigger_body")
    cfg = alembic_at(db_copy, url)
    command.upgrade(cfg, before)
    oid, body = _trigger(url, "hubspot_bookings")
    with psycopg.connect(url) as reader:  # a transaction reading the table, left open
        reader.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()
        command.upgrade(cfg, rev)
        reader.rollback()
    new_oid, new_body = _trigger(url, "hubspot_bookings")
    assert new_oid == oid and "(a changed body)" in new_body and "(a changed body)" not in body
    command.downgrade(cfg, before)
    assert _trigger(url, "hubspot_bookings") == (oid, body)


def test_a_trigger_taken_out_of_its_file_is_dropped_and_restored(db_copy: Path, make_database):
    source = db_copy / "triggers" / "touch_updated_at.sql"
    text = source.read_text()
    block = ("CREATE OR REPLACE TRIGGER touch_updated_at\n"
             "    BEFORE UPDATE ON hubspot_sync.hubspot_mock_exams\n"
             "    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now())\n"
             "    EXECUTE FUNCTION mockbook_internal.touch_updated_at();\n")
    assert block in text
    source.write_text(text.replace(block, ""))
    before = freeze.load_manifest(db_copy)["head"]
    rev = freeze.freeze("exams lose touch_updated_at", db_dir=db_copy)
    up = "".join(p.read_text() for p in
                 (db_copy / "migrations/versions" / rev / "upgrade").glob("*.sql"))
    assert "DROP TRIGGER IF EXISTS touch_updated_at ON hubspot_sync.hubspot_mock_exams;" in up
    url = make_database("freeze_trigger_gone")
    cfg = alembic_at(db_copy, url)
    command.upgrade(cfg, rev)
    assert _trigger(url, "hubspot_mock_exams") is None
    assert _trigger(url, "hubspot_bookings") is not None
    command.downgrade(cfg, before)
    assert _trigger(url, "hubspot_mock_exams") is not None


def test_a_new_revision_is_self_contained_and_pinned(db_copy: Path) -> None:
    source = db_copy / "functions" / "freeze_probe.sql"
    source.write_text(FUNCTION_V1)
    rev = freeze.freeze("add probe", db_dir=db_copy)
    text = (db_copy / "migrations" / "versions" / f"{rev}.py").read_text()
    code = text.split('"""', 2)[2]
    # no import of the package: its files run through db/migrations/steps.py, as every
    # revision's do (env.py hands that module to the revision)
    assert "glue" not in code and "import" not in code.replace("from alembic import context", "")
    assert 'context.config.attributes["mockbook.steps"].run(revision, "upgrade")' in code
    assert freeze.check_lock(db_copy) == []
    assert list(freeze.read_lock(db_copy))[-1] == rev


def test_a_revision_is_named_by_whole_words_within_alembics_limit(db_copy: Path) -> None:
    name = freeze.next_revision_id("Audit notes from a window, credit jumps held", db_dir=db_copy)
    number, slug = name.split("_", 1)
    assert number.isdigit() and len(name) <= 32
    assert slug == "audit_notes_from_a_window"  # not "audit_notes_from_a_window_c"
    long_word = freeze.next_revision_id("x" * 40, db_dir=db_copy)
    assert long_word.endswith("_" + "x" * 27)
    assert freeze.next_revision_id("!!!", db_dir=db_copy).endswith("_revision")
