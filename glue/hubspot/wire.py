"""The one decoder at the wire: every HubSpot answer (glue.hubspot.client reads it as bytes) and
every webhook body (glue.sync.webhooks) is parsed and typed here, before any other code sees it:
bounded bytes to JSON without repeated keys (:func:`loads`), the answer's shape (:class:`Shape`:
a wrong one is :class:`Malformed`, a HubSpot error, exit 75), and each record's screen
(:data:`RECORD`, :func:`refusal`, :func:`screen`): a record whose property value is not a
string, is repeated, cannot be stored, is longer than mockbook takes or is a date that does not
exist is refused on its own and dead-lettered (:func:`storable`), naming the property and why.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# - Bytes to JSON (`loads`): at most `max_bytes`, nested at most `max_depth` levels (checked on
#   the bytes before parsing, so no depth can reach Python's recursion limit), UTF-8, no
#   NaN/Infinity; a key repeated in one object is kept as a `Duplicated` object that names it
#   (the parser would otherwise keep the last value silently).
# - The answer's shape (`Shape` and the shapes below): what the glue reads of each kind of
#   answer, with its type and range: a list where a list is read, an object where an object is
#   read, a whole number within what its database column holds. Fields the glue does not read
#   are not looked at. A wrong shape, or a repeated key outside a record's properties, is
#   `Malformed`: the client turns it into a HubSpot error (exit 75, retried later).
# - Each record (`RECORD`, the records section below): screened as it is decoded. A record whose
#   property value is not a string or null (HubSpot's CRM objects v3 OpenAPI,
#   `SimplePublicObject.properties`: `additionalProperties: {type: string}`;
#   https://developers.hubspot.com/docs/api-reference/crm-objects-v3/guide), whose property is
#   repeated, or whose value the database cannot take is refused, not the answer: the record gets
#   `"refused": {"property", "why"}`, the values that are not strings become null (nothing
#   downstream can trip on them), and the apply dead-letters it (`screen`) naming the record, the
#   property and the fault.

MAX_ANSWER_BYTES = 64 * 1024 * 1024  # far above a page of 200 records; never held beyond it
MAX_DEPTH = 32  # HubSpot's answers nest 6 levels at most, a webhook body 3
INT64_MAX = 2**63 - 1  # bigint: ids, eventId, subscriptionId
INT32_MAX = 2**31 - 1  # integer: association type ids, attempt numbers
# epoch milliseconds of 9999-12-31T23:59:59.999Z: a webhook's occurredAt PostgreSQL can store
MAX_EPOCH_MS = 253_402_300_799_999
_JSON_KIND = {dict: "a JSON object", list: "a JSON array", bool: "a boolean", str: "a string",
              int: "a number", float: "a number", type(None): "null"}
# A JSON string (escapes included), to strip before counting brackets.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class Malformed(ValueError):
    """What the glue read is not what HubSpot sends: where (a path such as
    ``results[3].properties``; empty for the body as a whole) and why."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}" if where else why)
        self.where = where
        self.why = why


class Duplicated(dict):
    """A JSON object in which a key appears more than once: the first value is kept and
    ``names`` lists the repeated keys."""

    names: tuple[str, ...] = ()


def kind(value: Any) -> str:
    """A value's JSON kind, for messages: "a JSON object", "a number", ..."""
    return _JSON_KIND.get(type(value), type(value).__name__)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    repeated: list[str] = []
    for key, value in pairs:
        if key in out:
            repeated.append(key)
        else:
            out[key] = value
    if not repeated:
        return out
    marked = Duplicated(out)
    marked.names = tuple(dict.fromkeys(repeated))
    return marked


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def depth(raw: bytes, limit: int) -> int:
    """How deep ``raw`` nests, counted up to ``limit + 1`` (strings stripped first, so a bracket
    in a value does not count; where the JSON is broken the count may be high, never low for the
    part a parser would read)."""
    level = top = 0
    for byte in _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if byte in b"[{":
            level += 1
            if level > top:
                top = level
                if top > limit:
                    break
        else:
            level -= 1
    return top


