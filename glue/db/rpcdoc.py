"""docs/rpc.md's per-function reference, generated from the catalog.

An RPC's contract is written once, in its `COMMENT ON FUNCTION` (db/functions/api/), which
PostgREST also publishes. Each `<!-- rpcdoc: name ... -->` ... `<!-- /rpcdoc -->` block of
docs/rpc.md holds, per function named, a `### name` heading, the signature and the comment,
verbatim; the `<!-- rpcdoc-rules -->` block holds the scheduling rules' table, generated from
their declaration (mockbook_internal.declared_booking_rules); the rest of the page is written by
hand. `python -m glue.db.rpcdoc` rewrites the blocks from a database built from db/ (`--check`:
exit 1 when they differ); tests/py/project/test_rpc_docs.py fails when they do.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import uuid
from pathlib import Path

import psycopg

from glue.db.source import ROOT, apply_source

RPC_DOC = ROOT / "docs" / "rpc.md"
BLOCK = re.compile(r"(<!-- rpcdoc: (?P<names>[a-z0-9_ ]+) -->\n)(?P<body>.*?)(<!-- /rpcdoc -->)",
                   re.S)
RULES_BLOCK = re.compile(r"(<!-- rpcdoc-rules -->\n)(?P<body>.*?)(<!-- /rpcdoc-rules -->)", re.S)
WIDTH = 100

_RULES = """
SELECT d.rule, d.kind, d.max, d.default_value::text, d.error, d.effect
FROM mockbook_internal.declared_booking_rules() AS d
"""
# the values set_booking_rule accepts, by kind (`{max}`: the rule's maximum)
_KIND_VALUES = {
    "boolean": "`true`/`false`",
    "hours": "number 0–{max}",
    "limit": "integer 1–{max} or `null`",
    "positive": "integer 1–{max}",
    "action": '`"refuse"` / `"no_refund"`',
    "policy": '`"refund"` / `"keep"`',
}

_FUNCTION = """
SELECT pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_function_result(p.oid),
       pg_catalog.obj_description(p.oid, 'pg_proc')
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.proname = %s
"""


def block_names(doc: str) -> list[list[str]]:
    """The function names of each block, in the document's order."""
    return [m["names"].split() for m in BLOCK.finditer(doc)]


def _tidy(sql_type_text: str) -> str:
    text = re.sub(r"\bhubspot_sync\.", "", sql_type_text)
    text = re.sub(r"(DEFAULT (?:NULL|'[^']*'))::[a-z ]+(\[\])?", r"\1", text)
    return text


def signature(name: str, arguments: str, result: str) -> str:
    """`name(arg type, ...) → result`, wrapped at WIDTH under the opening parenthesis."""
    result = _tidy(result)
    if result.startswith("TABLE("):
        result = "SETOF (rows below)"
    args = [a.strip() for a in re.split(r",\s(?=[a-z_]+ )", _tidy(arguments)) if a.strip()]
    indent = " " * (len(name) + 1)
    pieces = [arg + "," for arg in args[:-1]] + [(args[-1] if args else "") + f") → {result}"]
    lines, line = [], f"{name}("
    for piece in pieces:
        if not line.endswith("(") and len(line) + 1 + len(piece) > WIDTH:
            lines.append(line)
            line = indent + piece
        else:
            line += ("" if line.endswith("(") else " ") + piece
    lines.append(line)
    return "\n".join(lines)


def section(conn: psycopg.Connection, name: str) -> str:
    rows = conn.execute(_FUNCTION, (name,)).fetchall()
    if len(rows) != 1:
        raise LookupError(f"hubspot_sync.{name}: {len(rows)} functions of that name, not one")
    arguments, result, comment = rows[0]
    if not (comment or "").strip():
        raise LookupError(f"hubspot_sync.{name} has no COMMENT ON FUNCTION")
    return f"### {name}\n\n```\n{signature(name, arguments, result)}\n```\n\n{comment.strip()}\n"


def rules_table(conn: psycopg.Connection) -> str:
    """The scheduling rules' table, one row per declared rule, in the declared order."""
    lines = ["| rule | value (default) | effect | error |", "|---|---|---|---|"]
    for rule, kind, most, default, error, effect in conn.execute(_RULES).fetchall():
        values = _KIND_VALUES[kind].format(max=f"{most:,.0f}" if most is not None else "")
        lines.append(f"| `{rule}` | {values} (`{default}`) | {effect} | "
                     f"{f'`{error}`' if error else '—'} |")
    return "\n".join(lines) + "\n"


def render(doc: str, conn: psycopg.Connection) -> str:
    """docs/rpc.md with every block's body generated from the catalog."""
    def body(m: re.Match[str]) -> str:
        sections = "\n".join(section(conn, name) for name in m["names"].split())
        return f"{m.group(1)}\n{sections}\n{m.group(4)}"

    def rules(m: re.Match[str]) -> str:
        return f"{m.group(1)}\n{rules_table(conn)}\n{m.group(3)}"

    return RULES_BLOCK.sub(rules, BLOCK.sub(body, doc))


def _scratch_database(server_url: str) -> str:
    name = f"mockbook_rpcdoc_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a database holding the schema (default: one "
                        "built from db/ on the server of DATABASE_URL, then dropped)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when docs/rpc.md differs from the catalog")
    parser.add_argument("--doc", type=Path, default=RPC_DOC)
    args = parser.parse_args(argv)

    doc = args.doc.read_text()
    scratch = None
    server = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/postgres")
    url = args.database_url
    if url is None:
        scratch = _scratch_database(server)
        url = psycopg.conninfo.make_conninfo(server, dbname=scratch)
        apply_source(url)
    try:
        with psycopg.connect(url) as conn:
            new = render(doc, conn)
    finally:
        if scratch:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    if args.check:
        if new != doc:
            print(f"{args.doc}: the generated reference differs from the catalog's comments; "
                  "run python -m glue.db.rpcdoc", file=sys.stderr)
            return 1
        return 0
    args.doc.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
