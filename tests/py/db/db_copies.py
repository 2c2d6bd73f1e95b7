"""Private copies of db/ for the revision tests (test_fold, test_freeze, test_revision_steps),
the same whether or not the checkout's newest release is cut: ``uncut`` gives a copy whose
newest release is not cut yet (its date set back to null in the copy, as between two releases),
``cut`` one whose pending changes are folded and whose newest release is cut."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from glue.db import revision as freeze

REPO = freeze.DB_DIR.parent


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True,
                          text=True).stdout


def dating_commit(release: dict) -> str:
    """The first commit whose releases.json gives the release its date (where it was cut)."""
    path = "db/migrations/releases.json"
    for commit in git("log", "--reverse", "--format=%H", "--", path).split():
        if any((r["revision"], r["date"]) == (release["revision"], release["date"])
               for r in json.loads(git("show", f"{commit}:{path}"))["releases"]):
            return commit
    raise AssertionError(f"no commit dates release {release['version']}")


def copy_db(tmp_path: Path) -> Path:
    copy = tmp_path / "db"
    shutil.copytree(freeze.DB_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def uncut(tmp_path: Path) -> Path:
    """A copy of db/ whose newest release is the first one after the baseline, not cut, with
    every change of db/ folded into it: a later release not cut yet is taken back (its changes
    folded into the first), a cut first release taken back to uncut, in the copy."""
    copy = copy_db(tmp_path)
    releases = freeze.load_releases(copy)
    if len(releases) > 1 and releases[-1]["date"] is None:
        _take_back(copy, releases)
        releases = freeze.load_releases(copy)
    assert len(releases) == 1, "a copy with a second cut release: extend db_copies.uncut"
    if releases[-1]["date"] is not None:
        releases[-1]["date"] = None
        freeze.save_releases(releases, copy)
    freeze.freeze(db_dir=copy)
    assert freeze.unreleased_revision(copy) == releases[-1]["revision"]
    return copy


def _take_back(copy: Path, releases: list[dict]) -> None:
    """Remove the newest release (not cut) and its revision from the copy, as before its first
    fold: db/ then holds its changes as pending ones. Only after the first release, whose own
    base (the tables, nothing frozen) the manifest can be given again."""
    newest, previous = releases[-1]["revision"], releases[-2]["revision"]
    assert len(releases) == 2, "a third release: extend db_copies._take_back"
    versions = freeze.versions_dir(copy)
    shutil.rmtree(versions / newest)
    (versions / f"{newest}.py").unlink()
    freeze.save_releases(releases[:-1], copy)
    freeze.write_lock({r: pins for r, pins in freeze.read_lock(copy).items() if r != newest}, copy)
    base = freeze.load_manifest(copy)["base"]
    # the tables as the previous release cut them: the newest release's table changes were
    # its hand-written ALTERs, gone with its revision; its new tables become tables the first
    # release writes by hand, before its generated block (as every table of a first release)
    # (its downgrade drops it right after the release's generated block, before the release's
    # hand-written downgrade, which may drop the schema the table lives in: mockbook_internal)
    at = dating_commit(releases[-2])
    folder = versions / previous
    slot = int(freeze._slot(folder / "upgrade"))
    down = freeze._slot(folder / "downgrade")
    for table in sorted((copy / "schema").glob("*.sql")):
        path = freeze.relpath(table, copy)
        if path not in base:
            sql, name = table.read_text(), f"{slot - 1:04d}_{path.replace('/', '_')}"
            (folder / "upgrade" / name).write_text(sql)
            (folder / "downgrade" / f"{down}a_{path.replace('/', '_')}").write_text(
                freeze.drop_statements(sql))
            base[path] = {"sha256": freeze.digest(sql), "frozen": None}
        elif freeze.digest(table.read_text()) != base[path]["sha256"]:
            table.write_text(git("show", f"{at}:db/{path}"))
    freeze.save_manifest({"head": previous, "files": base,
                          "base": {p: e for p, e in base.items() if e["frozen"] is None}}, copy)


def cut(db_dir: Path) -> None:
    """Cut the newest release of a copy when it is not cut yet (the next `freeze` starts another
    release's revision)."""
    if freeze.unreleased_revision(db_dir) is not None:
        number = len(freeze.load_releases(db_dir))
        freeze.cut_release(f"1.{number}.0", "2026-01-01", db_dir)


def released(tmp_path: Path) -> Path:
    """A copy of db/ whose pending changes are all folded and whose newest release is cut."""
    copy = copy_db(tmp_path)
    freeze.freeze(db_dir=copy)
    cut(copy)
    assert freeze.pending_changes(db_dir=copy) == []
    assert freeze.unreleased_revision(copy) is None
    return copy