def loads(raw: bytes, *, max_bytes: int = MAX_ANSWER_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """``raw`` as JSON (see the module docstring), or :class:`Malformed` saying why not."""
    if len(raw) > max_bytes:
        raise Malformed("", f"is over {max_bytes:,} bytes")
    if depth(raw, max_depth) > max_depth:
        raise Malformed("", f"nests deeper than {max_depth} levels")
    try:
        text = raw.decode("utf-8")
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except UnicodeDecodeError:
        raise Malformed("", "is not UTF-8") from None
    except RecursionError:  # (the depth check comes first: never reached)
        raise Malformed("", f"nests deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError, a number of more than 4,300 digits
        raise Malformed("", f"is not JSON ({str(exc).splitlines()[0][:120]})") from None


# ---- shapes -------------------------------------------------------------------------------------
class Shape(ABC):
    """What one value must be; ``check`` returns it (a record typed in place) or raises
    :class:`Malformed`. Null is accepted wherever a field may be absent."""

    @abstractmethod
    def check(self, value: Any, where: str) -> Any:
        """``value`` (typed) or Malformed."""

    def accepts(self, value: Any) -> bool:
        try:
            self.check(value, "")
        except Malformed:
            return False
        return True


def _at(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


@dataclass(frozen=True)
class Str(Shape):
    max_length: int | None = None
    non_empty: bool = False

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, str):
            raise Malformed(where, f"is {kind(value)}, not a string")
        if self.non_empty and not value.strip():
            raise Malformed(where, "is empty")
        if self.max_length is not None and len(value) > self.max_length:
            raise Malformed(where, f"is {len(value):,} characters long (at most "
                                   f"{self.max_length:,})")
        return value


@dataclass(frozen=True)
class Int(Shape):
    """A whole number from ``low`` to ``high`` (a JSON number written without a fraction)."""

    low: int = 0
    high: int = INT64_MAX

    def check(self, value: Any, where: str) -> Any:
        if isinstance(value, float):
            raise Malformed(where, f"is {value!r}, not a whole number")
        if isinstance(value, bool) or not isinstance(value, int):
            raise Malformed(where, f"is {kind(value)}, not a whole number")
        if not self.low <= value <= self.high:
            raise Malformed(where, f"is out of range ({_short(value)}; {self.low:,} to "
                                   f"{self.high:,})")
        return value


class Bool(Shape):
    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, bool):
            raise Malformed(where, f"is {kind(value)}, not a boolean")
        return value


class AnyObject(Shape):
    """An object whose fields the glue does not read."""

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise Malformed(where, f"is {kind(value)}, not an object")
        return value


@dataclass(frozen=True)
class Id(Shape):
    """A HubSpot object id: a string of digits (as the v3 APIs send it) or a whole number, within
    a bigint."""

    def check(self, value: Any, where: str) -> Any:
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
            Int().check(int(value), where)
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return Int().check(value, where)
        raise Malformed(where, f"is {kind(value)} ({_short(value)}), not an object id")


@dataclass(frozen=True)
class ListOf(Shape):
    item: Shape
    max_items: int | None = None

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise Malformed(where, f"is {kind(value)}, not an array")
        if self.max_items is not None and len(value) > self.max_items:
            raise Malformed(where, f"holds {len(value):,} items (at most {self.max_items:,})")
        for i, item in enumerate(value):
            self.item.check(item, _at(where, i))
        return value


@dataclass(frozen=True)
class MapOf(Shape):
    """An object of any keys whose values are all ``item``."""

    item: Shape

    def check(self, value: Any, where: str) -> Any:
        _object(value, where)
        for key, item in value.items():
            if item is not None:
                self.item.check(item, _at(where, key))
        return value


@dataclass(frozen=True)
class Obj(Shape):
    """An object: the fields read, each of its shape when present and not null; ``required``
    fields must be present and not null."""

    fields: Mapping[str, Shape] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def check(self, value: Any, where: str) -> Any:
        _object(value, where)
        for name, shape in self.fields.items():
            item = value.get(name)
            if item is not None:
                shape.check(item, _at(where, name))
        for name in self.required:
            if value.get(name) is None:
                raise Malformed(_at(where, name), "is missing")
        return value


def _object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise Malformed(where, f"is {kind(value)}, not an object")
    if isinstance(value, Duplicated):
        names = ", ".join(repr(n) for n in value.names)
        raise Malformed(where, f"repeats the key {names} (a JSON object holds each key once)")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text):,} characters)"


