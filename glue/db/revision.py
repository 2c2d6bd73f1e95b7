"""`mockbook db revision`: the pending db/ changes frozen into the release's one revision.

db/ is what people edit; a revision never reads it when it runs. Each release has exactly one
revision (db/migrations/releases.json lists them, oldest first, with their date; `"date": null`
is a release not cut yet). While the newest release is not cut, `mockbook db revision` FOLDS
db/ into its revision: it rewrites that revision's frozen copies of the function, trigger and
view files from db/ as they are now, so running it twice changes nothing and it works from any
db/ state. Once the release is cut, the next run starts the next release's revision. The
manifest `db/migrations/frozen.json` records the sha256 of every db/ file and where its frozen
copy lives, as of the newest revision (`files`), and as of the last cut release (`base`).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from glue.db.source import DB_DIR, REPLACEABLE_FOLDERS, digest, relpath, source_files

# How it works (the detail of the module docstring):
#
# - A release's revision holds hand-written files (a table change, the adoption's steps) and
#   one generated block: every db/ file that differs from the last cut release (`base`), in
#   db/'s apply order (tables, functions, triggers, views: the order applying db/ proves), each
#   `<slot>_<NNN>_<path>.sql`. `upgrade/<slot>_...` sorts where the block runs among the
#   hand-written files, `downgrade/<slot>_...` runs the block in reverse order.
# - a new or changed function, trigger or view file is copied verbatim into the block (it is
#   re-applicable: CREATE OR REPLACE, DROP ... IF EXISTS then CREATE); its downgrade refers to
#   the release's earlier frozen copy by path and sha256 (`-- frozen: <path> sha256:<hex>`, which
#   the revision's runner replaces with that file), or, for a new file, is DROP statements
#   generated from its CREATE statements;
# - a deleted file gets the DROP statements in upgrade/ and a reference to its last frozen copy
#   in downgrade/;
# - a new db/schema/ file (a new table) is copied as it is, its downgrade drops the table;
# - a changed db/schema/ file (tables) cannot be turned into ALTER statements mechanically: the
#   revision gets `upgrade/0000_schema_changes.sql` that names the changed files and refuses to
#   run until a person writes the ALTERs there (the schema-equivalence test then proves them
#   right), then `make revision-lock`.
#
# The revision's files are then pinned in `db/migrations/revisions.lock` (sha256sum format:
# `cd db/migrations && sha256sum -c revisions.lock` checks it too): the sha256 of every file of
# every revision, its .py and each file of its folder. A revision of a cut release never
# changes; a test recomputes the lock (`check_lock`) and names the revision and file that did.
# After hand-writing SQL into the unreleased revision, `lock_newest` (`mockbook db lock`)
# re-pins that revision, and only it.


def versions_dir(db_dir: Path = DB_DIR) -> Path:
    return db_dir / "migrations" / "versions"


def manifest_path(db_dir: Path = DB_DIR) -> Path:
    return db_dir / "migrations" / "frozen.json"


def lock_path(db_dir: Path = DB_DIR) -> Path:
    return db_dir / "migrations" / "revisions.lock"


_CREATE = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?"
    r"(?P<kind>FUNCTION|MATERIALIZED\s+VIEW|VIEW|TRIGGER|TABLE)\s+"
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
    path: str  # relative to db/, e.g. "functions/api/create_booking.sql"
    kind: str  # "new", "changed", "moved" or "deleted"
    moved_from: str | None = None  # "moved": the path the manifest knows it by


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
    return _moves(changes)


def _moves(changes: list[Change]) -> list[Change]:
    """A file deleted in one folder and new under the same name elsewhere in the same top folder
    (functions/x.sql -> functions/api/x.sql) is one "moved" change: frozen like a changed file
    (its previous copy is the downgrade), not a new file whose objects the deletion then drops."""
    def key(path: str) -> tuple[str, str]:
        return path.split("/", 1)[0], path.rsplit("/", 1)[-1]

    deleted = {key(c.path): c.path for c in changes if c.kind == "deleted"}
    moved = {c.path: deleted[key(c.path)] for c in changes
             if c.kind == "new" and key(c.path) in deleted}
    gone = set(moved.values())
    return [Change(c.path, "moved", moved[c.path]) if c.path in moved else c
            for c in changes if c.path not in gone or c.kind != "deleted"]


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


def _reference(frozen: str, db_dir: Path) -> str:
    """The line a revision's runner replaces with an earlier frozen file (path relative to
    db/migrations), checked against its sha256 when it runs: a downgrade refers to the previous
    copy instead of copying it."""
    data = (db_dir / "migrations" / frozen).read_bytes()
    return f"-- frozen: {frozen} sha256:{hashlib.sha256(data).hexdigest()}\n"


def _removed_drops(old_sql: str, new_sql: str) -> str:
    """DROP statements for what the old text created and the new one no longer does (a trigger
    taken off a table, a function moved out of the file): CREATE OR REPLACE leaves those."""
    kept = set(drop_statements(new_sql).splitlines())
    gone = [s for s in drop_statements(old_sql).splitlines() if s and s not in kept]
    return "".join(f"{s}\n" for s in gone)


def next_revision_id(message: str, db_dir: Path = DB_DIR) -> str:
    numbers = [int(p.stem[:4]) for p in versions_dir(db_dir).glob("[0-9][0-9][0-9][0-9]_*.py")]
    # alembic_version.version_num is varchar(32): NNNN_ + at most 27 characters, cut after a
    # whole word (a subject, not "_wai"); a first word longer than that is cut
    words = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_").split("_")
    slug = words[0][:27]
    for word in words[1:]:
        if len(slug) + 1 + len(word) > 27:
            break
        slug = f"{slug}_{word}"
    return f"{max(numbers, default=0) + 1:04d}_{slug or 'revision'}"


_BLOCK = re.compile(r"^(\d{4})_(\d{3})_.+\.sql$")
# where the generated block of a release's new revision goes: after its preamble (and a guard)
NEW_REVISION_SLOT = "0001"


def releases_path(db_dir: Path = DB_DIR) -> Path:
    return db_dir / "migrations" / "releases.json"


def load_releases(db_dir: Path = DB_DIR) -> list[dict]:
    """[{version, revision, date}], oldest first; date None: not cut yet."""
    return json.loads(releases_path(db_dir).read_text())["releases"]


def save_releases(releases: list[dict], db_dir: Path = DB_DIR) -> None:
    releases_path(db_dir).write_text(
        json.dumps({"releases": releases}, indent=2, sort_keys=True) + "\n")


def unreleased_revision(db_dir: Path = DB_DIR) -> str | None:
    """The revision of the release not cut yet, if the newest release is one."""
    releases = load_releases(db_dir)
    return releases[-1]["revision"] if releases and releases[-1]["date"] is None else None


def check_releases(db_dir: Path = DB_DIR) -> list[str]:
    """Every break of "one revision per release", one line each: after the baseline, the
    revisions on disk are exactly the releases' revisions in order, and only the newest release
    may be uncut."""
    releases = load_releases(db_dir)
    revisions = revision_ids(db_dir)[1:]  # 0001_baseline: production's schema, not a release
    listed = [r["revision"] for r in releases]
    problems = [f"release {r['version']} is not cut (date null) but a later release is"
                for r in releases[:-1] if r["date"] is None]
    problems += [f"revision {rev} is not the revision of a release: fold it into its "
                 "release's one revision" for rev in revisions if rev not in listed]
    problems += [f"release {r['version']}: revision {r['revision']} does not exist"
                 for r in releases if r["revision"] not in revisions]
    if not problems and revisions != listed:
        problems.append(f"revisions {revisions} are not in the releases' order {listed}")
    return problems


def cut_release(version: str, date: str, db_dir: Path = DB_DIR) -> str:
    """Record the unreleased revision as released `version` on `date` (YYYY-MM-DD): from then
    on it never changes, and the next `mockbook db revision` starts the next release's."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise ValueError(f"date {date!r} is not YYYY-MM-DD")
    if pending_changes(db_dir=db_dir):
        raise ValueError("db/ has changes not folded into the release's revision: "
                         "run `mockbook db revision` first")
    releases = load_releases(db_dir)
    if not releases or releases[-1]["date"] is not None:
        raise ValueError("no unreleased revision to cut (run `mockbook db revision` first)")
    releases[-1].update(version=version, date=date)
    save_releases(releases, db_dir)
    return releases[-1]["revision"]


