"""Committed revisions cannot drift.

- db/migrations/revisions.lock pins the sha256 of every revision's .py and of every file of its
  frozen folder: a committed revision whose file changes, appears or disappears fails here,
  named (revision and file). A cut release's revision is never pinned again; the one of the
  release not cut yet is, each time `make revision` folds db/ into it.
- A revision does not import the project's package (its files run through
  db/migrations/steps.py, beside it); proved by upgrading a database in a process where `glue`
  cannot be imported at all.
- No revision drops a view with CASCADE (which would drop what a DBA built on it), except the
  frozen history of 0007 that the lock pins as it was.
- The runner runs a frozen file in another's place only as db/migrations/steps.py pins it:
  the frozen file's hash is the lock's, the replacement's its own, and a replacement that is
  not its pin is refused.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from glue.db import migrations
from glue.db import revision as freeze

MIGRATIONS = freeze.DB_DIR / "migrations"
# What a revision file may import: the standard library, Alembic and SQLAlchemy.
ALLOWED_IMPORTS = {"__future__", "hashlib", "pathlib", "re", "alembic", "sqlalchemy"}
def test_committed_revisions_match_the_lock() -> None:
    problems = freeze.check_lock()
    assert not problems, (
        "db/migrations/revisions.lock: a committed revision changed. Never edit a revision that "
        "is on main: write a new one (make revision). A new revision of your own branch whose "
        "hand-written SQL you just added: make revision-lock.\n" + "\n".join(problems))


def test_the_lock_pins_every_revision_and_file() -> None:
    """Guard against a vacuous check: the lock lists every revision, its .py and its SQL."""
    lock = freeze.read_lock()
    assert list(lock) == migrations.revisions()
    assert lock["0001_baseline"]["versions/0001_baseline.py"]
    assert "versions/0002_mockbook_1_0/upgrade/0000_preamble.sql" in lock["0002_mockbook_1_0"]
    assert sum(len(files) for files in lock.values()) > 300


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """A private copy of db/migrations (under <tmp>/db), the real one left alone."""
    db_dir = tmp_path / "db"
    shutil.copytree(MIGRATIONS, db_dir / "migrations",
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert freeze.check_lock(db_dir) == []
    return db_dir


def test_a_changed_revision_is_named_with_its_file(migrations_copy: Path) -> None:
    versions = migrations_copy / "migrations" / "versions"
    rev = "0002_mockbook_1_0"
    edited = versions / rev / "upgrade" / "0001_dual_id.sql"
    edited.write_text(edited.read_text() + "-- a later edit\n")
    (versions / rev / "upgrade" / "9999_extra.sql").write_text("SELECT 1;\n")
    removed = sorted((versions / rev / "downgrade").glob("*.sql"))[-1]
    removed.unlink()
    (versions / "0001_baseline.py").write_text(
        (versions / "0001_baseline.py").read_text().replace(
            "import sqlalchemy as sa", "import sqlalchemy as sa\nfrom glue import frozen"))

    problems = freeze.check_lock(migrations_copy)
    assert [p.split(" (sha256")[0] for p in problems] == [
        "revision 0001_baseline: versions/0001_baseline.py changed",
        f"revision {rev}: versions/{rev}/downgrade/{removed.name} was removed",
        f"revision {rev}: versions/{rev}/upgrade/0001_dual_id.sql changed",
        f"revision {rev}: versions/{rev}/upgrade/9999_extra.sql was added",
    ]
    # `make revision-lock` re-pins the newest revision only, never an older one
    with pytest.raises(ValueError, match=r"0001_baseline\.py changed"):
        freeze.lock_newest(migrations_copy)


def repinned_revisions(history: list[str], current: dict[str, dict[str, str]],
                       unreleased: str | None = None) -> list[str]:
    """The revisions whose pins in ``current`` differ from a pin an earlier lock gave them after
    a later revision was pinned on top of them (from then on they were committed history), one
    line each. ``history``: earlier texts of revisions.lock. A revision no longer in the lock is
    left to check_lock (branches rename their own unmerged revision when they rebase), and so
    is ``unreleased``, the revision of the release not cut yet, which `make revision` folds
    db/ into; a pin counts only while every revision pinned on top of it still exists (ones
    gone were folded into it before its release was cut)."""
    problems = []
    for number, text in enumerate(history):
        label = f"revisions.lock@{number}"  # history[number]
        pinned: dict[str, dict[str, str]] = {}
        for line in text.splitlines():
            sha, _, name = line.partition("  ")
            pinned.setdefault(name.split("/")[1].removesuffix(".py"), {})[name] = sha
        revs = list(pinned)
        for index, rev in enumerate(revs[:-1]):  # the newest of a lock may still be pinned again
            if any(later not in current for later in revs[index + 1:]):
                continue  # what was on top of it then was folded into it before its release
            if rev in current and rev != unreleased and pinned[rev] != current[rev]:
                changed = sorted(set(pinned[rev].items()) ^ set(current[rev].items()))
                problems.append(f"revision {rev}: pinned differently in {label} "
                                f"({', '.join(sorted({name for name, _ in changed}))})")
    return problems


def lock_history() -> list[str]:
    """Every committed text of db/migrations/revisions.lock in HEAD's history."""
    root = freeze.DB_DIR.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        # A failure, not a skip: CI and every developer run from a git checkout, and a silently
        # skipped check would let a re-pinned old revision through.
        pytest.fail("not a git checkout (or no git): the lock's history cannot be read")
    lock = "db/migrations/revisions.lock"
    commits = subprocess.run(["git", "-C", str(root), "log", "--format=%H", "--", lock],
                             capture_output=True, text=True, check=True).stdout.split()
    return [subprocess.run(["git", "-C", str(root), "show", f"{commit}:{lock}"],
                           capture_output=True, text=True, check=True).stdout
            for commit in commits]


