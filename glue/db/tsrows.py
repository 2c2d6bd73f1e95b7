"""Which columns of the API's table-returning functions can be null, for the apps' types.

Supabase's generator types every column of a `RETURNS TABLE` function as never null. The one
source is each function's COMMENT ON FUNCTION (the text docs/rpc.md prints), in one sentence:
``Null: `a`, `b` (why), no other column.``, ``Null: any column but `a` and `b`.`` or ``Null:
none.`` (a name in parentheses explains, it is not a column). glue.db.tstypes writes each row
type from it (the generated row with `| null` on those columns);
tests/py/project/test_typescript_nulls.py checks it against real rows, both ways.
"""

from __future__ import annotations

import re

import psycopg


class NullsError(ValueError):
    pass


_TABLE_FUNCTIONS = """
SELECT p.proname, coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), ''),
       array(SELECT a.name FROM unnest(p.proargnames, p.proargmodes) WITH ORDINALITY
                                AS a(name, mode, n)
             WHERE a.mode = 't' ORDER BY a.n)
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND 't' = ANY (p.proargmodes)
  AND pg_catalog.has_function_privilege('service_role', p.oid, 'EXECUTE')
ORDER BY p.proname
"""
_SENTENCE = re.compile(r"(?<![\w`])Null:\s")


def _sentence(text: str) -> str:
    """The `Null:` sentence's words: to the first full stop (before a space or the end) outside
    backticks and parentheses."""
    found = list(_SENTENCE.finditer(text))
    if len(found) != 1:
        raise NullsError(f"{len(found)} `Null:` sentences, not one (which columns can be null: "
                         "`Null: `a`, `b`.`, `Null: any column but `c`.` or `Null: none.`)")
    depth, quoted = 0, False
    for i in range(found[0].end(), len(text)):
        char = text[i]
        if char == "`":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif (not quoted and depth == 0 and char == "."
              and (i + 1 == len(text) or text[i + 1].isspace())):
            return text[found[0].end():i].strip()
    return text[found[0].end():].strip()


def _outside_parentheses(text: str) -> str:
    out, depth = [], 0
    for char in text:
        depth += char == "("
        if depth == 0:
            out.append(char)
        depth -= char == ")" and depth > 0
    return "".join(out)


def null_columns(comment: str, columns: list[str]) -> list[str]:
    """The columns (of `columns`, in their order) the comment's `Null:` sentence says can be
    null."""
    words = _sentence(" ".join(comment.split()))
    if words == "none":
        return []
    every_but = words.startswith("any column but ")
    names = re.findall(r"`([^`]*)`", _outside_parentheses(words))
    if not names:
        raise NullsError(f"`Null: {words}` names no column")
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise NullsError(f"`Null:` names {unknown}, not columns of the result {columns}")
    return [c for c in columns if (c in names) != every_but]


def row_nulls(conn: psycopg.Connection) -> dict[str, tuple[list[str], list[str]]]:
    """Every API function returning rows → (its columns, those that can be null)."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    for name, comment, columns in conn.execute(_TABLE_FUNCTIONS).fetchall():
        try:
            found[name] = (columns, null_columns(comment, columns))
        except NullsError as exc:
            raise NullsError(f"hubspot_sync.{name}'s COMMENT ON FUNCTION: {exc}") from exc
    return found


def row_type_name(function: str) -> str:
    return "".join(part.capitalize() for part in function.split("_")) + "Row"


ROW_HELPERS = """
/** The row Supabase's generator gives a function returning rows (every column non-null). */
type GeneratedRow<F extends keyof GeneratedFunctions> =
  GeneratedFunctions[F]['Returns'] extends (infer R)[] ? R : never

/** That row with `| null` on the columns `N`. */
type NullableIn<R, N extends keyof R> = { [C in keyof R]: C extends N ? R[C] | null : R[C] }
"""


def render_rows(rows: dict[str, tuple[list[str], list[str]]]) -> str:
    """The row types and `RpcRows` (each function returning rows → its row)."""
    out = [ROW_HELPERS]
    for name, (columns, nullable) in rows.items():
        union = " | ".join(f"'{c}'" for c in nullable) or "never"
        kept = [c for c in columns if c not in nullable]
        where = (", ".join(f"`{c}`" for c in nullable) or "no column") if len(
            kept) > len(nullable) else "every column but " + ", ".join(f"`{c}`" for c in kept)
        out.append(f"\n/** A row of `{name}` (docs/rpc.md#{name}): null in {where}. */\n"
                   f"export type {row_type_name(name)} = NullableIn<GeneratedRow<'{name}'>, "
                   f"{union}>\n")
    out.append("\n/** Each function returning rows → its row. */\nexport type RpcRows = {\n")
    out.extend(f"  {name}: {row_type_name(name)}\n" for name in rows)
    out.append("}\n")
    return "".join(out)