# ---- records: the screen -----------------------------------------------------------------------
# Every record of every answer (pull, webhooks, import, reconcile, the push's credit merge and its
# write answers) is screened here, once, as it is decoded: a property value that is not a string
# (HubSpot's CRM objects v3 OpenAPI, `SimplePublicObject.properties`: `additionalProperties:
# {type: string}`), a property repeated in the record, a value PostgreSQL cannot store (a NUL
# character, an unpaired surrogate), one longer than mockbook takes, or a date that does not exist
# (`2026-02-30`) in a date property refuses the record (:func:`refusal`), with the property and
# the reason; the other records of the same answer are applied (:func:`screen`). Whole numbers
# are checked by the database functions themselves (mockbook_internal.pulled_int); what an empty
# value means is the property catalogue's (glue.hubspot.catalogue, ``Prop.empty``).

# HubSpot's limit on a text value added through the CRM: 65,536 characters; a value submitted
# through a form has no limit (https://knowledge.hubspot.com/properties/property-field-types-in-hubspot,
# "Single-line text"), so longer values do reach the API's answers.
HUBSPOT_MAX_LENGTH = 65_536
# Tighter where the apps use the value: the same bounds as the RPCs' arguments (a student id of
# 64, an email of 254 as RFC 5321 allows, a name of 255) and the exam's listed fields, which go
# into the apps' Redis keys and pages.
MAX_LENGTH = {
    "student_id": 64,
    "email": 254,
    "firstname": 255,
    "lastname": 255,
    "ndecc_exam_date": 64,
    "mock_exam_name": 255,
    "mock_type": 64,
    "location": 255,
    "exam_date": 64,
    "start_time": 64,
    "end_time": 64,
    "is_active": 16,
    "scheduled_activation_datetime": 64,
    "mock_set": 16,
    "booking_id": 255,
    "booking_status": 64,
    "token_used": 255,
    "dominant_hand": 32,
    "name": 255,
}
PREVIEW = 80  # characters of a refused value kept in its dead letter
# Date properties: HubSpot's date and datetime ones and mockbook's text ones named as dates.
DATE_PROPERTIES = frozenset({"exam_date", "ndecc_exam_date", "scheduled_activation_datetime"})
_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
# Where a decoded record carries its refusal ({"property", "why"}): the faulty values themselves
# are made null as the record is decoded, so nothing downstream can trip on them.
REFUSED = "refused"


@dataclass(frozen=True)
class Refusal:
    """One record refused: its id, the property (a dotted path outside ``properties``) and
    why."""

    record_id: str | None
    field: str
    why: str

    @property
    def error(self) -> str:
        return f"INVALID_ARGUMENT: property {self.field} {self.why}"


def property_fault(value: Any) -> str | None:
    """Why a property value is not one HubSpot sends (None when it is a string or null)."""
    if value is None or isinstance(value, str):
        return None
    return (f"is {kind(value)}, not a string (HubSpot sends every property value as a string "
            "or null)")


def _faults(properties: dict[str, Any]) -> dict[str, str]:
    """{property: why} of a record's properties that are not HubSpot's: repeated, or not a
    string."""
    faults = {}
    if isinstance(properties, Duplicated):
        for name in properties.names:
            faults[name] = "appears more than once in HubSpot's answer (a repeated JSON key)"
    for name, value in properties.items():
        why = property_fault(value)
        if why is not None and name not in faults:
            faults[name] = why
    return faults