def _frozen_name(slot: str, index: int, path: str) -> str:
    return f"{slot}_{index:03d}_{path.replace('/', '_')}"


def _start_revision(message: str, manifest: dict, db_dir: Path) -> str:
    """A new (empty) revision for the next release, after the last cut one."""
    rev = next_revision_id(message, db_dir)
    versions = versions_dir(db_dir)
    for direction in ("upgrade", "downgrade"):
        (versions / rev / direction).mkdir(parents=True)
        (versions / rev / direction / "0000_preamble.sql").write_text(PREAMBLE)
    _write_revision_file(versions / f"{rev}.py", rev, manifest["head"], message)
    manifest["base"] = {path: dict(entry) for path, entry in manifest["files"].items()}
    manifest["head"] = rev
    releases = load_releases(db_dir)
    releases.append({"version": None, "revision": rev, "date": None})
    save_releases(releases, db_dir)
    return rev


def _block(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.sql")) if _BLOCK.match(p.name)}


def _slot(folder: Path) -> str:
    slots = {_BLOCK.match(name)[1] for name in _block(folder)}
    if len(slots) > 1:
        raise ValueError(f"{folder}: generated files in more than one slot: {sorted(slots)}")
    return slots.pop() if slots else NEW_REVISION_SLOT


def freeze(message: str | None = None, *, db_dir: Path = DB_DIR) -> str | None:
    """Fold db/ into the unreleased release's revision (starting one, named by `message`, when
    the newest release is cut); return its id, or None when nothing had to change."""
    rev = unreleased_revision(db_dir)
    try:
        manifest = load_manifest(db_dir)
    except json.JSONDecodeError:  # a merge's conflict markers: rebuilt below (first release)
        manifest = {"files": {relpath(p, db_dir): {"sha256": digest(p.read_text()), "frozen": None}
                              for p in source_files(db_dir)
                              if not relpath(p, db_dir).startswith(REPLACEABLE_FOLDERS)}}
    if rev is None:
        if not pending_changes(manifest, db_dir):
            return None
        if not message:
            raise ValueError("the newest release is cut: the next release's revision needs a "
                             "name (-m \"what it changes\")")
        rev = _start_revision(message, manifest, db_dir)
    before = _state(rev, db_dir)
    _drop_strays(rev, db_dir)
    _repair_manifest(manifest, rev, db_dir)
    folder = versions_dir(db_dir) / rev
    up_dir, down_dir = folder / "upgrade", folder / "downgrade"
    up_slot, down_slot = _slot(up_dir), _slot(down_dir)

    base = manifest["base"]
    changes = pending_changes({"files": base}, db_dir)
    # A changed table file needs hand-written ALTERs: a guard until they are written.
    tables = [c for c in changes if not c.path.startswith(REPLACEABLE_FOLDERS) and c.kind != "new"]
    named = _named_by_hand(folder)
    unseen = [c for c in tables
              if manifest["files"].get(c.path, {}).get("sha256") != _sha(db_dir, c.path)
              and Path(c.path).name not in named]
    if unseen:
        for direction in (up_dir, down_dir):
            (direction / "0000_schema_changes.sql").write_text(_schema_guard(rev, unseen))
    block = [c for c in changes if c not in tables]

    with tempfile.TemporaryDirectory() as scratch:
        new_up, new_down = Path(scratch) / "up", Path(scratch) / "down"
        new_up.mkdir()
        new_down.mkdir()
        files = _write_block(block, base, up_slot, down_slot, new_up, new_down, rev, db_dir)
        for target, fresh in ((up_dir, new_up), (down_dir, new_down)):
            for name in _block(target):
                (target / name).unlink()
            for path in fresh.iterdir():
                shutil.copyfile(path, target / path.name)

    for change in tables:
        if change.kind != "deleted":
            files[change.path] = {"sha256": _sha(db_dir, change.path), "frozen": None}
    manifest["files"] = dict(sorted(files.items()))
    if len(load_releases(db_dir)) == 1:
        # the first release's base is its own hand-written tables: as they are now, so a
        # fold after a merge (whichever frozen.json it kept) writes the same manifest
        manifest["base"] = {path: dict(files.get(path, entry))
                            for path, entry in manifest["base"].items()}
    save_manifest(manifest, db_dir)
    lock_newest(db_dir)
    return rev if _state(rev, db_dir) != before else None


GENERATED = re.compile(r"^-- (Frozen copy of|Undo) db/\S+ \(\w+\)\.\n")


def _named_by_hand(folder: Path) -> str:
    """The text of the revision's hand-written files: a changed table file they name has its
    ALTERs written (a merge may bring a frozen.json that never saw them; the schema-equivalence
    test proves the ALTERs right)."""
    return "\n".join(text for p in sorted(folder.rglob("*.sql"))
                     if p.name != "0000_schema_changes.sql"
                     and not GENERATED.match(text := p.read_text()))


def _state(rev: str, db_dir: Path) -> dict[str, bytes]:
    """What a fold may change: the revisions, the manifest and the lock."""
    base = db_dir / "migrations"
    paths = [manifest_path(db_dir), lock_path(db_dir), *versions_dir(db_dir).rglob("*")]
    return {str(p): p.read_bytes() for p in paths
            if p.is_file() and "__pycache__" not in p.relative_to(base).parts}


def _drop_strays(rev: str, db_dir: Path) -> None:
    """Revisions after the unreleased one (a merged branch's own `make revision` from before
    the release's one revision): db/ holds what they froze, so the fold replaces them. One
    holding a hand-written file is refused (its SQL belongs in the release's revision)."""
    revisions = revision_ids(db_dir)
    strays = revisions[revisions.index(rev) + 1:]
    generated = GENERATED
    for stray in strays:
        folder = versions_dir(db_dir) / stray
        hand = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*.sql"))
                if p.read_text() != PREAMBLE and not generated.match(p.read_text())]
        if hand:
            raise ValueError(f"revision {stray} follows the unreleased {rev} and holds "
                             f"hand-written SQL ({', '.join(hand)}): move it into {rev}, then "
                             f"delete {stray}")
    for stray in strays:
        shutil.rmtree(versions_dir(db_dir) / stray, ignore_errors=True)
        (versions_dir(db_dir) / f"{stray}.py").unlink()
    # the lock's lines of revisions after it (those, or ones folded away on another branch),
    # and a merge's conflict markers, go; its own lines are pinned again below
    path = lock_path(db_dir)
    lines = [line for line in path.read_text().splitlines()
             if not line.startswith(("<<<<<<<", "=======", ">>>>>>>", "|||||||"))]
    path.write_text("".join(line + "\n" for line in lines))
    lock = read_lock(db_dir)
    write_lock({r: pins for r, pins in lock.items() if r[:4] < rev[:4] or r == rev}, db_dir)


