"""Which HubSpot portal a database is synced with: the one portal gate, checked by every command
that reads or writes HubSpot, the HubSpot steps of `run` and of each worker lane
(glue.run.cycle.check_hubspot), and the webhook intake at start and on each event
(:class:`PortalGate`: an event of another portal is refused, never applied).

HubSpot ids are per portal: the same id names another record, or none, in another portal. The
first sync records the portal in sync_metadata (sync type 'hubspot_portal', cursor
``{"portal_id", "base_url", "since"}``); each later check compares: another portal stops the
command with exit 2 and a message naming both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from glue.config import ConfigError, Settings
from glue.db import demo as demo_db
from glue.db.database import Database
from glue.db.pull import PullDatabase
from glue.hubspot.client import HubSpotClient, HubSpotError
from glue.hubspot.portal import CURSOR, DEMO_ID_RANGE, DEMO_PORTAL_ID, event_portal, portal_of
from glue.logs import fields

log = logging.getLogger("glue.sync.portal")


def recorded_portal(db: Database) -> int | None:
    """The portal this database is synced with, or None before its first sync."""
    recorded = PullDatabase(db).get_cursor(CURSOR) or {}
    return int(recorded["portal_id"]) if recorded.get("portal_id") else None


def check_portal(
    db: Database, client: HubSpotClient, settings: Settings, *, record: bool = True
) -> int | None:
    """Record the portal on first use (unless ``record`` is false: `hubspot setup` only
    compares); raise ConfigError when it is another one. Returns it."""
    current = portal_of(client, settings)
    if current is None:
        return None
    if current != DEMO_PORTAL_ID:
        refuse_demo_rows(db, current)
    store = PullDatabase(db)
    recorded = store.get_cursor(CURSOR) or {}
    if not recorded.get("portal_id"):
        if not record:
            return current
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


class PortalGate:
    """The portal gate of the webhook intake and its processor: ``check()`` at start (the same
    check as every command: :func:`check_portal`, ConfigError on another portal), then
    ``admit(events)`` on each delivery and again before each apply. An event whose ``portalId``
    is not the recorded portal is refused (never stored, never applied): a public app's one
    client secret signs the deliveries of every portal it is installed in. The first refusal of
    each portal is logged with its count, and the totals again at ``close()``.

    Before the portal is known (HubSpot did not answer at start and nothing is recorded yet) the
    intake stores the events and the processor applies none until ``check()`` succeeds."""

    def __init__(self, db: Database, client: HubSpotClient, settings: Settings) -> None:
        self.db = db
        self.client = client
        self.settings = settings
        self.portal: int | None = None
        self.refused: dict[int | None, int] = {}
        self._lock = threading.Lock()

    def check(self) -> int | None:
        """The portal, checked against HubSpot (recorded on first use) or, while HubSpot does
        not answer, the one recorded; ConfigError when HubSpot answers for another portal."""
        current = check_portal(self.db, self.client, self.settings)
        if current is None:
            current = recorded_portal(self.db)
        if current is not None:
            self.portal = current
        return self.portal

    def admit(self, events: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """(the events of the recorded portal, the number refused). While the portal is not
        known every event passes here: the processor holds them (:meth:`known`)."""
        events = list(events)
        if self.portal is None:
            return events, 0
        kept = [e for e in events if event_portal(e) == self.portal]
        foreign = [e for e in events if event_portal(e) != self.portal]
        for event in foreign:
            self._count(event_portal(event))
        return kept, len(foreign)

    def known(self) -> int | None:
        """The portal, checking once more when it is not known yet (HubSpot away at start)."""
        if self.portal is None:
            try:
                self.check()
            except (HubSpotError, ConfigError) as exc:
                log.error("webhook events are not applied: %s", exc)
                return None
        return self.portal

    def _count(self, portal: int | None) -> None:
        with self._lock:
            seen = self.refused.get(portal, 0)
            self.refused[portal] = seen + 1
        if seen == 0:
            log.warning(
                "webhook events of HubSpot portal %s refused: this database is synced with "
                "portal %s (none is stored or applied; the count is logged at stop)",
                portal if portal is not None else "(none)",
                self.portal,
                extra=fields(event="webhook_portal_refused", portal=portal, recorded=self.portal),
            )

    def close(self) -> None:
        for portal, count in sorted(self.refused.items(), key=lambda kv: str(kv[0])):
            log.warning(
                "%d webhook event(s) of HubSpot portal %s refused (this database is synced with "
                "portal %s)",
                count,
                portal if portal is not None else "(none)",
                self.portal,
                extra=fields(
                    event="webhook_portal_refused",
                    portal=portal,
                    count=count,
                    recorded=self.portal,
                ),
            )