def _history_faults(history: Any, where: str, known: dict[str, str]) -> dict[str, str]:
    """{property: why} of the history entries (``propertiesWithHistory``) that are not HubSpot's;
    an entry that is not an object is the answer's fault (:class:`Malformed`)."""
    _object(history, where)
    faults = {}
    for name, entries in history.items():
        ListOf(_HISTORY_ENTRY).check(entries, _at(where, name))
        for entry in entries:
            why = property_fault(entry.get("value"))
            if isinstance(entry, Duplicated):
                why = "repeats a key (a repeated JSON key)"
            if why is not None and name not in known:
                faults[name] = f"has a history entry (propertiesWithHistory) whose value {why}"
    return faults


def _unstorable(text: str) -> str | None:
    """Why PostgreSQL cannot store ``text`` (None when it can)."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which PostgreSQL cannot store"
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return "contains an unpaired surrogate (invalid Unicode), which PostgreSQL cannot store"
    return None


def _check(path: str, value: Any, limit: int) -> tuple[str, str] | None:
    """(field, why) of the first value under ``path`` that cannot go to the database."""
    if isinstance(value, str):
        why = _unstorable(value)
        if why is None and len(value) > limit:
            why = f"is {len(value):,} characters long; mockbook takes at most {limit:,}"
        return (path, why) if why else None
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return None
    for key, item in items:
        bad = _unstorable(key)
        if bad:
            return (f"{path}.{_printable(key)}" if path else _printable(key), f"name {bad}")
        found = _check(f"{path}.{key}" if path else key, item, limit)
        if found:
            return found
    return None


def _not_a_date(name: str, value: Any) -> str | None:
    """Why a date property's value is a date that does not exist (None otherwise)."""
    if not isinstance(value, str) or not (
            name in DATE_PROPERTIES or name.endswith(("_date", "_datetime"))):
        return None
    day = _ISO_DAY.match(value)
    if day is not None:
        try:
            date(int(day[1]), int(day[2]), int(day[3]))
        except ValueError:
            return f"is not a date that exists: {_printable(value.strip()[:PREVIEW])}"
    return None


def _property_refusal(name: Any, value: Any) -> tuple[str, str] | None:
    """(property, why) when one property of a record must not be applied: its value cannot
    be stored or is longer than mockbook takes, is not one HubSpot sends, or its name cannot
    be stored."""
    found = _check(name, value, MAX_LENGTH.get(name, HUBSPOT_MAX_LENGTH))
    if found is not None or not isinstance(name, str):
        return found
    if why := property_fault(value) or _not_a_date(name, value):
        return name, why
    if _unstorable(name):
        return _printable(name), "name " + (_unstorable(name) or "")
    return None


def _record_id(record: dict[str, Any]) -> str | None:
    rid = record.get("id")
    return str(rid) if rid is not None and not _check("id", rid, 64) else None


def _storage_refusal(record: dict[str, Any]) -> tuple[str, str] | None:
    """(property, why) of the first value of a record (typed: its properties strings or null)
    the database cannot take."""
    for name, value in (record.get("properties") or {}).items():
        if found := _property_refusal(name, value):
            return found
    rest = {k: v for k, v in record.items() if k not in ("properties", REFUSED)}
    return _check("", rest, HUBSPOT_MAX_LENGTH)


def refusal(record: Any) -> Refusal | None:
    """Why ``record`` (one HubSpot object) must not be applied, or None: the refusal its decoding
    found (:class:`Record`), else the screen's answer for a record made elsewhere."""
    if not isinstance(record, dict):
        return None
    refused = record.get(REFUSED)
    if isinstance(refused, dict):
        return Refusal(_record_id(record), str(refused.get("property")), str(refused.get("why")))
    found = _faults(record.get("properties") or {})
    if found:
        name = next(iter(found))
        return Refusal(_record_id(record), name, found[name])
    found_value = _storage_refusal(record)
    return Refusal(_record_id(record), *found_value) if found_value else None