def _repair_manifest(manifest: dict, rev: str, db_dir: Path) -> None:
    """A manifest that is not the unreleased revision's (a merge took another branch's
    frozen.json): for the first release, whose base is the hand-written tables only, it is
    rebuilt; a later release's base is refused."""
    if manifest.get("head") == rev and "base" in manifest:
        return
    if len(load_releases(db_dir)) > 1:
        raise ValueError(f"db/migrations/frozen.json is not revision {rev}'s (head "
                         f"{manifest.get('head')}): take it from the branch that made {rev}")
    tables = {path: entry for path, entry in manifest["files"].items() if entry["frozen"] is None}
    manifest.update(head=rev, base=tables)


def _sha(db_dir: Path, path: str) -> str | None:
    file = db_dir / path
    return digest(file.read_text()) if file.exists() else None


def _write_block(changes: list[Change], base: dict, up_slot: str, down_slot: str,
                 up_dir: Path, down_dir: Path, rev: str, db_dir: Path) -> dict:
    """The generated files of `rev` for `changes` (relative to `base`) into up_dir/down_dir;
    returns the manifest's `files` they give."""
    files = {path: dict(entry) for path, entry in base.items()}
    for index, change in enumerate(changes, start=1):
        old_entry = base.get(change.moved_from or change.path, {})
        old_sql = (
            (db_dir / "migrations" / old_entry["frozen"]).read_text()
            if old_entry.get("frozen")
            else None
        )
        name = _frozen_name(up_slot, index, change.path)
        if change.kind == "deleted":
            up_sql = drop_statements(old_sql or "")
        else:
            new_sql = (db_dir / change.path).read_text()
            up_sql = new_sql
            if old_sql:
                up_sql = (_removed_drops(old_sql, new_sql) + _signature_drops(old_sql, new_sql)
                          + new_sql)
        (up_dir / name).write_text(
            f"-- Frozen copy of db/{change.path} ({change.kind}).\n" + up_sql
        )
        if old_sql is not None:
            down_sql = "" if change.kind == "deleted" else (
                _removed_drops(new_sql, old_sql) + _signature_drops(new_sql, old_sql))
            down_sql += _reference(old_entry["frozen"], db_dir)
        else:
            down_sql = drop_statements(new_sql)
        down_name = _frozen_name(down_slot, len(changes) - index + 1, change.path)
        (down_dir / down_name).write_text(f"-- Undo db/{change.path} ({change.kind}).\n" + down_sql)
        files.pop(change.moved_from or change.path, None)
        if change.kind != "deleted":
            files[change.path] = {
                "sha256": digest((db_dir / change.path).read_text()),
                "frozen": f"versions/{rev}/upgrade/{name}",
            }
    return files


