"""`mockbook db revision`: a new Alembic revision carrying a frozen copy of the changed db/ SQL.

db/ is what people edit; a revision never reads it when it runs. This module compares db/ with
the manifest `db/migrations/frozen.json` (the sha256 of every db/ file as of the newest revision
and where its frozen copy lives) and writes `versions/<NNNN>_<slug>.py` plus
`versions/<NNNN>_<slug>/upgrade|downgrade/*.sql`:

- a new or changed function, trigger or view file is copied verbatim into upgrade/ (it is
  re-applicable: CREATE OR REPLACE, DROP ... IF EXISTS then CREATE); its downgrade is the
  previous frozen copy, or, for a new file, DROP statements generated from its CREATE statements;
- a deleted file gets the DROP statements in upgrade/ and its last frozen copy in downgrade/;
- a new db/schema/ file (a new table) is copied as it is, its downgrade drops the table;
- a changed db/schema/ file (tables) cannot be turned into ALTER statements mechanically: the
  revision gets `upgrade/00_schema_changes.sql` that names the changed files and refuses to run
  until a person writes the ALTERs there (the schema-equivalence test then proves them right).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from glue.dbsource import DB_DIR, REPLACEABLE_FOLDERS, digest, relpath, source_files


def versions_dir(db_dir: Path = DB_DIR) -> Path:
    return db_dir / "migrations" / "versions"


def manifest_path(db_dir: Path = DB_DIR) -> Path:
    return db_dir / "migrations" / "frozen.json"


_CREATE = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?P<kind>FUNCTION|MATERIALIZED\s+VIEW|VIEW|TRIGGER|TABLE)\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>[\w.\"]+)",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([\w.\"]+)\s*\((.*?)\)\s*RETURNS\s+(.*?)\s+"
    r"(?:LANGUAGE|AS|SET|STABLE|VOLATILE|IMMUTABLE|SECURITY)\b",
    re.IGNORECASE | re.DOTALL,
)
PREAMBLE = "SET lock_timeout = '5s';\nSET check_function_bodies = off;\n"


@dataclass(frozen=True)
class Change:
    path: str  # relative to db/, e.g. "functions/create_booking.sql"
    kind: str  # "new", "changed" or "deleted"


def load_manifest(db_dir: Path = DB_DIR) -> dict:
    return json.loads(manifest_path(db_dir).read_text())


def save_manifest(manifest: dict, db_dir: Path = DB_DIR) -> None:
    manifest_path(db_dir).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def pending_changes(manifest: dict | None = None, db_dir: Path = DB_DIR) -> list[Change]:
    """db/ files that differ from the newest revision, in apply order."""
    files = (manifest or load_manifest(db_dir))["files"]
    current = {relpath(p, db_dir): digest(p.read_text()) for p in source_files(db_dir)}
    changes = [
        Change(path, "new" if path not in files else "changed")
        for path, sha in current.items()
        if files.get(path, {}).get("sha256") != sha
    ]
    changes += [Change(path, "deleted") for path in files if path not in current]
    return changes


def drop_statements(sql: str) -> str:
    """DROP statements undoing the CREATE statements of a function/trigger/view/table file."""
    drops: list[str] = []
    for m in _CREATE.finditer(sql):
        kind = re.sub(r"\s+", " ", m["kind"].upper())
        if kind == "TRIGGER":
            table = _trigger_table(sql, m.end())
            drops.append(f"DROP TRIGGER IF EXISTS {m['name']} ON {table};")
        else:
            drops.append(f"DROP {kind} IF EXISTS {m['name']};")
    return "\n".join(reversed(drops)) + "\n"


def _trigger_table(sql: str, start: int) -> str:
    m = re.compile(r"\bON\s+([\w.\"]+)", re.IGNORECASE).search(sql, start)
    if not m:
        raise ValueError("CREATE TRIGGER without ON <table>")
    return m.group(1)


def _signatures(sql: str) -> dict[str, str]:
    return {
        m.group(1): re.sub(r"\s+", " ", f"({m.group(2)}) {m.group(3)}").strip()
        for m in _SIGNATURE.finditer(sql)
    }


def _signature_drops(old_sql: str, new_sql: str) -> str:
    """DROP FUNCTION for functions whose parameters or return type changed (CREATE OR REPLACE
    cannot change them). The same file creates the function again right after, in the
    revision's transaction, so squawk's ban-drop-function (a function gone for clients) does
    not apply: each drop carries its squawk-ignore comment."""
    old, new = _signatures(old_sql), _signatures(new_sql)
    names = [name for name, sig in old.items() if name in new and new[name] != sig]
    return "".join(
        "-- re-created below, in the same transaction\n-- squawk-ignore ban-drop-function\n"
        f"DROP FUNCTION IF EXISTS {name};\n"
        for name in names
    )


def next_revision_id(message: str, db_dir: Path = DB_DIR) -> str:
    numbers = [int(p.stem[:4]) for p in versions_dir(db_dir).glob("[0-9][0-9][0-9][0-9]_*.py")]
    # alembic_version.version_num is varchar(32): NNNN_ + at most 27 characters.
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:27].strip("_") or "revision"
    return f"{max(numbers, default=0) + 1:04d}_{slug}"


def _frozen_name(index: int, path: str) -> str:
    return f"{index:02d}_{path.replace('/', '_')}"


def freeze(message: str, *, db_dir: Path = DB_DIR, only: list[str] | None = None) -> str | None:
    """Write a new revision for the pending db/ changes (or those of `only`: paths relative to
    db/, or folder prefixes like "triggers/"); return its id (None: nothing changed)."""
    manifest = load_manifest(db_dir)
    changes = pending_changes(manifest, db_dir)
    if only:
        changes = [c for c in changes if any(c.path.startswith(prefix) for prefix in only)]
    if not changes:
        return None
    rev = next_revision_id(message, db_dir)
    versions = versions_dir(db_dir)
    up_dir, down_dir = versions / rev / "upgrade", versions / rev / "downgrade"
    up_dir.mkdir(parents=True)
    down_dir.mkdir(parents=True)
    (up_dir / "00_preamble.sql").write_text(PREAMBLE)
    (down_dir / "00_preamble.sql").write_text(PREAMBLE)

    # A new db/schema/ file (a new table) applies as it is; a changed or deleted one needs ALTERs.
    schema_changes = [
        c for c in changes if not c.path.startswith(REPLACEABLE_FOLDERS) and c.kind != "new"
    ]
    if schema_changes:
        (up_dir / "00_schema_changes.sql").write_text(_schema_guard(rev, schema_changes))
        (down_dir / "00_schema_changes.sql").write_text(_schema_guard(rev, schema_changes))

    replaceable = [c for c in changes if c.path.startswith(REPLACEABLE_FOLDERS) or c.kind == "new"]
    for index, change in enumerate(replaceable, start=1):
        old_entry = manifest["files"].get(change.path, {})
        old_sql = (
            (db_dir / "migrations" / old_entry["frozen"]).read_text()
            if old_entry.get("frozen")
            else None
        )
        name = _frozen_name(index, change.path)
        if change.kind == "deleted":
            up_sql = drop_statements(old_sql or "")
        else:
            new_sql = (db_dir / change.path).read_text()
            up_sql = (_signature_drops(old_sql, new_sql) if old_sql else "") + new_sql
        (up_dir / name).write_text(
            f"-- Frozen copy of db/{change.path} ({change.kind}).\n" + up_sql
        )
        if old_sql is not None:
            down_sql = _signature_drops(new_sql, old_sql) if change.kind != "deleted" else ""
            down_sql += old_sql
        else:
            down_sql = drop_statements(new_sql)
        down_name = f"{len(replaceable) - index + 1:02d}_{change.path.replace('/', '_')}"
        (down_dir / down_name).write_text(f"-- Undo db/{change.path} ({change.kind}).\n" + down_sql)
        if change.kind == "deleted":
            manifest["files"].pop(change.path)
        else:
            manifest["files"][change.path] = {
                "sha256": digest((db_dir / change.path).read_text()),
                "frozen": (up_dir / name).relative_to(db_dir / "migrations").as_posix(),
            }
    for change in schema_changes:
        if change.kind == "deleted":
            manifest["files"].pop(change.path)
        else:
            manifest["files"][change.path] = {
                "sha256": digest((db_dir / change.path).read_text()),
                "frozen": None,
            }

    _write_revision_file(versions / f"{rev}.py", rev, manifest["head"], message, changes)
    manifest["head"] = rev
    save_manifest(manifest, db_dir)
    return rev


def _schema_guard(rev: str, changes: list[Change]) -> str:
    names = ", ".join(f"db/{c.path} ({c.kind})" for c in changes)
    return (
        f"-- Table definitions changed: {names}.\n"
        "-- Write the ALTER statements that take the previous schema to the new one here (and the\n"
        "-- reverse in downgrade/), then delete the DO block. tests/py/test_schema_equivalence.py\n"
        "-- proves the result equals db/.\n"
        "DO $$ BEGIN RAISE EXCEPTION 'revision "
        + rev
        + ": write the schema changes for "
        + names.replace("'", "")
        + "'; END $$;\n"
    )


def _write_revision_file(
    path: Path, rev: str, down: str, message: str, changes: list[Change]
) -> None:
    listing = "\n".join(f"  {c.kind:8} db/{c.path}" for c in changes)
    path.write_text(
        f'"""{message}\n\nRevision ID: {rev}\nRevises: {down}\n\n'
        f"Frozen by `mockbook db revision` from these db/ changes:\n{listing}\n"
        '"""\n\nfrom alembic import op\n\nfrom glue.frozen import apply\n\n'
        f"revision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n"
        '\n\ndef upgrade() -> None:\n    apply(op, __file__, "upgrade")\n\n\n'
        'def downgrade() -> None:\n    apply(op, __file__, "downgrade")\n'
    )


def main() -> None:  # python -m glue.freeze -m "message"
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--message", required=True)
    parser.add_argument("paths", nargs="*", help="only these db/ paths (relative to db/)")
    args = parser.parse_args()
    rev = freeze(args.message, only=args.paths or None)
    print(rev or "db/ has no changes since the newest revision: nothing to freeze")


if __name__ == "__main__":
    main()
