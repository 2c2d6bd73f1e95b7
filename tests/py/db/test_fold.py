"""One revision per release: while a release is not cut, `mockbook db revision` folds db/ into
its one revision instead of adding another (glue.db.revision.freeze), whatever state db/ and the
manifest are in; once it is cut, the next run starts the next release's revision. And the
repository itself: between two releases lies exactly one revision (releases.json, and the git
tags v<version>), and the CHANGELOG has one section per release."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import db_copies
import psycopg
import pytest
from alembic import command

from glue.db import migrations
from glue.db import revision as freeze

CHANGED = "functions/internal/lock_exam.sql"
NEW = "functions/internal/fold_probe.sql"
NEW_FUNCTION = """
CREATE OR REPLACE FUNCTION mockbook_internal.fold_probe()
RETURNS integer LANGUAGE sql STABLE SET search_path = '' AS $$ SELECT 41 + 1 $$;
REVOKE ALL ON FUNCTION mockbook_internal.fold_probe() FROM PUBLIC, anon, authenticated;
"""
MARKER = "-- folded body change"


@pytest.fixture
def db_copy(tmp_path: Path) -> Path:
    """A private copy of db/ whose newest release is not cut (whether or not it is cut in the
    checkout: db_copies.uncut)."""
    return db_copies.uncut(tmp_path)


def change_body(db_dir: Path) -> None:
    path = db_dir / CHANGED
    path.write_text(path.read_text().replace("BEGIN\n", f"BEGIN\n    {MARKER}\n", 1))


def migrations_state(db_dir: Path) -> dict[str, str]:
    """Every file under db/migrations with its sha256 (what a fold may write)."""
    base = db_dir / "migrations"
    return {p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def alembic_at(db_dir: Path, url: str):
    cfg = migrations.alembic_config(url)
    cfg.set_main_option("script_location", str(db_dir / "migrations"))
    return cfg


def test_a_change_is_folded_into_the_unreleased_revision(db_copy: Path, make_database) -> None:
    revisions = freeze.revision_ids(db_copy)
    rev = freeze.unreleased_revision(db_copy)
    assert rev == revisions[-1]
    change_body(db_copy)
    (db_copy / NEW).write_text(NEW_FUNCTION)

    assert freeze.freeze(db_dir=db_copy) == rev
    assert freeze.revision_ids(db_copy) == revisions  # no new revision
    files = freeze.load_manifest(db_copy)["files"]
    frozen = db_copy / "migrations" / files[CHANGED]["frozen"]
    assert frozen.parent == db_copy / "migrations" / "versions" / rev / "upgrade"
    assert MARKER in frozen.read_text()
    # the block runs in db/'s apply order, the new file among its neighbours
    block = [files[p]["frozen"].rsplit("/", 1)[1] for p in files if files[p]["frozen"]]
    order = [freeze.relpath(p, db_copy) for p in freeze.source_files(db_copy)]
    assert sorted(block) == [files[p]["frozen"].rsplit("/", 1)[1] for p in order
                             if files[p]["frozen"]]
    downgrade = "".join(p.read_text() for p in
                        (db_copy / "migrations" / "versions" / rev / "downgrade").glob("*.sql"))
    assert "DROP FUNCTION IF EXISTS mockbook_internal.fold_probe;" in downgrade
    assert freeze.pending_changes(db_dir=db_copy) == []
    assert freeze.check_lock(db_copy) == []
    assert freeze.check_releases(db_copy) == []

    url = make_database("fold")
    cfg = alembic_at(db_copy, url)
    command.upgrade(cfg, "head")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT mockbook_internal.fold_probe()").fetchone()[0] == 42
        body = conn.execute("SELECT pg_get_functiondef("
                            "'mockbook_internal.lock_exam(text)'::regprocedure)").fetchone()[0]
        assert MARKER in body
    command.downgrade(cfg, revisions[-2])
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT to_regprocedure('mockbook_internal.fold_probe()')").fetchone()[0] is None


def test_folding_is_idempotent_and_independent_of_the_steps(db_copy: Path,
                                                            tmp_path: Path) -> None:
    """Two folds of two changes, or one fold of both, or a change folded and reverted: the same
    files, byte for byte; a fold with nothing pending changes nothing."""
    untouched = migrations_state(db_copy)
    stepwise = tmp_path / "stepwise"
    shutil.copytree(db_copy, stepwise)

    change_body(db_copy)
    (db_copy / NEW).write_text(NEW_FUNCTION)
    freeze.freeze(db_dir=db_copy)
    at_once = migrations_state(db_copy)
    assert at_once != untouched
    assert freeze.freeze(db_dir=db_copy) is None
    assert migrations_state(db_copy) == at_once

    change_body(stepwise)
    freeze.freeze(db_dir=stepwise)
    (stepwise / NEW).write_text(NEW_FUNCTION)
    freeze.freeze(db_dir=stepwise)
    assert migrations_state(stepwise) == at_once

    # reverted: the revision is what it was (the manifest's order of keys aside)
    (stepwise / NEW).unlink()
    shutil.copyfile(freeze.DB_DIR / CHANGED, stepwise / CHANGED)
    freeze.freeze(db_dir=stepwise)
    assert migrations_state(stepwise) == untouched


def test_a_fold_from_a_stale_manifest_gives_the_same_revision(db_copy: Path,
                                                              tmp_path: Path) -> None:
    """After a merge, frozen.json may know none of the other branches' changes: the fold
    rebuilds the release's block from db/ and the last cut release, not from the manifest's
    own state."""
    change_body(db_copy)
    (db_copy / NEW).write_text(NEW_FUNCTION)
    folded = tmp_path / "folded"
    shutil.copytree(db_copy, folded)
    freeze.freeze(db_dir=folded)
    manifest = freeze.load_manifest(db_copy)
    for entry in manifest["files"].values():
        entry["sha256"] = "0" * 64  # every file "changed" since the manifest was written
    freeze.save_manifest(manifest, db_copy)
    freeze.freeze(db_dir=db_copy)
    assert migrations_state(db_copy) == migrations_state(folded)


def test_a_cut_release_makes_the_next_change_the_next_releases_revision(db_copy: Path) -> None:
    first = freeze.unreleased_revision(db_copy)
    freeze.cut_release(freeze.load_releases(db_copy)[-1]["version"] or "1.0.0", "2026-01-02",
                       db_copy)
    assert freeze.unreleased_revision(db_copy) is None
    change_body(db_copy)
    with pytest.raises(ValueError, match="needs a name"):
        freeze.freeze(db_dir=db_copy)
    rev = freeze.freeze("lock exam comment", db_dir=db_copy)
    assert rev and rev != first and freeze.revision_ids(db_copy)[-2:] == [first, rev]
    assert freeze.unreleased_revision(db_copy) == rev
    (db_copy / NEW).write_text(NEW_FUNCTION)
    assert freeze.freeze(db_dir=db_copy) == rev  # folded, not a third revision
    assert len(freeze.revision_ids(db_copy)) == 3
    down = "".join(p.read_text() for p in
                   (db_copy / "migrations" / "versions" / rev / "downgrade").glob("*.sql"))
    assert f"-- frozen: versions/{first}/upgrade/" in down  # the cut release's copy, by reference
    assert freeze.check_releases(db_copy) == [] and freeze.check_lock(db_copy) == []
    # the cut revision was not touched
    assert all(not p.startswith(f"revision {first}") for p in freeze.check_lock(db_copy))


def test_a_second_revision_between_two_releases_is_named(db_copy: Path) -> None:
    first = freeze.unreleased_revision(db_copy)
    versions = db_copy / "migrations" / "versions"
    extra = "0003_second_revision"
    (versions / f"{extra}.py").write_text(
        freeze.render_revision(db_copy / "migrations", extra, first, "second revision"))
    assert freeze.check_releases(db_copy) == [
        f"revision {extra} is not the revision of a release: fold it into its release's one "
        "revision"]
    releases = freeze.load_releases(db_copy)
    releases.append({"version": "1.1.0", "revision": extra, "date": None})
    freeze.save_releases(releases, db_copy)
    assert freeze.check_releases(db_copy) == [
        "release 1.0.0 is not cut (date null) but a later release is"]


REPO = freeze.DB_DIR.parent
CHANGELOG = REPO / "CHANGELOG.md"
_HEADING = re.compile(r"^## (\S+) — (unreleased|\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def changelog_sections(text: str) -> list[tuple[str, str, str]]:
    """[(version, date or "unreleased", section text)], newest first."""
    heads = list(_HEADING.finditer(text))
    ends = [m.start() for m in heads[1:]] + [len(text)] * bool(heads)
    return [(m[1], m[2], text[m.end():end]) for m, end in zip(heads, ends, strict=True)]


def test_the_repository_has_one_revision_per_release_and_one_changelog_section_each() -> None:
    assert freeze.check_releases() == []
    releases = freeze.load_releases()
    assert releases and freeze.revision_ids()[1:] == [r["revision"] for r in releases]
    sections = changelog_sections(CHANGELOG.read_text())
    # an uncut release's version is chosen when it is cut (null until then): any heading
    assert [(v, d) for v, d, _ in sections] == [
        (r["version"] or v, r["date"] or "unreleased")
        for r, (v, _, _) in zip(reversed(releases), sections, strict=False)]
    assert len(sections) == len(releases)
    named = re.compile(r"`(\d{4}_[a-z0-9_]+)`")
    for (version, _, text), release in zip(sections, reversed(releases), strict=True):
        # the release's one revision (the production baseline may be named beside it)
        assert set(named.findall(text)) - {"0001_baseline"} == {release["revision"]}, version


def test_the_changelog_check_sees_a_missing_or_wrong_section() -> None:
    text = CHANGELOG.read_text()
    assert changelog_sections(text)
    assert changelog_sections(re.sub(r"^(## \S+) — ", r"\1 - ", text, flags=re.M)) == []
    assert len(changelog_sections(text.replace("## 1.0.0 — ", "## 1.0.0 - "))) == len(
        changelog_sections(text)) - 1


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True,
                          text=True).stdout


def revisions_at(ref: str) -> set[str]:
    """The revisions (after the production baseline) in the tree of a git ref."""
    names = git("ls-tree", "--name-only", f"{ref}:db/migrations/versions").split()
    return {n.removesuffix(".py") for n in names if n.endswith(".py")} - {"0001_baseline"}


def crowded_releases(steps: list[tuple[str, set[str]]]) -> list[str]:
    """The steps (a release tag, or HEAD after the last tag, with the revisions in its tree)
    that add more than one revision to the step before: one revision per release."""
    found, before = [], set()
    for name, revisions in steps:
        if len(revisions - before) > 1:
            found.append(f"{name} adds {sorted(revisions - before)}")
        before = revisions
    return found


def dating_commit(release: dict) -> str:
    """The first commit whose releases.json gives the release its date (where it was cut)."""
    path = "db/migrations/releases.json"
    for commit in git("log", "--reverse", "--format=%H", "--", path).split():
        if any((r["revision"], r["date"]) == (release["revision"], release["date"])
               for r in json.loads(git("show", f"{commit}:{path}"))["releases"]):
            return commit
    raise AssertionError(f"no commit dates release {release['version']}")


def test_at_most_one_revision_lies_between_two_release_tags() -> None:
    """Each cut release is a step (its tag v<version>, or the commit that dated it while it has
    no tag yet), HEAD the last: each adds at most one revision to the step before."""
    tags = git("tag", "--list", "v[0-9]*", "--sort=v:refname").split()
    releases = freeze.load_releases()
    cut = [(f"v{r['version']}", f"v{r['version']}" if f"v{r['version']}" in tags
            else dating_commit(r)) for r in releases if r["date"]]
    steps = [(name, revisions_at(ref)) for name, ref in cut] + [("HEAD", revisions_at("HEAD"))]
    assert crowded_releases(steps) == []
    for release in releases:  # a tagged release holds its revision
        if f"v{release['version']}" in tags:
            assert release["revision"] in revisions_at(f"v{release['version']}")


def test_the_tag_check_sees_two_revisions_in_one_release() -> None:
    assert crowded_releases([("v1.0.0", {"0002_a"}), ("HEAD", {"0002_a", "0003_b"})]) == []
    assert crowded_releases([("v1.0.0", {"0002_a"}), ("v1.1.0", {"0002_a", "0003_b", "0004_c"})]
                            ) == ["v1.1.0 adds ['0003_b', '0004_c']"]
    assert crowded_releases([("HEAD", {"0002_a", "0003_b"})]) == ["HEAD adds ['0002_a', '0003_b']"]


def test_a_merge_is_folded_whatever_it_left_in_db_migrations(db_copy: Path, tmp_path: Path):
    """The state a merge of a branch started before the release's one revision leaves: its own
    `make revision` (a revision after the release's, generated files only), revisions.lock with
    its lines, lines of revisions folded away since and conflict markers, frozen.json in
    conflict. One fold gives exactly what folding the same db/ on a clean tree gives."""
    change_body(db_copy)
    (db_copy / NEW).write_text(NEW_FUNCTION)
    clean = tmp_path / "clean"
    shutil.copytree(db_copy, clean)
    freeze.freeze(db_dir=clean)

    first = freeze.unreleased_revision(db_copy)
    versions = db_copy / "migrations" / "versions"
    theirs = "0013_lock_exam_comment"
    (versions / f"{theirs}.py").write_text(
        freeze.render_revision(db_copy / "migrations", theirs, first, "lock exam comment"))
    for direction, header in (("upgrade", "Frozen copy of"), ("downgrade", "Undo")):
        (versions / theirs / direction).mkdir(parents=True)
        (versions / theirs / direction / "00_preamble.sql").write_text(freeze.PREAMBLE)
        (versions / theirs / direction / f"01_{CHANGED.replace('/', '_')}").write_text(
            f"-- {header} db/{CHANGED} (changed).\n" + (db_copy / CHANGED).read_text())
    lock = db_copy / "migrations" / "revisions.lock"
    pinned = lock.read_text().splitlines()
    lock.write_text("\n".join(["<<<<<<< HEAD", *pinned, "=======", *pinned[:3],
                               f"{'0' * 64}  versions/0003_rules_read_by_plpgsql.py",
                               f"{'1' * 64}  versions/{theirs}.py", ">>>>>>> theirs"]) + "\n")
    manifest = db_copy / "migrations" / "frozen.json"
    manifest.write_text("<<<<<<< HEAD\n" + manifest.read_text() + "=======\n{}\n>>>>>>> x\n")

    assert freeze.freeze(db_dir=db_copy) == first
    assert freeze.revision_ids(db_copy) == freeze.revision_ids(clean)
    assert migrations_state(db_copy) == migrations_state(clean)
    assert freeze.check_lock(db_copy) == [] and freeze.check_releases(db_copy) == []


def test_a_later_revision_with_hand_written_sql_is_not_folded_away(db_copy: Path) -> None:
    first = freeze.unreleased_revision(db_copy)
    versions = db_copy / "migrations" / "versions"
    theirs = "0013_note_column"
    (versions / f"{theirs}.py").write_text(
        freeze.render_revision(db_copy / "migrations", theirs, first, "note column"))
    (versions / theirs / "upgrade").mkdir(parents=True)
    (versions / theirs / "upgrade" / "00_schema_changes.sql").write_text(
        "ALTER TABLE hubspot_sync.sync_metadata ADD COLUMN note text;\n")
    change_body(db_copy)
    with pytest.raises(ValueError, match=f"{theirs} follows the unreleased {first} and holds "
                                         r"hand-written SQL \(upgrade/00_schema_changes.sql\)"):
        freeze.freeze(db_dir=db_copy)
    assert (versions / f"{theirs}.py").exists()