def test_a_committed_pin_is_never_changed() -> None:
    """The lock is append-only: editing a committed revision AND its line in revisions.lock
    (which check_lock alone would accept) fails here, against the lock's own git history."""
    history = lock_history()
    assert history, "revisions.lock has no committed version"
    assert repinned_revisions(history, freeze.read_lock(), freeze.unreleased_revision()) == []


def test_a_repinned_old_revision_is_named(migrations_copy: Path) -> None:
    """The history check has teeth: an old revision edited and re-pinned by hand is found."""
    before = (migrations_copy / "migrations" / "revisions.lock").read_text()
    edited = migrations_copy / "migrations" / "versions" / "0001_baseline" / "upgrade"
    edited = edited / "01_baseline.sql"
    edited.write_text(edited.read_text() + "-- a later edit\n")
    lock = freeze.read_lock(migrations_copy)
    lock["0001_baseline"] = freeze.revision_files("0001_baseline", migrations_copy)
    freeze.write_lock(lock, migrations_copy)
    assert freeze.check_lock(migrations_copy) == []  # re-pinned: the file check is satisfied
    assert repinned_revisions([before], freeze.read_lock(migrations_copy)) == [
        "revision 0001_baseline: pinned differently in revisions.lock@0 "
        "(versions/0001_baseline/upgrade/01_baseline.sql)"]


def test_only_the_newest_revision_is_pinned_again(migrations_copy: Path) -> None:
    newest = freeze.revision_ids(migrations_copy)[-1]
    guard = migrations_copy / "migrations" / "versions" / newest / "upgrade" / "00_hand.sql"
    guard.write_text("SELECT 1;\n")  # hand-written SQL added after `make revision`
    assert freeze.check_lock(migrations_copy) == [
        f"revision {newest}: versions/{newest}/upgrade/00_hand.sql was added"]
    assert freeze.lock_newest(migrations_copy) == newest
    assert freeze.check_lock(migrations_copy) == []
    lines = (migrations_copy / "migrations" / "revisions.lock").read_text().splitlines()
    assert any(line.endswith(f"  versions/{newest}/upgrade/00_hand.sql") for line in lines)


def test_a_revision_missing_from_the_lock_is_named(migrations_copy: Path) -> None:
    lock = freeze.read_lock(migrations_copy)
    newest = list(lock)[-1]
    del lock[newest]
    freeze.write_lock(lock, migrations_copy)
    assert [p.split(" (")[0] for p in freeze.check_lock(migrations_copy)] == [
        f"revision {newest}: not in revisions.lock"]


