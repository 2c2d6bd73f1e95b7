"""Which HubSpot portal a database is synced with, checked at the start of a push, a pull, an
import, the notes, and the HubSpot steps of `run` and the worker (glue.run.cycle.check_hubspot).

HubSpot ids are per portal: the same id names another record, or none, in another portal (or in
a sandbox). A database whose rows carry the ids of one portal, pulled from or pushed to another,
would overwrite its rows with strangers and update the wrong HubSpot records. So the first of
them records the portal in sync_metadata (sync type 'hubspot_portal', cursor
``{"portal_id", "base_url", "since"}``), and each later one compares: another portal stops it
with exit 2 and a message naming both.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from glue.config import ConfigError, Settings
from glue.db import demo as demo_db
from glue.db.database import Database
from glue.db.pull import PullDatabase
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
    """The portal id HubSpot (or the sandbox) at the client's base URL belongs to, or None."""
    try:
        schema = client.schema(settings.bookings_object_type)
    except HubSpotError:
        return None
    found = _QUALIFIED.match(str(schema.get("fullyQualifiedName") or ""))
    return int(found[1]) if found else None


def check_portal(db: Database, client: HubSpotClient, settings: Settings) -> int | None:
    """Record the portal on first use; raise ConfigError when it is another one. Returns it."""
    current = portal_of(client, settings)
    if current is None:
        return None
    if current != DEMO_PORTAL_ID:
        refuse_demo_rows(db, current)
    store = PullDatabase(db)
    recorded = store.get_cursor(CURSOR) or {}
    if not recorded.get("portal_id"):
        store.save_cursor(
            CURSOR,
            {
                "portal_id": current,
                "base_url": client.base_url,
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        return current
    if int(recorded["portal_id"]) != current:
        raise ConfigError(
            f"this database is synced with HubSpot portal {recorded['portal_id']} (since "
            f"{recorded.get('since', '?')}, at {recorded.get('base_url', '?')}), but "
            f"HUBSPOT_BASE_URL {client.base_url} answers for portal {current}. HubSpot ids of "
            "one portal name other records in another: nothing was pulled or pushed. Point "
            "HUBSPOT_BASE_URL / HUBSPOT_ACCESS_TOKEN at the recorded portal, or use another "
            "database; if the account really moved, forget the recorded portal with "
            f"SELECT mockbook_internal.save_sync_cursor('{CURSOR}', '{{}}') and pull again."
        )
    return current


def refuse_demo_rows(db: Database, portal: int) -> None:
    """ConfigError when the database holds the demo's rows (`make demo` on the database a
    portal is now configured for): its bookings, students and audit trail would be sent to that
    portal. `mockbook demo --clean` removes them."""
    with db.pool.connection() as conn:
        found = demo_db.rows_in_id_range(conn, *DEMO_ID_RANGE)
    if found:
        named = ", ".join(f"{kind} {hid}" for kind, hid, _ in found[:3])
        raise ConfigError(
            f"this database holds the demo's rows ({named}{' and more' if len(found) > 3 else ''})"
            f": nothing is sent to HubSpot portal {portal} while they are here. Run "
            "`mockbook demo --clean` to remove them, then this command again."
        )
