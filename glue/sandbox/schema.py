"""The sandbox's portal: which properties each object has, and the rules HubSpot applies to the
values written to them. Also the properties and association-label endpoints, and the in-process
"ready portal" (what ``mockbook hubspot setup`` creates, applied without HTTP).

A sandbox starts as an empty portal: contacts and notes with (a subset of) HubSpot's own
properties, no custom object, no association beyond HubSpot's own (note <-> contact).

The rules, each from HubSpot's documentation:
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from glue.hubspot.catalogue import FIELD_TYPES

from . import rules
from .errors import VALIDATION_ERROR, ApiError
from .store import BOOKINGS, CONTACTS, EXAMS, NOTES, ObjectType, Store, iso

# How it works (the detail of the module docstring):
#
# - A write naming a property the object does not have fails as a whole with 400
#   VALIDATION_ERROR, ``"Property values were not valid: [{... "error":"PROPERTY_DOESNT_EXIST"
#   ...}]"`` (batch calls included: the whole batch is refused).
#   https://developers.hubspot.com/docs/api/crm/properties ("Property values" / error handling)
#   and https://developers.hubspot.com/docs/api/faq ("What do I need to know about API error
#   messages?").
# - Values are checked against the property's type: ``number`` as HubSpot's API takes numbers
#   (INVALID_DOUBLE; LEADING_TRAILING_WHITESPACE), ``bool`` is true/false, ``enumeration`` must be
#   one of the property's option values (INVALID_OPTION); a contact's ``email`` must be an
#   address (INVALID_EMAIL); no value is longer than 65,536 characters; ``""`` clears any
#   property. https://developers.hubspot.com/docs/api/crm/properties#property-type-and-fieldtype-values
#   and glue/sandbox/rules.py (each rule's source).
# - ``date`` properties take YYYY-MM-DD or epoch milliseconds at midnight UTC; any other time of
#   day is refused (INVALID_DATE, "... is at 10:0:0.0 UTC, not midnight!") and a date reads back
#   as YYYY-MM-DD. ``datetime`` takes epoch milliseconds or ISO 8601 and reads back as ISO 8601.
#   A day that does not exist (2026-13-45) is INVALID_DATE / INVALID_DATETIME too: a 400, never a
#   500 that a client would retry as transient.
#   https://developers.hubspot.com/docs/api/faq ("How should timestamps be formatted for
#   HubSpot's APIs?": "Date properties ... must be set to midnight UTC ... If you try to set a value
#   that is not midnight UTC, you will receive an error.")
# - A note needs ``hs_timestamp`` (REQUIRED_PROPERTY).
#   https://developers.hubspot.com/docs/api/crm/notes ("hs_timestamp: Required.")
# - Unique-value properties (``hasUniqueValue``) refuse a second record with the same value (409,
#   in store.py / api.py). https://developers.hubspot.com/docs/api/crm/properties#create-unique-identifier-properties

if TYPE_CHECKING:
    pass

# Read-only properties every object has (HubSpot sets them; writes of them are not refused).
SYSTEM = ("hs_object_id", "createdate", "hs_createdate", "hs_lastmodifieddate", "lastmodifieddate")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MS = re.compile(r"^-?\d{1,15}$")
# The instants a date or date-time may name: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_999


def prop_def(
    name: str,
    type_: str = "string",
    *,
    label: str | None = None,
    options: list | tuple = (),
    unique: bool = False,
    group: str = "",
    hubspot: bool = False,
) -> dict[str, Any]:
    """A property as the properties API returns it."""
    return {
        "name": name,
        "label": label or name,
        "type": type_,
        "fieldType": FIELD_TYPES.get(type_, "text"),
        "groupName": group,
        "description": "",
        "options": [
            o
            if isinstance(o, dict)
            else {"label": o, "value": o, "hidden": False, "displayOrder": i}
            for i, o in enumerate(options)
        ],
        "hasUniqueValue": unique,
        "hubspotDefined": hubspot,
        "displayOrder": -1,
        "hidden": False,
        "formField": False,
        "archived": False,
    }


def _own(names: tuple[str, ...], group: str, **types: str) -> dict[str, dict]:
    return {n: prop_def(n, types.get(n, "string"), group=group, hubspot=True) for n in names}


# HubSpot's own properties the sandbox knows (a subset: the ones mockbook and its tests touch).
CONTACT_OWN = _own(
    (
        "email",
        "firstname",
        "lastname",
        "phone",
        "company",
        "website",
        "city",
        "state",
        "zip",
        "country",
        "jobtitle",
        "lifecyclestage",
        "hubspot_owner_id",
        "hs_lead_status",
        "hs_additional_emails",
        "hs_object_source",
    ),
    "contactinformation",
)
NOTE_OWN = _own(
    ("hs_note_body", "hs_timestamp", "hubspot_owner_id", "hs_attachment_ids"),
    "engagement",
    hs_timestamp="datetime",
)
CUSTOM_OWN = _own(("hubspot_owner_id", "hs_pipeline", "hs_pipeline_stage"), "")
REQUIRED_ON_CREATE = {NOTES: ("hs_timestamp",)}


# ---- values ------------------------------------------------------------------------------------
@dataclass
class Invalid(Exception):
    name: str
    error: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "isValid": False,
            "message": self.message,
            "error": self.error,
            "name": self.name,
            "localizedErrorMessage": self.message,
        }


def validation_error(problems: list[Invalid]) -> ApiError:
    """HubSpot's answer to invalid property values: 400 VALIDATION_ERROR, the problems as JSON in
    the message, the property names in ``context.propertyName``."""
    listed = json.dumps([p.as_dict() for p in problems], separators=(",", ":"))
    return ApiError(
        400,
        f"Property values were not valid: {listed}",
        VALIDATION_ERROR,
        {"propertyName": [p.name for p in problems]},
    )


def _hms(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{dt.hour}:{dt.minute}:{dt.second}.{dt.microsecond // 1000}"


def normalise(name: str, spec: dict[str, Any], value: str) -> str:
    """The stored (and read back) form of one value, or Invalid."""
    if value == "":
        return value
    too_long = rules.length_problem(value)
    if too_long:
        raise Invalid(name, *too_long)
    kind = spec.get("type")
    if kind == "number":
        bad = rules.number_problem(value)
        if bad:
            raise Invalid(name, *bad)
        return value
    if kind == "bool":
        if value.lower() not in ("true", "false"):
            raise Invalid(name, "INVALID_BOOLEAN", f'"{value}" is not a valid boolean')
        return value.lower()
    if kind == "enumeration":
        allowed = [o.get("value") for o in spec.get("options") or []]
        if spec.get("fieldType") == "checkbox":
            bad_options = [v for v in value.split(";") if v not in allowed]
        else:
            bad_options = [value] if value not in allowed else []
        if bad_options:
            raise Invalid(
                name,
                "INVALID_OPTION",
                f'"{bad_options[0]}" was not one of the allowed options: [{", ".join(allowed)}]',
            )
        return value
    if kind == "date":
        return _date(name, value)
    if kind == "datetime":
        ms = _ms(value)
        if ms is None:
            raise Invalid(name, "INVALID_DATETIME", f'"{value}" is not a valid date-time')
        return iso(ms)
    if name == "email" and spec.get("hubspotDefined"):  # the contact's own email address
        bad = rules.email_problem(value)
        if bad:
            raise Invalid(name, *bad)
    return value


def _ms(value: str) -> int | None:
    """Epoch milliseconds of a date or date-time value; None when it is none, or names a day that
    does not exist (2026-13-45) or lies outside the years 1 to 9999."""
    if _MS.match(value):
        ms = int(value)
    else:
        try:
            if _DATE.match(value):
                dt = datetime.strptime(value, "%Y-%m-%d")
            else:
                dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            ms = int(dt.timestamp() * 1000)
        except (ValueError, OverflowError):
            return None
    return ms if _MIN_MS <= ms <= _MAX_MS else None


def _date(name: str, value: str) -> str:
    ms = _ms(value)
    if ms is None:
        raise Invalid(name, "INVALID_DATE", f'"{value}" is not a valid date')
    if ms % 86_400_000:
        raise Invalid(name, "INVALID_DATE", f"{value} is at {_hms(ms)} UTC, not midnight!")
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def check_values(ot: ObjectType, props: dict[str, str], *, create: bool) -> dict[str, str]:
    """The values to store, or ApiError listing every invalid one (nothing is written)."""
    out, problems = validate(ot, props, create=create)
    if problems:
        raise validation_error(problems)
    return out


def validate(
    ot: ObjectType, props: dict[str, str], *, create: bool
) -> tuple[dict[str, str], list[Invalid]]:
    """(the values to store, every invalid one) of one write's properties."""
    if ot.declared is None or not ot.strict:
        return props, []
    problems: list[Invalid] = []
    out = {}
    for name, value in props.items():
        spec = ot.declared.get(name)
        if spec is None:
            if name in SYSTEM:
                continue
            problems.append(
                Invalid(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            )
            continue
        try:
            out[name] = normalise(name, spec, value)
        except Invalid as exc:
            problems.append(exc)
    if create:
        for name in REQUIRED_ON_CREATE.get(ot.type_id, ()):
            if not props.get(name):
                problems.append(
                    Invalid(name, "REQUIRED_PROPERTY", f'Property "{name}" is required')
                )
    return out, problems


# ---- the empty and the ready portal ------------------------------------------------------------
def empty_portal(store: Store) -> None:
    """HubSpot's own objects only: contacts and notes, and their default association."""
    store.register_type(
        CONTACTS,
        "contacts",
        ["email"],
        aliases=["contact"],
        singular="Contact",
        plural="Contacts",
        declared=dict(CONTACT_OWN),
        strict=True,
    )
    store.register_type(
        NOTES,
        "notes",
        [],
        aliases=["note"],
        singular="Note",
        plural="Notes",
        declared=dict(NOTE_OWN),
        strict=True,
    )
    for ot in (store.resolve_type(CONTACTS), store.resolve_type(NOTES)):
        assert ot is not None
        ot.groups.update({"contactinformation", "engagement"})
    # HubSpot's own default ids for note <-> contact.
    store.define_default(NOTES, CONTACTS, 202, 201)


def ready_portal(store: Store, prerequisite_type_id: int = 1340) -> None:
    """What `mockbook hubspot setup` creates (glue.hubspot.setup.CATALOGUE), applied in-process with
    the object type ids the glue uses by default (2-50158943, 2-50158939)."""
    from glue.hubspot import catalogue

    for type_id, obj in ((BOOKINGS, catalogue.BOOKINGS), (EXAMS, catalogue.EXAMS)):
        if store.resolve_type(type_id) is None:
            define_schema(
                store,
                type_id,
                obj.schema_body(),
                aliases=("exams",) if obj is catalogue.EXAMS else (),
            )
    for type_id, (_, props) in catalogue.STANDARD_PROPS.items():
        ot = store.resolve_type(type_id)
        assert ot is not None and ot.declared is not None
        ot.groups.add(catalogue.GROUP)
        for p in props:
            ot.declared.setdefault(
                p.name,
                prop_def(
                    p.name,
                    p.type,
                    label=p.label,
                    options=p.options,
                    unique=p.unique,
                    group=catalogue.GROUP,
                ),
            )
    store.define_default(BOOKINGS, EXAMS)
    if store.assoc_type(prerequisite_type_id) is None:
        store.register_assoc_type(
            EXAMS,
            EXAMS,
            prerequisite_type_id,
            "USER_DEFINED",
            catalogue.PREREQUISITE_LABEL,
            inverse=(prerequisite_type_id + 1, catalogue.PREREQUISITE_INVERSE),
        )


def define_schema(
    store: Store, type_id: str, body: dict[str, Any], aliases: tuple[str, ...] = ()
) -> ObjectType:
    """Register a custom object from a schema body (``POST /crm-object-schemas/v3/schemas``):
    its properties, and default associations with the objects in ``associatedObjects`` and with
    notes (activities can be associated with any custom object)."""
    name = body["name"]
    group = f"{name}_information"
    declared = dict(CUSTOM_OWN)
    for p in body.get("properties") or []:
        if isinstance(p, dict) and p.get("name"):
            declared[p["name"]] = prop_def(
                p["name"],
                p.get("type") or "string",
                label=p.get("label"),
                options=p.get("options") or (),
                unique=bool(p.get("hasUniqueValue")),
                group=p.get("groupName") or group,
            )
            if p.get("fieldType"):
                declared[p["name"]]["fieldType"] = p["fieldType"]
    labels = body.get("labels") or {}
    ot = store.register_type(
        type_id,
        name,
        [n for n, p in declared.items() if p["hasUniqueValue"]],
        aliases=aliases,
        singular=labels.get("singular", ""),
        plural=labels.get("plural", ""),
        declared=declared,
        strict=True,
    )
    ot.groups.add(group)
    ot.required = tuple(body.get("requiredProperties") or ())
    ot.primary = body.get("primaryDisplayProperty") or ""
    for other in body.get("associatedObjects") or []:
        to = store.resolve_type(str(other))
        if to is not None:
            store.define_default(type_id, to.type_id)
    store.define_default(NOTES, type_id)
    return ot