def test_revision_files_import_nothing_of_the_project() -> None:
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert imported <= ALLOWED_IMPORTS, f"{path.name} imports {imported - ALLOWED_IMPORTS}"
    env = ast.parse((MIGRATIONS / "env.py").read_text())
    assert not any(
        (isinstance(n, ast.ImportFrom) and (n.module or "").startswith("glue"))
        or (isinstance(n, ast.Import) and any(a.name.startswith("glue") for a in n.names))
        for n in ast.walk(env))


def test_migrations_run_where_the_package_cannot_be_imported(
    make_database, tmp_path: Path
) -> None:
    """`alembic upgrade head` in a process where `import glue` fails, from another directory:
    every revision (and env.py) runs on its own."""
    url = make_database("noglue")
    script = (
        "import sys\n"
        "sys.modules['glue'] = None  # any import of the package now raises ImportError\n"
        "from alembic.config import main\n"
        f"main(argv=['-c', {str(migrations.ALEMBIC_INI)!r}, '-x', 'url={url}', "
        "'upgrade', 'head'])\n"
        "assert not any(m == 'glue' or m.startswith('glue.') for m in sys.modules"
        " if sys.modules[m] is not None)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    with psycopg.connect(url) as conn:
        version = conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchone()
    assert version == (migrations.head(),)


_DROP_CASCADE = re.compile(r"\bDROP\b[^;]*\bCASCADE\b", re.IGNORECASE)


def _drop_cascades(sql: str) -> list[str]:
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [m.group(0) for m in _DROP_CASCADE.finditer(code)]


def test_no_drop_cascade_in_db_or_in_revisions() -> None:
    found = {}
    for path in sorted(freeze.DB_DIR.rglob("*.sql")):
        name = path.relative_to(MIGRATIONS).as_posix() if MIGRATIONS in path.parents else (
            path.relative_to(freeze.DB_DIR).as_posix())
        if hits := _drop_cascades(path.read_text()):
            found[name] = hits
    assert not found, f"DROP ... CASCADE would drop objects others built on ours: {found}"
    assert _drop_cascades("SELECT 1;\nDROP MATERIALIZED VIEW x\n  CASCADE;")


def _replaced():
    spec = importlib.util.spec_from_file_location("steps", MIGRATIONS / "steps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_replacement_is_pinned_to_a_locked_frozen_file() -> None:
    replaced = _replaced()
    lock = {path: sha for pins in freeze.read_lock().values() for path, sha in pins.items()}
    assert replaced.REPLACED
    for frozen, (frozen_sha, replacement_sha) in replaced.REPLACED.items():
        assert lock[frozen] == frozen_sha, frozen
        text = (MIGRATIONS / frozen).read_text(encoding="utf-8")
        assert hashlib.sha256((MIGRATIONS / frozen).read_bytes()).hexdigest() == frozen_sha
        assert hashlib.sha256(replaced.replacement(frozen).read_bytes()).hexdigest() == (
            replacement_sha), f"{replaced.replacement(frozen)} is not its pin"
        # what runs for the frozen file is its replacement, and its step says so
        assert replaced.text_of(frozen) == replacement_text(replaced, frozen) != text
        rev, direction, name = frozen.split("/")[1:]
        (step,) = [s for s in replaced.plan(rev, direction) if s.file == frozen]
        assert step.sql.endswith(replaced.text_of(frozen))
        assert step.changed == (
            f"runs as db/migrations/replaced/{rev}/{direction}/{name}",), step.changed
    # the index step's replacement is the frozen file less its first statements
    frozen = "versions/0002_mockbook_1_0/downgrade/0004_schema_changes.sql"
    old, new = (MIGRATIONS / frozen).read_text(), replaced.text_of(frozen)
    tail = old[old.index("ALTER TABLE hubspot_sync.hubspot_bookings DROP COLUMN legacy_issue"):]
    assert new.endswith(tail) and "CREATE UNIQUE INDEX" not in new


def test_a_replacement_that_is_not_its_pin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    replaced = _replaced()
    frozen = next(iter(replaced.REPLACED))
    monkeypatch.setitem(replaced.REPLACED, frozen, (replaced.REPLACED[frozen][0], "0" * 64))
    with pytest.raises(RuntimeError, match="is not the file pinned"):
        replaced.text_of(frozen)


def replacement_text(steps, frozen: str) -> str:
    return steps.replacement(frozen).read_text(encoding="utf-8")
