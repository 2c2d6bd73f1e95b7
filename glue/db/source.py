"""The editable SQL under db/: which files exist, in which order they apply, and applying them.

Order: db/schema/, db/functions/ (api/ then internal/), db/triggers/, db/views/, each folder's
files, subfolders included, in path order. Applying db/ directly is what the schema-equivalence
test compares the migrations against; migrations themselves never read these files (each
revision runs the SQL frozen beside it, see db/migrations/script.py.mako).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

PACKAGE = Path(__file__).resolve().parents[1]
# Where db/ and alembic.ini are: inside the package when it was installed from a wheel (setup.py
# copies them to glue/_data/), else beside glue/ (a checkout, or an editable install of one).
BUNDLED = PACKAGE / "_data"
ROOT = BUNDLED if (BUNDLED / "alembic.ini").is_file() else PACKAGE.parent
DB_DIR = ROOT / "db"
ALEMBIC_INI = ROOT / "alembic.ini"
SOURCE_FOLDERS = ("schema", "functions", "triggers", "views")
# Folders whose objects are replaceable (CREATE OR REPLACE): a revision can carry their new text.
REPLACEABLE_FOLDERS = ("functions", "triggers", "views")
APPLY_PREAMBLE = "SET check_function_bodies = off;\n"


def source_files(db_dir: Path = DB_DIR) -> list[Path]:
    """Every db/ source file in apply order."""
    files: list[Path] = []
    for folder in SOURCE_FOLDERS:
        files.extend(sorted((db_dir / folder).rglob("*.sql"), key=lambda p: p.as_posix()))
    return files


def relpath(path: Path, db_dir: Path = DB_DIR) -> str:
    return path.relative_to(db_dir).as_posix()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apply_source(conninfo: str, db_dir: Path = DB_DIR) -> None:
    """Apply db/ to an empty database in one transaction."""
    with psycopg.connect(conninfo, autocommit=False) as conn:
        conn.execute(APPLY_PREAMBLE)
        for path in source_files(db_dir):
            try:
                conn.execute(path.read_text())
            except psycopg.Error as exc:
                raise RuntimeError(f"{relpath(path, db_dir)}: {exc}") from exc
        conn.commit()
