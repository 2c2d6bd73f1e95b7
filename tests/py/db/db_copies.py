"""Private copies of db/ for the revision tests (test_fold, test_freeze, test_revision_steps),
the same whether or not the checkout's newest release is cut: ``uncut`` gives a copy whose
newest release is not cut yet (its date set back to null in the copy, as between two releases),
``cut`` one whose pending changes are folded and whose newest release is cut."""

from __future__ import annotations

import shutil
from pathlib import Path

from glue.db import revision as freeze


def copy_db(tmp_path: Path) -> Path:
    copy = tmp_path / "db"
    shutil.copytree(freeze.DB_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def uncut(tmp_path: Path) -> Path:
    """A copy of db/ whose newest release is not cut (a cut one is taken back, in the copy)."""
    copy = copy_db(tmp_path)
    releases = freeze.load_releases(copy)
    if releases[-1]["date"] is not None:
        releases[-1]["date"] = None
        freeze.save_releases(releases, copy)
    assert freeze.unreleased_revision(copy) == releases[-1]["revision"]
    return copy


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
