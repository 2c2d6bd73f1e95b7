"""Which HubSpot portal a client talks to (:func:`portal_of`) and which one a webhook event
names (:func:`event_portal`); the demo's portal and id range. What the database records and the
gate that compares them are glue.sync.portal, one layer up.
"""

from __future__ import annotations

import re
from typing import Any

from glue.config import Settings
from glue.hubspot import wire
from glue.hubspot.client import HubSpotClient, HubSpotError

# How it works (the detail of the module docstring):
#
# The portal is read from the bookings object type's schema (GET /crm/v3/schemas/{objectType}),
# which the push's preflight reads anyway: its ``fullyQualifiedName`` is "an assigned unique ID for
# the object, including portal ID and object name" (HubSpot's CRM schemas v3 OpenAPI,
# glue/sandbox/openapi/crm-schemas-v3.json; the example there is ``p7878787_my_object``). When it
# cannot be read (HubSpot unreachable, an unexpected name), nothing is checked here: the push and
# pull report reachability themselves.

CURSOR = "hubspot_portal"
_QUALIFIED = re.compile(r"^p(\d+)_")
# The demo's in-process sandbox: its own portal and id range (glue/demo/data.py), far from
# `mockbook sandbox`'s and from real HubSpot's. Rows holding ids of that range are the demo's.
DEMO_PORTAL_ID = 4240000
DEMO_FIRST_ID = 9_000_000_000_000
DEMO_ID_RANGE = (DEMO_FIRST_ID + 1, DEMO_FIRST_ID + 1_000_000_000)


def portal_of(client: HubSpotClient, settings: Settings) -> int | None:
    """The portal id HubSpot (or the sandbox) at the client's base URL belongs to, or None: the
    bookings object's, else (no such object type there: another portal's types have other ids)
    that of any custom object the portal lists, so that another portal is named as such before
    its object types are found missing."""
    try:
        schema = client.schema(settings.bookings_object_type)
    except HubSpotError as exc:
        if exc.transient or exc.unauthorized:
            return None
        schema = {}
    found = _QUALIFIED.match(str(schema.get("fullyQualifiedName") or ""))
    return int(found[1]) if found else _listed_portal(client)


def _listed_portal(client: HubSpotClient) -> int | None:
    """The portal named by the first custom object the portal lists (None: none, or no
    answer)."""
    try:
        data, _ = client.call("list schemas", client.schemas_api.get_all_with_http_info,
                              shape=wire.SCHEMAS)
    except HubSpotError:
        return None
    for schema in (data or {}).get("results") or []:
        if found := _QUALIFIED.match(str(schema.get("fullyQualifiedName") or "")):
            return int(found[1])
    return None


def event_portal(event: dict[str, Any]) -> int | None:
    """The ``portalId`` a webhook event names (HubSpot sends it in every event), or None."""
    value = event.get("portalId")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
