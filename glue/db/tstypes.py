"""The apps' TypeScript types of `hubspot_sync` (clients/typescript/), generated, never edited.

`database.types.ts` is Supabase's own generator's output (`@supabase/postgres-meta`, what `supabase
gen types typescript` runs); `mockbook.types.ts` adds what it cannot say (it types `jsonb` as
`Json`): each function's result shape, read from the `Returns …` of its COMMENT ON FUNCTION (the
text docs/rpc.md prints), raise_error's error codes, and `Database` with the shapes as `Returns`.
`python -m glue.db.tstypes` (`make types`) writes both from a database built from db/ (`--check`:
exit 1 when one differs); tests/py/project/test_typescript_client.py checks them.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg

from glue.db.rpcdoc import _scratch_database
from glue.db.source import ROOT, apply_source

CLIENT_DIR = ROOT / "clients" / "typescript"
DATABASE_TYPES = CLIENT_DIR / "database.types.ts"
MOCKBOOK_TYPES = CLIENT_DIR / "mockbook.types.ts"
GENERATOR = (CLIENT_DIR / "node_modules" / "@supabase" / "postgres-meta" / "dist" / "server"
             / "server.js")
SCHEMA = "hubspot_sync"

# --- the result shapes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """A value the comment does not describe further: any JSON (or a literal, e.g. `true`)."""

    literal: str | None = None


@dataclass(frozen=True)
class Ref:
    """Another function's result (`[cancel_booking results]`, "the `create_booking` result")."""

    function: str


@dataclass(frozen=True)
class Arr:
    item: Shape


@dataclass(frozen=True)
class Obj:
    fields: dict[str, Shape] = field(default_factory=dict)
    base: str | None = None  # the fields of that function's result come first


Shape = Leaf | Ref | Arr | Obj


@dataclass(frozen=True)
class Result:
    shape: Shape
    nullable: bool = False  # "… or NULL"


class ShapeError(ValueError):
    pass


_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _literal(text: str, names: set[str]) -> Shape:
    """`{a, b: {c}, d: [{e}], f: [g results], h: [...]}` → Obj."""
    return _LiteralReader(text.strip(), names).read()


class _LiteralReader:
    """A reader of one object literal of a comment, left to right."""

    def __init__(self, text: str, names: set[str]) -> None:
        self.text, self.names, self.pos = text, names, 0

    def read(self) -> Shape:
        self.skip()
        if not self.text.startswith("{"):
            raise ShapeError(f"not an object: {self.text!r}")
        shape = self.obj()
        self.skip()
        if self.pos != len(self.text):
            raise ShapeError(f"text after the object: {self.text[self.pos:]!r}")
        return shape

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at(self, prefix: str) -> bool:
        return self.text.startswith(prefix, self.pos)

    def value(self) -> Shape:
        self.skip()
        if self.at("{"):
            return self.obj()
        if self.at("["):
            return self.array()
        m = re.compile(r"true|false|null").match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return Leaf(m.group(0))
        raise ShapeError(f"cannot read a value at {self.text[self.pos:self.pos + 20]!r}")

    def array(self) -> Shape:
        end = _closing(self.text, self.pos)
        inner = self.text[self.pos + 1:end].strip()
        self.pos = end + 1
        if inner.startswith("{"):
            return Arr(_literal(inner, self.names))
        ref = re.fullmatch(r"([a-z_][a-z0-9_]*) results?", inner)
        if ref and ref.group(1) in self.names:
            return Arr(Ref(ref.group(1)))
        return Arr(Leaf())

    def obj(self) -> Obj:
        self.pos += 1  # {
        fields: dict[str, Shape] = {}
        while True:
            self.skip()
            if self.at("}"):
                self.pos += 1
                return Obj(fields)
            m = _NAME.match(self.text, self.pos)
            if not m:
                raise ShapeError(
                    f"expected a key at {self.text[self.pos:self.pos + 20]!r} in {self.text!r}")
            self.pos = m.end()
            self.skip()
            fields[m.group(0)] = Leaf()
            if self.at(":"):
                self.pos += 1
                fields[m.group(0)] = self.value()
            self.skip()
            if self.at(","):
                self.pos += 1
            elif not self.at("}"):
                raise ShapeError(
                    f"expected , or }} at {self.text[self.pos:self.pos + 20]!r} in {self.text!r}")


