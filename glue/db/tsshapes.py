"""The result shapes of the API's functions returning jsonb, read from their comments.

Supabase's generator types a `jsonb` result as `Json`; each function's COMMENT ON FUNCTION (the
text docs/rpc.md prints) says what it holds: `Returns `{a, b: {c}, d: [e results]}``, another
function's result plus keys, or the same result as another. glue.db.tstypes writes each shape as a
TypeScript type; tests/py/project/test_typescript_client.py calls every such function and checks
that its result has exactly the documented keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg


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


def keys_of(shape: Shape, shapes: dict[str, Result]) -> dict[str, Shape] | None:
    """An object shape's keys (its base's first), or None when the shape is not an object."""
    if isinstance(shape, Ref):
        return keys_of(shapes[shape.function].shape, shapes)
    if not isinstance(shape, Obj):
        return None
    fields = dict(keys_of(Ref(shape.base), shapes) or {}) if shape.base else {}
    fields.update(shape.fields)
    return fields
