"""The webhook processor: stored HubSpot webhook events -> Postgres and Redis, through
the pull's functions. The intake (glue.sync.webhooks) stores the events; this module applies them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from glue.cache import CacheKeeper, Change
from glue.config import Settings
from glue.db.database import Database
from glue.hubspot.client import CONTACTS, MAX_BATCH, HubSpotError
from glue.hubspot.portal import event_portal
from glue.hubspot.reads import HubSpotReader
from glue.logs import fields
from glue.sync.portal import PortalGate
from glue.sync.pull import Puller, Target, TargetStats, targets

# How it works (the detail of the module docstring):
#
# ``WebhookProcessor`` claims stored events (leased, so a killed
# processor's events come back), and applies them the way the pull does: the objects the events
# name are **read again from HubSpot by id** (one batch read per 100) and handed to the pull's
# ``Puller.apply`` (``apply_pulled_exams`` / ``apply_pulled_contacts``: same merge rules, origin
# ``hubspot``, so nothing is echoed to the outbox). Reading the current state makes the order
# and the number of deliveries irrelevant: a late ``propertyChange`` that says capacity 10 after
# one that said 12 still applies what HubSpot holds now. Exams HubSpot no longer returns
# (deleted: read again archived, for their ``archivedAt``; or merged away) are deactivated like
# archived ones; a contact deleted in HubSpot is
# left in Postgres (its bookings and credit ledger stay; ``mockbook reconcile`` reports it).
# Events of other object types (bookings: Postgres owns them) are marked processed and ignored,
# except a booking's deletion: an admin deleted (archived) a booking mockbook has, so the booking
# is queued for the push (``requeue_records``), which re-creates it and takes its new id
# without waiting for a ``reconcile --repair``.
# Then the Redis keys of the exams and contacts touched are brought up to date. A HubSpot
# failure leaves the events pending (due again after a backoff, given up after 10 attempts: the
# pull reads every changed record anyway), and so does an object still busy after the apply's
# retries (a booking or a push holding the contact): its events come due again within seconds
# rather than waiting for the next pull.

log = logging.getLogger("glue.sync.webhooks")

WEBHOOK_ACTOR = "hubspot:webhook"
CLAIM_LIMIT = 500
LEASE_SECONDS = 60
MAX_ATTEMPTS = 10
BUSY_ERROR = "BUSY: the record was in use (a booking, a push); tried again after a backoff"
PORTAL_UNKNOWN = "PORTAL: the HubSpot portal is not known yet (HubSpot did not answer)"


# ---- the processor ------------------------------------------------------------------------------
@dataclass
class ProcessStats:
    """What one :meth:`WebhookProcessor.process_once` did."""

    events: int = 0
    exams_read: int = 0
    contacts_read: int = 0
    ignored: int = 0
    requeued: int = 0
    failed: int = 0
    error: str | None = None
    exams: TargetStats = field(default_factory=TargetStats)
    contacts: TargetStats = field(default_factory=TargetStats)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "exams_read": self.exams_read,
            "contacts_read": self.contacts_read,
            "ignored": self.ignored,
            "requeued": self.requeued,
            "failed": self.failed,
            "error": self.error,
            "exams": self.exams.as_dict(),
            "contacts": self.contacts.as_dict(),
        }


def _ids_of(event: dict[str, Any]) -> list[str]:
    """The objects an event is about: its objectId, and a merge's primary and merged ids."""
    payload = event["payload"]
    ids = [str(event["object_id"])]
    for key in ("primaryObjectId", "newObjectId"):
        if payload.get(key) not in (None, ""):
            ids.append(str(payload[key]))
    ids.extend(str(i) for i in payload.get("mergedObjectIds") or [])
    return ids


def _cache_changes(
    name: str, batch: list[dict[str, Any]], ids: list[str], gone: list[str]
) -> list[Change]:
    """The cache changes a webhook batch makes: each exam's keys; a contact's booking list
    key only when the contact appears or disappears."""
    if name == "exams":
        return [Change(0, "hubspot_mock_exams", "UPDATE", None, {"hubspot_id": i}) for i in ids]
    lifecycle = {
        str(e["object_id"])
        for e in batch
        if not str(e["subscription_type"]).endswith(".propertyChange")
    }
    return [
        Change(0, "hubspot_contact_credits", "DELETE", {"hubspot_id": i}, None)
        for i in ids
        if i in lifecycle or i in gone
    ]


