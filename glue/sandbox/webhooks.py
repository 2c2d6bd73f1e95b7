"""The sandbox sends webhooks the way HubSpot does, so the intake is tested end to end.

    sender = attach(sandbox, "http://127.0.0.1:8080/webhooks/hubspot", "client-secret")
    ...
    sender.stop()
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import urllib3

from glue.sync.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_v3

from .store import CONTACTS, NOTES, ObjectType, Record

# How it works (the detail of the module docstring):
#
# After each change of a record in the sandbox's store (an API write, ``seed``, ``touch``), the
# subscribed events are queued: ``contact.creation`` / ``contact.deletion`` /
# ``contact.propertyChange`` (one event per changed property) / ``contact.merge`` for contacts,
# the generic ``object.*`` types with ``objectTypeId`` for the custom objects
# (https://developers.hubspot.com/docs/api/webhooks). Each event carries HubSpot's fields
# (``eventId``, ``subscriptionId``, ``portalId``, ``appId``, ``occurredAt``, ``subscriptionType``,
# ``attemptNumber``, ``objectId``, ``changeSource``, ``propertyName`` / ``propertyValue``,
# ``mergedObjectIds`` ...). Events are sent in batches of at most 100 per request (gathered for
# ``batch_window`` seconds), signed with ``X-HubSpot-Signature-v3`` and
# ``X-HubSpot-Request-Timestamp`` (glue.sync.webhooks.sign_v3, HubSpot's v3 scheme), with a 5 s
# timeout; a delivery not answered, or answered with a 5xx or a 429, is sent again after
# ``retry_delays`` (HubSpot retries up to 10 times, spread over 24 hours; the sandbox's delays are
# seconds so that tests can watch it), re-signed with a new timestamp and ``attemptNumber`` + 1.
# A 400, 401, 403, 404 or 405 is not retried: HubSpot drops that delivery (docs/operations.md,
# "What HubSpot retries", with its sources); it counts in ``rejected``.
#
# Faults for tests: ``drop_next(n)`` loses the next n deliveries (never sent, never retried: what
# polling must catch); ``pause()`` / ``resume()`` hold deliveries back.
# Counters: ``delivered`` (events), ``requests`` (HTTP attempts), ``failures``, ``dropped``,
# ``given_up``, ``rejected``; ``log`` the answered attempts (status, event count, attempt number).

if TYPE_CHECKING:
    from .sandbox import Sandbox

log = logging.getLogger("glue.sandbox.webhooks")

MAX_EVENTS = 100
KINDS = ("creation", "deletion", "propertyChange", "merge")
# Properties every write changes: HubSpot offers no subscription for them.
_NOISE = {"hs_lastmodifieddate", "lastmodifieddate", "hs_object_id", "createdate", "hs_createdate"}
NOT_RETRIED = frozenset({400, 401, 403, 404, 405})
DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 60.0)  # 10 attempts in all


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    events: list[dict[str, Any]] = field(compare=False)
    attempt: int = field(default=0, compare=False)


class WebhookSender:
    """Queues the store's changes as HubSpot events and delivers them (see the module doc)."""

    def __init__(
        self,
        target_url: str,
        secret: str,
        *,
        portal_id: int = 4242424,
        app_id: int = 77777,
        object_types: Iterable[str] | None = None,
        batch_window: float = 0.05,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout: float = 5.0,
    ) -> None:
        self.target_url = target_url
        self.secret = secret
        self.portal_id = portal_id
        self.app_id = app_id
        # None: every type but notes (which HubSpot's webhooks do not cover).
        self.object_types = None if object_types is None else set(object_types)
        self.batch_window = batch_window
        self.retry_delays = retry_delays
        self.timeout = timeout
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=timeout), retries=False, maxsize=2
        )
        self._lock = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._first_pending_at = 0.0
        self._retries: list[_Delivery] = []
        self._seq = itertools.count(1)
        self._event_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)
        self._drop = 0
        self._paused = False
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.detach: Callable[[], None] | None = None  # set by attach()
        self.delivered = 0
        self.requests = 0
        self.failures = 0
        self.dropped = 0
        self.given_up = 0
        self.rejected = 0  # deliveries answered 400/401/403/404/405: dropped, as HubSpot does
        self.log: list[dict[str, Any]] = []

    # ---- events ---------------------------------------------------------------------------------
    def subscribed(self, type_id: str) -> bool:
        if type_id == NOTES:
            return False
        return self.object_types is None or type_id in self.object_types

    def _subscription_id(self, subscription_type: str, prop: str | None) -> int:
        return zlib.crc32(f"{subscription_type}:{prop or ''}".encode()) % 10**7

    def events_for(
        self, kind: str, ot: ObjectType, rec: Record, props: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """HubSpot's events for one change of a record."""
        prefix = "contact" if ot.type_id == CONTACTS else "object"
        subscription_type = f"{prefix}.{kind}"
        base: dict[str, Any] = {
            "portalId": self.portal_id,
            "appId": self.app_id,
            "occurredAt": rec.archived_ms
            if kind == "deletion" and rec.archived_ms
            else rec.updated_ms,
            "subscriptionType": subscription_type,
            "attemptNumber": 0,
            "objectId": int(rec.id) if rec.id.isdigit() else rec.id,
            "changeSource": "CRM_UI",
        }
        if prefix == "object":
            base["objectTypeId"] = ot.type_id
        if kind == "propertyChange":
            changes = [(k, v) for k, v in props.items() if k not in _NOISE]
        elif kind == "merge":  # ``rec``: the record the merge made (newObjectId)
            primary = str(props.get("primaryObjectId") or rec.id)
            base["primaryObjectId"] = int(primary) if primary.isdigit() else primary
            base["mergedObjectIds"] = [
                int(i) if str(i).isdigit() else i for i in props.get("mergedObjectIds") or []
            ]
            base["newObjectId"] = base["objectId"]
            changes = [(None, None)]
        else:
            changes = [(None, None)]
        out = []
        for prop, value in changes:
            event = dict(base)
            event["eventId"] = next(self._event_ids)
            event["subscriptionId"] = self._subscription_id(subscription_type, prop)
            if prop is not None:
                event["propertyName"] = prop
                event["propertyValue"] = "" if value is None else str(value)
            out.append(event)
        return out

    def on_change(self, kind: str, ot: ObjectType, rec: Record, props: dict[str, Any]) -> None:
        """The store's listener: queue the change's events (never blocks on the network)."""
        if kind not in KINDS or not self.subscribed(ot.type_id):
            return
        events = self.events_for(kind, ot, rec, props)
        if not events:
            return
        with self._lock:
            if not self._pending:
                self._first_pending_at = time.monotonic()
            self._pending.extend(events)
            self._lock.notify_all()

    # ---- faults ---------------------------------------------------------------------------------
    def drop_next(self, n: int = 1) -> None:
        """Lose the next ``n`` deliveries (never sent, never retried)."""
        with self._lock:
            self._drop += n

    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._lock.notify_all()

    def idle(self) -> bool:
        """Nothing queued, waiting for a retry, or being sent."""
        with self._lock:
            return not (self._pending or self._retries or self._busy)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return self.idle()

    # ---- delivery -------------------------------------------------------------------------------
    def start(self) -> WebhookSender:
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.detach is not None:
            with contextlib.suppress(ValueError):
                self.detach()
            self.detach = None
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)
        self._http.clear()

    def _next(self) -> _Delivery | None:
        """The next delivery due (waiting for one), None when stopping."""
        with self._lock:
            while not self._stopping:
                now = time.monotonic()
                waits = []
                if not self._paused:
                    if self._pending:
                        ready_at = self._first_pending_at + self.batch_window
                        if len(self._pending) >= MAX_EVENTS or now >= ready_at:
                            events = self._pending[:MAX_EVENTS]
                            del self._pending[:MAX_EVENTS]
                            self._first_pending_at = now
                            self._busy = True
                            return _Delivery(now, next(self._seq), events)
                        waits.append(ready_at - now)
                    if self._retries:
                        if self._retries[0].due <= now:
                            self._busy = True
                            return heapq.heappop(self._retries)
                        waits.append(self._retries[0].due - now)
                self._lock.wait(timeout=min(waits) if waits else None)
            return None

    def _run(self) -> None:
        while True:
            delivery = self._next()
            if delivery is None:
                return
            try:
                self._deliver(delivery)
            except Exception:  # never let the sender die silently
                log.exception("sandbox webhooks: unexpected error")
            finally:
                with self._lock:
                    self._busy = False

    def _deliver(self, delivery: _Delivery) -> None:
        with self._lock:
            if self._drop > 0 and delivery.attempt == 0:
                self._drop -= 1
                self.dropped += 1
                return
        events = [dict(e, attemptNumber=delivery.attempt) for e in delivery.events]
        body = json.dumps(events, separators=(",", ":")).encode()
        timestamp = str(int(time.time() * 1000))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_v3(self.secret, "POST", self.target_url, body, timestamp),
            TIMESTAMP_HEADER: timestamp,
        }
        status: int | None
        try:
            answer = self._http.request("POST", self.target_url, body=body, headers=headers)
            status = answer.status
        except urllib3.exceptions.HTTPError as exc:
            status = None
            log.debug("sandbox webhooks: delivery failed: %s", exc)
        with self._lock:
            self.requests += 1
            self.log.append({"status": status, "events": len(events), "attempt": delivery.attempt})
            if status is not None and 200 <= status < 300:
                self.delivered += len(events)
                return
            self.failures += 1
            if status in NOT_RETRIED:  # HubSpot drops it: only the next pull brings the change
                self.rejected += 1
                return
            if delivery.attempt >= len(self.retry_delays):
                self.given_up += 1
                return
            delivery.due = time.monotonic() + self.retry_delays[delivery.attempt]
            delivery.attempt += 1
            heapq.heappush(self._retries, delivery)
            self._lock.notify_all()

    # ---- merges ---------------------------------------------------------------------------------
    def merged(self, ot: ObjectType, primary: Record, merged_ids: Iterable[str]) -> None:
        """Queue a merge event (``primary`` absorbed ``merged_ids`` and kept its id, as a merge
        of other object types may): the sandbox's merge endpoint makes a new record and calls
        ``store.emit("merge", ot, new, {"primaryObjectId": ..., "mergedObjectIds": [...]})``."""
        self.on_change("merge", ot, primary, {"mergedObjectIds": list(merged_ids)})


def attach(sandbox: Sandbox, target_url: str, secret: str, **options: Any) -> WebhookSender:
    """Start sending ``sandbox``'s changes to ``target_url``; ``sender.stop()`` detaches."""
    sender = WebhookSender(target_url, secret, portal_id=sandbox.store.portal_id, **options)
    listeners = sandbox.store.listeners
    sender.detach = lambda: listeners.remove(sender.on_change)
    sender.start()
    listeners.append(sender.on_change)
    return sender
