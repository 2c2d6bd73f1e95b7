"""The hostile shapes: every way the tests rewrite HubSpot's bytes on the wire (tests/py/
wire_proxy.py), in one list. A test takes the shapes of its level and the properties from the
catalogue, so a new shape, a new property or a new path is covered without a new test.

- ``value``: the JSON of one value is replaced (``raw``; ``None``: the key is repeated, a first
  value of its own before it). Applied to a record's property value (``says_property``: what its
  dead letter says) and to a webhook event's field (``says_event``: what the 400 says).
- ``answer``: the whole answer body is replaced (``body(original) -> bytes``); ``says``: what
  the one-line error says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Hostile:
    name: str
    level: str  # value | answer
    raw: bytes | None = None  # value: the JSON put in the value's place (None: repeated key)
    says_property: str = ""  # value: what a record's dead letter says of it
    says_event: str = ""  # value: what the intake says of it in an event's field
    body: Callable[[bytes], bytes] | None = None  # answer: the body served instead
    says: str = ""  # answer: what the error line says


def _first_properties_as_list(body: bytes) -> bytes:
    return re.sub(rb'"properties": \{[^{}]*\}', b'"properties": ["HOSTILE"]', body, count=1)


def _first_id_null(body: bytes) -> bytes:
    return re.sub(rb'"id": "\d+"', b'"id": null', body, count=1)


SHAPES = (
    # ---- one value ------------------------------------------------------------------------------
    Hostile("repeated key", "value", None, "appears more than once", "repeats the key"),
    Hostile("object", "value", b'{"HOSTILE": "x"}', "is a JSON object, not a string",
            "is a JSON object"),
    Hostile("array", "value", b'["HOSTILE"]', "is a JSON array, not a string", "is a JSON array"),
    Hostile("number", "value", b"5", "is a number, not a string", "is a number"),
    Hostile("boolean", "value", b"true", "is a boolean, not a string", "is a boolean"),
    Hostile("null in a required field", "value", b"null", "", "is missing"),
    Hostile("2^70", "value", b"1180591620717411303424", "is a number, not a string",
            "out of range"),
    Hostile("2^64", "value", b"18446744073709551616", "is a number, not a string",
            "out of range"),
    Hostile("1e20", "value", b"1e20", "is a number, not a string", "not a whole number"),
    Hostile("negative", "value", b"-1", "is a number, not a string", "out of range"),
    # HubSpot's own: what it means is the catalogue's (Prop.empty), never a dead letter
    Hostile("empty string", "value", b'""'),
    # ---- the whole answer -----------------------------------------------------------------------
    Hostile("results a string", "answer", body=lambda _: b'{"results": "x"}',
            says="results: is a string, not an array"),
    Hostile("results of numbers", "answer", body=lambda _: b'{"results": [1, 2]}',
            says="results[0]: is a number, not an object"),
    Hostile("properties a list", "answer", body=_first_properties_as_list,
            says="properties: is a JSON array, not an object"),
    Hostile("errors context an int", "answer",
            body=lambda _: b'{"status": "COMPLETE", "results": [], "errors": '
                           b'[{"message": "x", "category": "X", "context": 5}]}',
            says="errors[0].context: is a number, not an object"),
    Hostile("errors context a list", "answer",
            body=lambda _: b'{"status": "COMPLETE", "results": [], "errors": '
                           b'[{"message": "x", "category": "X", "context": ["x"]}]}',
            says="errors[0].context: is a JSON array, not an object"),
    Hostile("errors context ids an int", "answer",
            body=lambda _: b'{"status": "COMPLETE", "results": [], "errors": '
                           b'[{"message": "x", "category": "X", "context": {"ids": 5}}]}',
            says="errors[0].context.ids: is a number, not an array"),
    Hostile("errors a string", "answer",
            body=lambda _: b'{"status": "COMPLETE", "results": [], "errors": "boom"}',
            says="errors: is a string, not an array"),
    Hostile("id null", "answer", body=_first_id_null, says="id: is missing"),
    Hostile("empty object", "answer", body=lambda _: b"{}", says="is missing"),
    Hostile("an array", "answer", body=lambda _: b"[]", says="is a JSON array, not an object"),
    Hostile("repeated results key", "answer", body=lambda b: b'{"results": [], ' + b[1:],
            says="repeats the key 'results'"),
    Hostile("deep nesting", "answer", body=lambda _: b"[" * 100_000 + b"]" * 100_000,
            says="nests deeper than"),
    Hostile("number out of range", "answer",
            body=lambda _: b'{"total": 1180591620717411303424, "results": []}',
            says="total: is out of range"),
    Hostile("not JSON", "answer", body=lambda _: b"<html><body>502 Bad Gateway</body></html>",
            says="is not JSON"),
    Hostile("truncated", "answer", body=lambda b: b[: len(b) // 2], says="is not JSON"),
)
VALUES = tuple(s for s in SHAPES if s.level == "value")
# what a record's property may hold: a value shape the record is refused for (null is HubSpot's)
PROPERTY_VALUES = tuple(s for s in VALUES if s.says_property)
ANSWERS = tuple(s for s in SHAPES if s.level == "answer")
# the answer shapes wrong for every list or batch answer of records whatever it holds (the
# others are about a part some answers lack: a record's id, a batch's errors)
LIST_ANSWERS = tuple(s for s in ANSWERS if s.name in (
    "results a string", "results of numbers", "repeated results key", "deep nesting",
    "not JSON", "truncated", "empty object", "an array"))
# a JSON string the sandbox serialises, or null
_VALUE = rb'(?:"(?:[^"\\]|\\.)*"|null|-?\d[\d.eE+-]*|true|false)'


def rewrite_value(body: bytes, key: bytes, shape: Hostile, start: int = 0,
                  end: int | None = None) -> bytes:
    """``body`` with the first ``"key": value`` pair between ``start`` and ``end`` rewritten as
    ``shape`` says (unchanged when there is none)."""
    pattern = re.compile(rb'"' + re.escape(key) + rb'": (' + _VALUE + rb")")
    found = pattern.search(body, start, len(body) if end is None else end)
    if found is None:
        return body
    if shape.raw is None:
        pair = b'"%s": "777", "%s": %s' % (key, key, found[1])
    else:
        pair = b'"%s": %s' % (key, shape.raw)
    return body[: found.start()] + pair + body[found.end():]


def rewrite_record(body: bytes, record_id: str, prop: str, shape: Hostile) -> bytes:
    """``body`` with record ``record_id``'s property ``prop`` rewritten (the sandbox writes a
    record as ``{"id": "...", "properties": {...}, ...}``, its values strings)."""
    head = body.find(b'"id": "%s", "properties": {' % record_id.encode())
    if head < 0:
        return body
    return rewrite_value(body, prop.encode(), shape, head, body.find(b"}", head))