def _closing(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += 1 if text[i] in "{[" else -1 if text[i] in "}]" else 0
        if depth == 0:
            return i
    raise ShapeError(f"unbalanced brackets in {text!r}")


def _sentence(text: str, start: int) -> str:
    """From start to the end of its sentence (a full stop before a space or the end)."""
    m = re.compile(r"\.(?=\s|$)").search(text, start)
    return text[start:m.start() if m else len(text)]


def _added_keys(text: str, names: set[str]) -> dict[str, Shape]:
    """The backticked keys of "plus `a` and `b: {c}`" / "with production's keys: `a` (...), `b`"."""
    m = re.search(r"\bplus\b|\bkeys:", text)
    if not m:
        return {}
    fields: dict[str, Shape] = {}
    for item in re.findall(r"`([^`]+)`", text[m.end():]):
        key, _, rest = item.partition(":")
        if not _NAME.fullmatch(key.strip()):
            raise ShapeError(f"not a key: {item!r}")
        fields[key.strip()] = (_literal(rest, names) if rest.strip().startswith("{") else Leaf())
    return fields


def parse_result(comment: str, names: set[str]) -> Result:
    """The result shape a function's comment documents.

    In order: `Returns `{…}``; `Returns the `f` result` / `Returns `f`'s object`, optionally
    `plus `k`, …` or `with production's keys: `k`, …`; `the `f` … (same … result)`; else the
    comment's first object literal. `or NULL` right after the shape makes it nullable.
    """
    text = " ".join(comment.split())
    m = re.search(r"\bReturns\s+`\{", text)
    if m:
        start = m.end() - 1
        end = _closing_backtick(text, start)
        return Result(_literal(text[start:end], names), _or_null(text, end + 1))
    m = re.search(r"\bReturns\s+(?:the\s+)?`([a-z_0-9]+)`(?:'s object|\s+result)", text)
    if m:
        base = _check_ref(m.group(1), names)
        return Result(Obj(_added_keys(_sentence(text, m.end()), names), base))
    m = re.search(r"[^.]*\bsame\b[^.]*\bresult\b", text)
    same = [n for n in re.findall(r"`([a-z_0-9]+)`", m.group(0)) if n in names] if m else []
    if same:
        return Result(Ref(same[0]))
    m = re.search(r"`\{", text)
    if m:
        end = _closing_backtick(text, m.end())
        return Result(_literal(text[m.end() - 1:end], names), _or_null(text, end + 1))
    raise ShapeError("no `Returns {…}` (nor another function's result) in the comment")


def _closing_backtick(text: str, start: int) -> int:
    end = text.find("`", start)
    if end < 0:
        raise ShapeError(f"no closing backtick after {text[start:start + 40]!r}")
    return end


def _or_null(text: str, pos: int) -> bool:
    return re.match(r"\s*or NULL\b", text[pos:]) is not None


def _check_ref(name: str, names: set[str]) -> str:
    if name not in names:
        raise ShapeError(f"`{name}` is not a function returning jsonb")
    return name


_JSONB_FUNCTIONS = """
SELECT p.proname, coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '')
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.prorettype = 'jsonb'::regtype
  AND pg_catalog.has_function_privilege('service_role', p.oid, 'EXECUTE')
ORDER BY p.proname
"""

_ERRORS = """
SELECT pg_catalog.pg_get_functiondef(
    'mockbook_internal.raise_error(text, text, text)'::regprocedure)
"""


def result_shapes(conn: psycopg.Connection) -> dict[str, Result]:
    """Every API function returning jsonb → the result its comment documents."""
    rows = conn.execute(_JSONB_FUNCTIONS).fetchall()
    names = {name for name, _ in rows}
    shapes: dict[str, Result] = {}
    for name, comment in rows:
        try:
            shapes[name] = parse_result(comment, names)
        except ShapeError as exc:
            raise ShapeError(f"hubspot_sync.{name}'s COMMENT ON FUNCTION: {exc}") from exc
    return shapes


def error_codes(conn: psycopg.Connection) -> dict[str, str]:
    """raise_error's table: code → SQLSTATE, in its order."""
    body = conn.execute(_ERRORS).fetchone()[0]
    codes = dict(re.findall(r"\('([A-Z_]+)', '(PT\d{3})'", body))
    if not codes:
        raise ShapeError("no error codes found in mockbook_internal.raise_error")
    return codes


def keys_of(shape: Shape, shapes: dict[str, Result]) -> dict[str, Shape] | None:
    """An object shape's keys (its base's first), or None when the shape is not an object."""
    if isinstance(shape, Ref):
        return keys_of(shapes[shape.function].shape, shapes)
    if not isinstance(shape, Obj):
        return None
    fields = dict(keys_of(Ref(shape.base), shapes) or {}) if shape.base else {}
    fields.update(shape.fields)
    return fields


# --- TypeScript ----------------------------------------------------------------------------


def type_name(function: str) -> str:
    return "".join(part.capitalize() for part in function.split("_")) + "Result"


def _ts(shape: Shape, indent: str, shapes: dict[str, Result]) -> str:
    if isinstance(shape, Leaf):
        return shape.literal or "Json"
    if isinstance(shape, Ref):
        return type_name(shape.function)
    if isinstance(shape, Arr):
        inner = _ts(shape.item, indent, shapes)
        return f"Array<{inner}>" if "{" in inner else f"{inner}[]"
    inherited = set(keys_of(Ref(shape.base), shapes) or {}) if shape.base else set()
    body = "".join(f"{indent}  {key}: {_ts(value, indent + '  ', shapes)}\n"
                   for key, value in shape.fields.items() if key not in inherited)
    own = f"{{\n{body}{indent}}}"
    if shape.base:
        return type_name(shape.base) + (f" & {own}" if body else "")
    return own


HEADER = """\
// Generated by `python -m glue.db.tstypes` (make types) from the catalog: do not edit.
// The result shapes are those of each function's COMMENT ON FUNCTION (docs/rpc.md prints the
// same text), the error codes mockbook_internal.raise_error's table (docs/rpc.md, Errors).
// Values the comments do not describe further are typed `Json`.
"""

FOOTER = """\
/** The generated `Database` with each function's `Returns` replaced by its documented shape:
 * `createClient<Database>(url, key, { db: { schema: 'hubspot_sync' } })`. */
export type Database = Omit<Generated, 'hubspot_sync'> & {
  hubspot_sync: Omit<Generated['hubspot_sync'], 'Functions'> & {
    Functions: {
      [F in keyof GeneratedFunctions]: F extends keyof RpcResults
        ? Omit<GeneratedFunctions[F], 'Returns'> & { Returns: RpcResults[F] }
        : GeneratedFunctions[F]
    }
  }
}

/** A documented mockbook error as supabase-js returns it (`error` of an rpc call). */
export type MockbookError = {
  /** the error code, `message` without the words compatibility functions add */
  code: MockbookErrorCode
  sqlstate: MockbookSqlstate
  /** the HTTP status PostgREST answers: nnn of PTnnn */
  status: number
  /** a sentence for people */
  details: string
  /** what to do */
  hint: string
}

/** The mockbook error in a supabase-js `error`, or null when it is something else (PGRST…,
 * 42501, a network failure): switch on `.code`. */
export function mockbookError(
  error: { code?: string; message: string; details?: string | null; hint?: string | null } | null,
): MockbookError | null {
  if (!error || !/^PT\\d{3}$/.test(error.code ?? '')) return null
  const code = error.message.split(':', 1)[0]
  if (!(code in MOCKBOOK_ERRORS)) return null
  return {
    code: code as MockbookErrorCode,
    sqlstate: error.code as MockbookSqlstate,
    status: Number(error.code!.slice(2)),
    details: error.details ?? '',
    hint: error.hint ?? '',
  }
}
"""


def render_mockbook_types(shapes: dict[str, Result], errors: dict[str, str]) -> str:
    out = [HEADER, "\nimport type { Database as Generated, Json } from './database.types'\n\n",
           "export type { Json }\n\n",
           "type GeneratedFunctions = Generated['hubspot_sync']['Functions']\n"]
    for name, result in shapes.items():
        ts = _ts(result.shape, "", shapes) + (" | null" if result.nullable else "")
        out.append(f"\n/** `{name}`'s result (docs/rpc.md#{name}). */\n"
                   f"export type {type_name(name)} = {ts}\n")
    out.append("\n/** Each function returning jsonb → its result. */\nexport type RpcResults = {\n")
    out.extend(f"  {name}: {type_name(name)}\n" for name in shapes)
    out.append("}\n\n/** The error codes (`error.message` of a PTnnn error). */\n"
               "export type MockbookErrorCode =\n")
    out.extend(f"  | '{code}'\n" for code in errors)
    states = sorted(set(errors.values()))
    out.append("\n/** Their SQLSTATEs (`error.code`): PTnnn → HTTP nnn. */\n"
               "export type MockbookSqlstate = " + " | ".join(f"'{s}'" for s in states) + "\n")
    out.append("\n/** Each error code's SQLSTATE. */\n"
               "export const MOCKBOOK_ERRORS: { readonly [C in MockbookErrorCode]: "
               "MockbookSqlstate } = {\n")
    out.extend(f"  {code}: '{state}',\n" for code, state in errors.items())
    out.append("}\n\n" + FOOTER)
    return "".join(out)


def mockbook_types(conn: psycopg.Connection) -> str:
    return render_mockbook_types(result_shapes(conn), error_codes(conn))


def ensure_node_modules(client_dir: Path = CLIENT_DIR) -> Path:
    """`npm ci` in client_dir unless its node_modules was installed from this package-lock.json
    (a stamp file named by the lock's hash, as the Makefile's venv stamp); one process at a time
    (an exclusive lock beside the lock file). Returns client_dir/node_modules."""
    lock = client_dir / "package-lock.json"
    modules = client_dir / "node_modules"
    stamp = modules / f".mockbook-{hashlib.sha256(lock.read_bytes()).hexdigest()[:12]}"
    with open(client_dir / ".npm-ci.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not stamp.exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=client_dir, check=True, timeout=600)
            for old in modules.glob(".mockbook-*"):
                old.unlink()
            stamp.touch()
    return modules


def as_url(conninfo: str) -> str:
    """The postgresql:// URL node's pg takes for what libpq connects to with `conninfo` (its
    defaults resolved: PGUSER, the OS user, PGPASSWORD, ...)."""
    with psycopg.connect(conninfo) as conn:
        info = conn.info
        auth = quote(info.user, safe="") + (f":{quote(info.password, safe='')}"
                                            if info.password else "")
        return (f"postgresql://{auth}@{quote(info.host, safe='')}:{info.port}/"
                f"{quote(info.dbname, safe='')}")


def database_types(url: str, client_dir: Path = CLIENT_DIR) -> str:
    """What Supabase's generator prints for the schema of `url`'s database."""
    server = client_dir / GENERATOR.relative_to(CLIENT_DIR)
    ensure_node_modules(client_dir)
    # the settings `supabase gen types typescript` passes (the CLI's internal/gen/types), and
    # none of this shell's own PG_META_* or Sentry settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG_META_", "SENTRY_"))}
    env.update(PG_META_DB_URL=as_url(url), PG_META_GENERATE_TYPES="typescript",
               PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS=SCHEMA,
               PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS="true")
    done = subprocess.run(["node", str(server)], cwd=client_dir, env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0 or "export type Database" not in done.stdout:
        raise RuntimeError(f"postgres-meta failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a database holding the schema (default: one "
                        "built from db/ on the server of DATABASE_URL, then dropped)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a file differs from the catalog")
    args = parser.parse_args(argv)

    server = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/postgres")
    scratch = None
    url = args.database_url
    if url is None:
        scratch = _scratch_database(server)
        url = psycopg.conninfo.make_conninfo(server, dbname=scratch)
        apply_source(url)
    try:
        with psycopg.connect(url) as conn:
            files = {MOCKBOOK_TYPES: mockbook_types(conn), DATABASE_TYPES: database_types(url)}
    finally:
        if scratch:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    stale = [path for path, text in files.items()
             if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} differs from the catalog: run make types",
                  file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(files[path])
        print(f"wrote {path.relative_to(ROOT)}")
    if not stale:
        print(f"{CLIENT_DIR.relative_to(ROOT)}: the types are the schema's already")
    return 0


if __name__ == "__main__":
    sys.exit(main())