def _schema_guard(rev: str, changes: list[Change]) -> str:
    names = ", ".join(f"db/{c.path} ({c.kind})" for c in changes)
    return (
        f"-- Table definitions changed: {names}.\n"
        "-- Write the ALTER statements that take the previous schema to the new one here (and the\n"
        "-- reverse in downgrade/), then delete the DO block.\n"
        "-- tests/py/db/test_schema_equivalence.py proves the result equals db/.\n"
        "DO $$ BEGIN RAISE EXCEPTION 'revision "
        + rev
        + ": write the schema changes for "
        + names.replace("'", "")
        + "'; END $$;\n"
    )


def _write_revision_file(path: Path, rev: str, down: str, message: str) -> None:
    """The revision file, rendered from db/migrations/script.py.mako: no import of this
    package; its files run through db/migrations/steps.py, as every revision's do."""
    path.write_text(render_revision(path.parent.parent, rev, down, message))


def render_revision(migrations_dir: Path, rev: str, down: str | None, message: str,
                    frozen_from: str = "") -> str:
    from alembic.util import format_as_comma
    from mako.template import Template

    template = Template(filename=str(migrations_dir / "script.py.mako"))
    return template.render_unicode(
        message=message, up_revision=rev, down_revision=down, frozen_from=frozen_from,
        create_date="", comma=format_as_comma,
    )


