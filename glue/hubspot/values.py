"""The screen every record read from HubSpot passes before it reaches the database (pull,
webhooks, import, reconcile, the push's credit merge): a value PostgreSQL cannot store (a NUL
character, an unpaired surrogate), longer than mockbook takes, not a string (HubSpot sends every
property value as a string or null: an object, an array, a boolean or a number is not
HubSpot's), or a date that does not exist (``2026-02-30``) in a date property refuses its record,
with the property and the reason; the other records of the same read are applied. Whole numbers
are checked by the database functions themselves (mockbook_internal.pulled_int); what an empty
value means is the property catalogue's (glue.hubspot.catalogue, ``Prop.empty``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from glue.hubspot import wire

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


def _not_hubspots(name: str, value: Any) -> str | None:
    """Why a property value is not one HubSpot sends: not a string, or a date that does not
    exist in a date property (None when it may be one)."""
    why = wire.property_fault(value)
    if value is None or why is not None:
        return why
    if name in DATE_PROPERTIES or name.endswith(("_date", "_datetime")):
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
    if why := _not_hubspots(name, value):
        return name, why
    if _unstorable(name):
        return _printable(name), "name " + (_unstorable(name) or "")
    return None


def refusal(record: Any) -> Refusal | None:
    """Why ``record`` (one HubSpot object as the API returns it) must not be applied, or None."""
    if not isinstance(record, dict):
        return None
    rid = record.get("id")
    record_id = str(rid) if rid is not None and not _check("id", rid, 64) else None
    refused = record.get("refused")  # what the decoder refused (glue.hubspot.wire.Record)
    if isinstance(refused, dict):
        return Refusal(record_id, str(refused.get("property")), str(refused.get("why")))
    for name, value in (record.get("properties") or {}).items():
        if found := _property_refusal(name, value):
            return Refusal(record_id, *found)
    rest = {k: v for k, v in record.items() if k != "properties"}
    found = _check("", rest, HUBSPOT_MAX_LENGTH)
    return Refusal(record_id, *found) if found else None


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