class WebhookProcessor:
    """Applies stored webhook events (see the module docstring). ``process_once()`` does one
    batch; ``run(stop)`` loops, woken by ``wake()`` (the intake calls it after each delivery) or
    every ``poll_seconds`` (events left by a crash, events due again after a failure)."""

    def __init__(
        self,
        db: Database,
        reader: HubSpotReader,
        settings: Settings,
        *,
        keeper: CacheKeeper | None = None,
        cache_conn: Callable[[], psycopg.Connection] | None = None,
        poll_seconds: float = 5.0,
        lease_seconds: int = LEASE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        gate: PortalGate | None = None,
    ) -> None:
        self.db = db
        self.gate = gate
        self.reader = reader
        self.settings = settings
        self.keeper = keeper
        self._cache_conn_factory = cache_conn
        self._cache_conn: psycopg.Connection | None = None
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        # One read attempt: a failed batch is tried again by its events' own backoff.
        self.puller = Puller(db, reader, actor=WEBHOOK_ACTOR, sleep=sleep, fetch_attempts=1)
        self.targets = targets(settings)
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    # ---- the database calls ---------------------------------------------------------------
    def _claim(self) -> list[dict[str, Any]]:
        return self.db.claim_webhook_events(CLAIM_LIMIT, self.lease_seconds)

    def _finish(self, ids: Sequence[int], error: str | None = None) -> None:
        if not ids:
            return
        self.db.finish_webhook_events(ids, error, MAX_ATTEMPTS)

    # ---- one batch ------------------------------------------------------------------------
    def process_once(self) -> ProcessStats:
        stats = ProcessStats()
        events = self._claim()
        stats.events = len(events)
        if not events:
            return stats
        if self.gate is not None:
            events = self._screen_portal(events, stats)
            if not events:
                return stats
        exams_type = self.settings.exams_object_type
        by_type: dict[str, list[dict[str, Any]]] = {exams_type: [], CONTACTS: []}
        ignored = []
        for event in events:
            if event["object_type_id"] in by_type:
                by_type[event["object_type_id"]].append(event)
            else:
                ignored.append(event["id"])
        stats.ignored += len(ignored)
        stats.requeued = self._recreate_deleted_bookings(events)
        self._finish(ignored)
        changes: list[Change] = []
        for type_id, name in ((exams_type, "exams"), (CONTACTS, "contacts")):
            batch = by_type[type_id]
            if not batch:
                continue
            try:
                applied, busy = self._apply(name, batch, stats)
                changes += applied
            except HubSpotError as exc:
                stats.failed += len(batch)
                stats.error = f"{name}: {exc}"
                log.warning(
                    "webhook events of %s not applied (%s): tried again later",
                    name,
                    exc,
                    extra=fields(event="webhook_failed", target=name, error=str(exc)),
                )
                self._finish([e["id"] for e in batch], str(exc))
                continue
            # An object still busy (a booking or a push holding the contact, an exam's seat
            # taken right now) was not applied: its events stay pending and come due again
            # after their backoff (2, 4, 8 s ...), instead of waiting for the next pull.
            held = [e["id"] for e in batch if set(_ids_of(e)) & busy]
            stats.failed += len(held)
            self._finish(held, BUSY_ERROR)
            self._finish([e["id"] for e in batch if e["id"] not in held])
        if changes:
            self._refresh_cache(changes)
        return stats

    def _screen_portal(
        self, events: list[dict[str, Any]], stats: ProcessStats
    ) -> list[dict[str, Any]]:
        """The events of the database's portal: none is applied before the portal is known,
        and one of another portal (stored before the intake checked it) is given up."""
        assert self.gate is not None
        portal = self.gate.known()
        if portal is None:
            stats.failed += len(events)
            self._finish([e["id"] for e in events], PORTAL_UNKNOWN)
            return []
        kept, refused = self.gate.admit(e["payload"] for e in events)
        kept_ids = {id(p) for p in kept}
        foreign = [e for e in events if id(e["payload"]) not in kept_ids]
        if foreign:
            stats.ignored += refused
            self.db.finish_webhook_events(
                [e["id"] for e in foreign],
                f"PORTAL: an event of HubSpot portal {event_portal(foreign[0]['payload'])}; "
                f"this database is synced with portal {portal}: never applied",
                1,
            )
        return [e for e in events if id(e["payload"]) in kept_ids]

    def _recreate_deleted_bookings(self, events: list[dict[str, Any]]) -> int:
        """Queue for the push the local bookings whose HubSpot record was deleted: the push's
        upsert by booking code re-creates it and writes the new id back. A deletion of a booking
        mockbook itself archived (deleted here) finds no row and does nothing."""
        gone = [
            str(e["object_id"])
            for e in events
            if e["object_type_id"] == self.settings.bookings_object_type
            and str(e["subscription_type"]).endswith(".deletion")
        ]
        if not gone:
            return 0
        ids = self.db.booking_ids_by_hubspot_id(gone)
        return self.puller.store.requeue_records("hubspot_bookings", ids)

    def _apply(
        self, name: str, batch: list[dict[str, Any]], stats: ProcessStats
    ) -> tuple[list[Change], set[str]]:
        """Read the batch's objects again and apply them; (the cache changes, the ids of the
        objects still busy after the apply's retries)."""
        target = self.targets[name]
        ids = list(dict.fromkeys(i for event in batch for i in _ids_of(event)))
        records = self._read(target, ids)
        found = {r["id"] for r in records}
        gone = [i for i in ids if i not in found]
        if name == "exams":
            stats.exams_read += len(records)
            # An exam HubSpot no longer returns was deleted (archived: read again for its
            # archivedAt) or merged away.
            records += self.puller.gone_exams(target, gone)
            target_stats = stats.exams
        else:
            stats.contacts_read += len(records)
            target_stats = stats.contacts
        busy: set[str] = set()
        if records:
            busy = set(self.puller.apply(target, records, target_stats))
        return _cache_changes(name, batch, ids, gone), busy

    def _read(self, target: Target, ids: list[str]) -> list[dict[str, Any]]:
        """HubSpot's records of ``ids`` (a batch read per MAX_BATCH ids, retried as the
        pull's)."""
        records = []
        for start in range(0, len(ids), MAX_BATCH):
            chunk = ids[start : start + MAX_BATCH]
            records += self.puller._fetch(
                lambda c=chunk: self.reader.read(
                    target.object_type, c, properties=target.properties
                )
            )
        return records

    def _refresh_cache(self, changes: list[Change]) -> None:
        if self.keeper is None or self._cache_conn_factory is None:
            return
        try:
            if self._cache_conn is None or self._cache_conn.closed:
                self._cache_conn = self._cache_conn_factory()
            self.keeper.apply_changes(self._cache_conn, changes)
        except psycopg.Error as exc:
            log.warning("webhooks: the Redis keys were not updated (%s)", exc)
            with contextlib.suppress(Exception):
                if self._cache_conn is not None:
                    self._cache_conn.close()
            self._cache_conn = None

    # ---- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set; database and HubSpot failures are logged and retried."""
        delay = 0.0
        while not stop.is_set():
            self._wake.wait(timeout=delay if delay else self.poll_seconds)
            self._wake.clear()
            if stop.is_set():
                break
            try:
                while not stop.is_set():
                    stats = self.process_once()
                    if stats.events:
                        log.info(
                            "webhooks: %d event(s) applied (%d exam(s), %d contact(s) read)",
                            stats.events - stats.failed,
                            stats.exams_read,
                            stats.contacts_read,
                            extra=fields(
                                event="webhooks",
                                **{
                                    k: v
                                    for k, v in stats.as_dict().items()
                                    if not isinstance(v, dict)
                                },
                            ),
                        )
                    if stats.events < CLAIM_LIMIT:
                        break
                delay = 0.0
            except psycopg.Error as exc:
                delay = min(max(delay * 2, 1.0), 30.0)
                log.warning("webhooks: database unavailable (%s); again in %.0f s", exc, delay)

    def close(self) -> None:
        if self._cache_conn is not None:
            with contextlib.suppress(Exception):
                self._cache_conn.close()
            self._cache_conn = None