# -- revisions.lock ------------------------------------------------------------------------------

def revision_ids(db_dir: Path = DB_DIR) -> list[str]:
    """Every revision on disk, oldest first (ids start with their number: NNNN_)."""
    return sorted(p.stem for p in versions_dir(db_dir).glob("[0-9][0-9][0-9][0-9]_*.py"))


def revision_files(rev: str, db_dir: Path = DB_DIR) -> dict[str, str]:
    """{path relative to db/migrations: sha256} of a revision's .py and every file of its folder
    (Python's __pycache__ aside)."""
    base = db_dir / "migrations"
    folder = versions_dir(db_dir) / rev
    paths = [versions_dir(db_dir) / f"{rev}.py"]
    paths += sorted(p for p in folder.rglob("*")
                    if p.is_file() and "__pycache__" not in p.relative_to(folder).parts)
    return {p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in paths if p.exists()}


def _revision_of(path: str) -> str:
    return Path(path).parts[1].removesuffix(".py")  # versions/<rev>.py, versions/<rev>/...


def read_lock(db_dir: Path = DB_DIR) -> dict[str, dict[str, str]]:
    """{revision: {path: sha256}} as pinned in revisions.lock, in the lock's order."""
    lock: dict[str, dict[str, str]] = {}
    path = lock_path(db_dir)
    if not path.exists():
        return lock
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        sha, sep, name = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", sha) or not name.startswith("versions/"):
            raise ValueError(f"{path}:{number}: not a `<sha256>  versions/...` line: {line!r}")
        lock.setdefault(_revision_of(name), {})[name] = sha
    return lock