def screen(records: Iterable[Any]) -> tuple[list[Any], list[Refusal]]:
    """(the records that may be applied, the refusals of the others), in order."""
    keep: list[Any] = []
    refused: list[Refusal] = []
    for record in records:
        why = refusal(record)
        if why is None:
            keep.append(record)
        else:
            refused.append(why)
    return keep, refused


def _printable(text: str) -> str:
    return "".join(
        "\N{SYMBOL FOR NULL}" if ch == "\x00" else "\ufffd" if "\ud800" <= ch <= "\udfff" else ch
        for ch in text
    )


def storable(value: Any, preview: int | None = PREVIEW) -> Any:
    """A copy of a refused record that the dead letter can hold: NULs and surrogates shown as
    visible characters, strings longer than ``preview`` (None: any length) cut to a preview
    with their length."""
    if isinstance(value, str):
        text = _printable(value)
        if preview is not None and len(text) > preview:
            return f"{text[:preview]}... ({len(value):,} characters)"
        return text
    if isinstance(value, dict):
        return {_printable(str(k)): storable(v, preview) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v, preview) for v in value]
    return value


_HISTORY_ENTRY = Obj({"timestamp": Str()})


class Record(Shape):
    """One CRM object (``SimplePublicObject``): its id, timestamps and flags typed as the answer's
    shape; its properties screened (see above): a refused record carries its refusal under
    ``"refused"`` ({"property", "why"}), with the values that are not strings made null."""

    head = Obj({"id": Id(), "archived": Bool(), "new": Bool(), "objectWriteTraceId": Str(),
                "createdAt": Str(), "updatedAt": Str(), "archivedAt": Str()}, required=("id",))

    def check(self, value: Any, where: str) -> Any:
        self.head.check(value, where)
        properties = value.get("properties")
        if properties is None:
            properties = value["properties"] = {}
        if not isinstance(properties, dict):
            raise Malformed(_at(where, "properties"), f"is {kind(properties)}, not an object")
        faults = _faults(properties)
        history = value.get("propertiesWithHistory")
        if history is not None:
            faults.update(_history_faults(history, _at(where, "propertiesWithHistory"), faults))
        if faults:
            clean = dict(properties)
            for name in faults:
                if name in clean:
                    clean[name] = None
            value["properties"] = clean
            if isinstance(history, dict):
                value["propertiesWithHistory"] = {
                    k: v for k, v in history.items() if k not in faults}
            name = next(iter(faults))
            value[REFUSED] = {"property": name, "why": faults[name]}
        elif found := _storage_refusal(value):
            value[REFUSED] = {"property": found[0], "why": found[1]}
        return value


RECORD = Record()
ANSWER = AnyObject()  # an answer the glue reads nothing of but that it is an object


class _ContextValue(Shape):
    def check(self, value: Any, where: str) -> Any:
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise Malformed(where, f"is {kind(value)}, not a string")


ERROR = Obj({"message": Str(), "category": Str(), "status": Str(),
             "context": MapOf(ListOf(_ContextValue()))})
# A list answer always holds its ``results`` (``total`` too for a search): every collection and
# batch answer of HubSpot's OpenAPI specs requires them (BatchResponseSimplePublicObject,
# CollectionResponseWithTotalSimplePublicObject, BatchResponsePublicDefaultAssociation, ...).
# Without them (``{}``) the answer says nothing of the records asked about: HubSpot may have
# written them, so it is the answer's fault (retried, exit 75), never the records'.
# objects batch answers (read, upsert, update, create): records; per-input errors of a 207
BATCH = Obj({"results": ListOf(RECORD), "errors": ListOf(ERROR)}, required=("results",))
# associations batch answers (create, labels): objects the glue only counts; errors as above
ASSOCIATION_BATCH = Obj({"results": ListOf(AnyObject()), "errors": ListOf(ERROR)},
                        required=("results",))
