"""HubSpot's rules on values and definitions that the sandbox enforces beyond types: numbers as
HubSpot's API takes them, contact email addresses, the length of a value, the names of properties
and custom objects, and which ``fieldType`` goes with which property ``type``.

Each check returns ``(error code, message)`` for a value it refuses (glue/sandbox/schema.py turns
it into HubSpot's "Property values were not valid" answer) or raises the definition's 400.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import VALIDATION_ERROR, ApiError

# How it works (the detail of the module docstring), each rule with its source:
#
# - Numbers: "only numeric digits, an optional single negative sign ("-"), and an optional single
#   decimal point ... Attempts to save values on numeric properties with commas, spaces or multiple
#   period/dot symbols via the API will be rejected with an HTTP 400 response code"
#   (https://developers.hubspot.com/changelog/upcoming-api-number-value-changes). So ``NaN``,
#   ``Infinity``, ``1_000``, ``1e5`` and ``" 12"`` are refused although Python's float() reads
#   them. Leading or trailing whitespace gets HubSpot's LEADING_TRAILING_WHITESPACE error, with
#   the message of HubSpot's example
#   (https://developers.hubspot.com/changelog/breaking-change-enhanced-validations-for-non-string-properties-in-hubspots-crmobject-apis;
#   that changelog's wider rule, whitespace around any non-string value, was cancelled: other
#   types keep their own checks, which refuse a padded value anyway); anything else INVALID_DOUBLE.
# - A contact's ``email`` must be an address: INVALID_EMAIL, "Email address ... is invalid"; no
#   quotes in the local part, a domain ending in a top-level domain (HubSpot checks it against
#   IANA's list; here: letters only, two or more).
#   https://community.hubspot.com/t5/APIs-Integrations/contacts-integration-invalid-e-mails/td-p/833439
# - A value holds at most 65,536 characters ("When the value is added through the CRM, the
#   character limit is 65,536 characters",
#   https://knowledge.hubspot.com/properties/property-field-types-in-hubspot). HubSpot does not
#   document the error's code; the sandbox answers MAX_LENGTH_EXCEEDED in the same body.
# - Property ``type`` and ``fieldType`` must go together (enforced since February 2021 on the v3
#   properties and custom objects APIs,
#   https://developers.hubspot.com/changelog/crm-object-property-validattion; the table of valid
#   pairs: https://developers.hubspot.com/docs/api/crm/properties, "Property type and fieldType
#   values"). A property's internal name starts with a lower-case letter and holds lower-case
#   letters, digits and underscores
#   (https://developers.hubspot.com/docs/methods/contacts/create_property); a custom object's
#   name "can only contain letters, numbers, and underscores, and the first character must be a
#   letter" (https://developers.hubspot.com/docs/api-reference/latest/crm/objects/schemas/guide).

MAX_VALUE_LENGTH = 65_536
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")
_EMAIL = re.compile(r'^[^\s@"]+@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$')
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SCHEMA_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
FIELD_TYPES_OF = {
    "string": ("text", "textarea", "file", "html", "phonenumber", "calculation_equation"),
    "number": ("number", "calculation_equation"),
    "bool": ("booleancheckbox", "calculation_equation"),
    "enumeration": ("booleancheckbox", "checkbox", "radio", "select", "calculation_equation"),
    "date": ("date",),
    "datetime": ("date",),
    "phone_number": ("phonenumber",),
}

Problem = tuple[str, str]  # (HubSpot's error code, message)


def number_problem(value: str) -> Problem | None:
    if value != value.strip():
        return "LEADING_TRAILING_WHITESPACE", f'"{value}" includes leading or trailing whitespace.'
    if not _NUMBER.match(value):
        return "INVALID_DOUBLE", f'"{value}" is not a valid number'
    return None


def email_problem(value: str) -> Problem | None:
    if _EMAIL.match(value):
        return None
    return "INVALID_EMAIL", f"Email address {value} is invalid"


def length_problem(value: str) -> Problem | None:
    if len(value) <= MAX_VALUE_LENGTH:
        return None
    return (
        "MAX_LENGTH_EXCEEDED",
        f"Value of {len(value)} characters is longer than the maximum of {MAX_VALUE_LENGTH}",
    )


def check_property_definition(body: dict[str, Any], *, fields: tuple[str, ...]) -> None:
    """400 VALIDATION_ERROR for a property definition (properties API body, or one of a schema's
    ``properties``) whose name, type or fieldType HubSpot refuses; ``fields`` are the keys the
    body must carry (a partial update checks only what it holds)."""
    missing = [k for k in fields if not body.get(k)]
    if missing:
        raise ApiError(
            400,
            f"Property definition is missing {', '.join(missing)}",
            context={"properties": missing},
        )
    name = body.get("name")
    if name is not None and not (isinstance(name, str) and PROPERTY_NAME.match(name)):
        raise ApiError(
            400,
            f"Property name {name!r} is invalid: it must start with a lower-case letter and hold "
            f"only lower-case letters, digits and underscores",
            VALIDATION_ERROR,
            {"name": [str(name)]},
        )
    kind, field_type = body.get("type"), body.get("fieldType")
    if kind is not None and kind not in FIELD_TYPES_OF:
        raise ApiError(400, f"Invalid property type {kind!r}", context={"type": [str(kind)]})
    if kind is not None and field_type is not None and field_type not in FIELD_TYPES_OF[kind]:
        raise ApiError(
            400,
            f"fieldType {field_type!r} is not valid for a property of type {kind!r} "
            f"(valid: {', '.join(FIELD_TYPES_OF[kind])})",
            VALIDATION_ERROR,
            {"type": [str(kind)], "fieldType": [str(field_type)]},
        )


def check_schema_name(name: Any) -> None:
    """400 VALIDATION_ERROR for a custom object name HubSpot refuses."""
    if not isinstance(name, str) or not name:
        raise ApiError(400, "Object schema needs a 'name'")
    if not SCHEMA_NAME.match(name):
        raise ApiError(
            400,
            f"Object schema name {name!r} is invalid: it can only contain letters, numbers and "
            f"underscores, and the first character must be a letter",
            VALIDATION_ERROR,
            {"name": [name]},
        )