def write_lock(lock: dict[str, dict[str, str]], db_dir: Path = DB_DIR) -> None:
    lines = [f"{sha}  {name}" for rev in sorted(lock) for name, sha in lock[rev].items()]
    lock_path(db_dir).write_text("".join(line + "\n" for line in lines))


def lock_newest(db_dir: Path = DB_DIR) -> str:
    """Pin the newest revision's files (a new one, or one whose hand-written SQL was just
    added); every older revision must already be pinned and unchanged. Returns its id."""
    revisions = revision_ids(db_dir)
    if not revisions:
        raise ValueError("no revision to lock")
    newest = revisions[-1]
    problems = [p for p in check_lock(db_dir) if not p.startswith(f"revision {newest}")]
    if problems:
        raise ValueError("revisions.lock: older revisions do not match, not locking "
                         + newest + ":\n" + "\n".join(problems))
    lock = read_lock(db_dir)
    lock[newest] = revision_files(newest, db_dir)
    write_lock(lock, db_dir)
    return newest


def check_lock(db_dir: Path = DB_DIR) -> list[str]:
    """Every difference between the revisions on disk and revisions.lock, one line each,
    naming the revision and the file."""
    lock = read_lock(db_dir)
    on_disk = revision_ids(db_dir)
    problems = [f"revision {rev}: in revisions.lock but versions/{rev}.py is missing"
                for rev in lock if rev not in on_disk]
    for rev in on_disk:
        if rev not in lock:
            problems.append(f"revision {rev}: not in revisions.lock (a new revision is pinned "
                            "by `make revision`; after hand-writing its SQL: `make revision-lock`)")
            continue
        pinned, actual = lock[rev], revision_files(rev, db_dir)
        for name in sorted(set(pinned) | set(actual)):
            if name not in actual:
                problems.append(f"revision {rev}: {name} was removed")
            elif name not in pinned:
                problems.append(f"revision {rev}: {name} was added")
            elif pinned[name] != actual[name]:
                problems.append(f"revision {rev}: {name} changed (sha256 {actual[name]}, "
                                f"pinned {pinned[name]})")
    return problems


def main() -> None:  # python -m glue.db.revision [-m "message"]
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--message")
    args = parser.parse_args()
    rev = freeze(args.message)
    print(rev or "nothing to fold: the revision already holds db/ as it is")


if __name__ == "__main__":
    main()