PAGING = Obj({"next": Obj({"after": Str(max_length=1024)})})
SEARCH = Obj({"total": Int(), "results": ListOf(RECORD), "paging": PAGING},
             required=("total", "results"))
PAGE = Obj({"results": ListOf(RECORD), "paging": PAGING}, required=("results",))
ASSOCIATION_TYPE = Obj({"typeId": Int(high=INT32_MAX), "category": Str(), "label": Str()},
                       required=("typeId",))
ASSOCIATIONS = Obj({
    "results": ListOf(Obj({
        "from": Obj({"id": Id()}, required=("id",)),
        "to": ListOf(Obj({"toObjectId": Id(), "associationTypes": ListOf(ASSOCIATION_TYPE)},
                         required=("toObjectId",))),
    }, required=("from",))),
    "errors": ListOf(ERROR),
}, required=("results",))
# the portal's definitions (setup and the start-up check)
PROPERTY = Obj({"name": Str(non_empty=True), "type": Str(), "fieldType": Str(),
                "groupName": Str(), "hasUniqueValue": Bool(),
                "options": ListOf(Obj({"value": Str(), "label": Str()})),
                "modificationMetadata": Obj({"readOnlyValue": Bool()})}, required=("name",))
SCHEMA = Obj({"id": Str(), "objectTypeId": Str(), "name": Str(), "fullyQualifiedName": Str(),
              "properties": ListOf(PROPERTY), "associations": ListOf(AnyObject())})
SCHEMAS = Obj({"results": ListOf(SCHEMA)}, required=("results",))
PROPERTIES = Obj({"results": ListOf(PROPERTY)}, required=("results",))
GROUPS = Obj({"results": ListOf(Obj({"name": Str()}))}, required=("results",))
LABELS = Obj({"results": ListOf(ASSOCIATION_TYPE)}, required=("results",))


# ---- webhook events ------------------------------------------------------------------------------
WEBHOOK_MAX_DEPTH = 8
# https://developers.hubspot.com/docs/api/webhooks ("Webhook payloads"): the fields of an event
EVENT = Obj(
    {
        "eventId": Int(),
        "subscriptionId": Int(),
        "portalId": Int(),
        "appId": Int(),
        "occurredAt": Int(high=MAX_EPOCH_MS),
        "attemptNumber": Int(high=INT32_MAX),
        "subscriptionType": Str(max_length=100, non_empty=True),
        "objectTypeId": Str(max_length=100),
        "objectId": Id(),
        "propertyName": Str(max_length=255),
        "propertyValue": Str(),
        "changeSource": Str(max_length=255),
        "changeFlag": Str(max_length=255),
        "sourceId": Str(max_length=255),
        "primaryObjectId": Id(),
        "newObjectId": Id(),
        "mergedObjectIds": ListOf(Id()),
        "numberOfPropertiesMoved": Int(high=INT32_MAX),
        "checkId": Str(max_length=64),
    },
    required=("eventId", "occurredAt", "subscriptionType", "objectId"),
)


@dataclass(frozen=True)
class RefusedEvent:
    index: int
    event_id: Any
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "eventId": self.event_id, "why": self.why}


def webhook_events(events: list[Any]) -> tuple[list[dict[str, Any]], list[RefusedEvent]]:
    """(the events of a delivery that are HubSpot's, the others with why): each event typed by
    :data:`EVENT` (a value jsonb cannot hold, a NUL in a ``propertyValue``, is HubSpot's all the
    same: the store marks it visibly, glue.db.database.store_webhook_events)."""
    kept: list[dict[str, Any]] = []
    refused: list[RefusedEvent] = []
    for i, event in enumerate(events):
        try:
            EVENT.check(event, f"[{i}]")
        except Malformed as exc:
            eid = event.get("eventId") if isinstance(event, dict) else None
            refused.append(RefusedEvent(i, eid if Int().accepts(eid) else None, str(exc)))
            continue
        kept.append(event)
    return kept, refused
