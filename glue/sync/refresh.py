"""On-demand refresh: the records apps asked to be read from HubSpot now
(hubspot_sync.request_refresh) are read by id and applied through the pull's functions, and each
request's outcome is written back, which the database broadcasts to live pages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from glue.config import Settings
from glue.db.database import Database
from glue.hubspot.client import HubSpotError
from glue.hubspot.ratelimit import Stopped
from glue.hubspot.reads import HubSpotReader
from glue.logs import fields
from glue.sync.pull import Puller, Target, TargetStats, targets

# How it works (the detail of the module docstring):
#
# ``RefreshProcessor.run`` looks at the requests' high-water mark (the id sequence's last value:
# one read, no lock, through a transaction-mode pooler too, where LISTEN does not work) every
# POLL_SECONDS, and claims the waiting requests (leased, so a killed worker's come back) when it
# moved, and every CLAIM_EVERY_SECONDS anyway (a lease that ran out). The requests of one kind
# are read with one batch read by HubSpot id and applied as the webhook processor applies its
# events (glue.sync.webhook_apply): ``Puller.apply``, the pull's own path, so the same value
# screen, credit merge and conflict rules decide; an exam HubSpot no longer returns is read again
# archived and closed as the pull closes it, a booking deleted in HubSpot is queued for the push
# (which sends it again), a contact deleted there is kept. The outcome of each request:
#
#   applied              read and applied (changed or not)
#   gone                 HubSpot no longer has the record (what follows depends on its kind)
#   rejected             the value screen refused HubSpot's record (the detail says why): a
#                        pull dead letter, as for the pull
#   busy                 the record stayed locked (a booking, a push) through the pull's
#                        retries: the next pull reads it again
#   hubspot_unavailable  HubSpot did not answer (a 5xx, a timeout, no connection) after the
#                        client's retries: ask again later
#   rate_limited         HubSpot still answered 429 after the client's waits
#   failed               HubSpot refused the call (a 4xx: the token, the portal's setup), or the
#                        worker stopped three times while reading it
#   not_in_hubspot       (written by request_refresh) the record has no HubSpot id yet
#
# The HubSpot calls are made with the refresh lane's share of the rate budget (glue.run.worker),
# so requests never take more than that share from the push and the pull.

log = logging.getLogger(__name__)

REFRESH_ACTOR = "hubspot:refresh"
POLL_SECONDS = 0.2
CLAIM_EVERY_SECONDS = 5.0
CLAIM_LIMIT = 100
LEASE_SECONDS = 60
KINDS = (("exam", "exams"), ("student", "contacts"), ("booking", "bookings"))
GONE = {
    "exams": "HubSpot no longer has it (archived or merged): closed here as the pull closes it",
    "contacts": "HubSpot no longer has it: kept here (mockbook reconcile reports it)",
    "bookings": "HubSpot no longer has it: queued for the push, which sends it again",
}


@dataclass
class RefreshStats:
    """What one :meth:`RefreshProcessor.process_once` did."""

    requests: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    changed: bool = False

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def outcome_of(hubspot_id: str, target: Target, gone: set[str], busy: set[str],
               refused: dict[str, str], done: str | None) -> dict[str, Any]:
    """A request's outcome once its kind's records were read and applied."""
    if hubspot_id in busy:
        return {"outcome": "busy", "detail": refused.get(hubspot_id)}
    if hubspot_id in gone:
        return {"outcome": "gone", "detail": GONE[target.name]}
    if hubspot_id in refused:
        return {"outcome": "rejected", "detail": refused[hubspot_id]}
    return {"outcome": "applied", "detail": done}


def failure(exc: HubSpotError) -> str:
    if exc.rate_limited:
        return "rate_limited"
    return "hubspot_unavailable" if exc.transient else "failed"


class RefreshProcessor:
    """Applies the waiting refresh requests (see the module docstring): ``process_once()`` one
    claim; ``run(stop)`` loops until ``stop``. ``on_changed`` is called after records were
    applied (the worker rebuilds the Redis keys: pulled changes are not in the outbox)."""

    def __init__(
        self,
        db: Database,
        reader: HubSpotReader,
        settings: Settings,
        *,
        worker: str,
        on_changed: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.reader = reader
        self.worker = worker
        self.on_changed = on_changed
        self.clock = clock
        # one read attempt (the client retries itself): the outcome is the page's to act on
        self.puller = Puller(db, reader, actor=REFRESH_ACTOR, sleep=sleep, fetch_attempts=1,
                             exam_type=settings.exams_object_type)
        self.targets = targets(settings)

    def process_once(self) -> RefreshStats:
        stats = RefreshStats()
        requests = self.db.claim_refresh_requests(self.worker, CLAIM_LIMIT, LEASE_SECONDS)
        stats.requests = len(requests)
        results: list[dict[str, Any]] = []
        for kind, name in KINDS:
            batch = [r for r in requests if r["record_type"] == kind]
            if batch:
                results += self._refresh(self.targets[name], batch, stats)
        if results:
            self.db.finish_refresh_requests(self.worker, results)
            for result in results:
                stats.count(result["outcome"])
        if stats.changed and self.on_changed is not None:
            self.on_changed()
        return stats

    def _refresh(self, target: Target, batch: list[dict[str, Any]],
                 stats: RefreshStats) -> list[dict[str, Any]]:
        """Read one kind's records and apply them; each request's outcome."""
        ids = sorted({r["hubspot_id"] for r in batch})
        applied = TargetStats()
        try:
            gone, busy = self._read_and_apply(target, batch, ids, applied)
        except HubSpotError as exc:
            log.warning("refresh: HubSpot did not give %s %s (%s)", target.name, ids, exc,
                        extra=fields(event="refresh_failed", target=target.name,
                                     error=str(exc)))
            return [{"id": r["id"], "outcome": failure(exc), "detail": str(exc)} for r in batch]
        stats.changed = True  # read and applied (or closed, for a gone exam)
        refused = {str(e.get("id")): str(e.get("error")) for e in applied.errors}
        single = len(ids) == 1 and not gone and not busy and not refused
        done = ", ".join(f"{n} {k}" for k, n in (("inserted", applied.inserted),
                                                  ("updated", applied.updated),
                                                  ("unchanged", applied.unchanged)) if n)
        return [{"id": r["id"], **outcome_of(r["hubspot_id"], target, gone, busy, refused,
                                             done if single else None)} for r in batch]

    def _read_and_apply(self, target: Target, batch: list[dict[str, Any]], ids: list[str],
                        applied: TargetStats) -> tuple[set[str], set[str]]:
        """The pull's path for these ids: (the ids HubSpot no longer has, those still busy)."""
        records = self.puller._fetch(lambda: self.reader.read(
            target.object_type, ids, properties=target.properties))
        gone = [i for i in ids if i not in {str(r["id"]) for r in records}]
        if target.name == "exams":
            records += self.puller.gone_exams(target, gone)
        busy = set(self.puller.apply(target, records, applied)) if records else set()
        if target.name == "bookings" and gone:
            self.puller.store.requeue_records("hubspot_bookings", [
                r["record_key"] for r in batch if r["hubspot_id"] in gone])
        return set(gone), busy

    def run(self, stop: threading.Event) -> None:
        """Claim and apply until ``stop`` is set; a database that does not answer is tried
        again after 1 s, doubling up to 30 s."""
        seen: int | None = None
        next_claim = self.clock()
        delay = 0.0
        while not stop.wait(delay or POLL_SECONDS):
            try:
                mark = self.db.refresh_high_water()
                if mark != seen or self.clock() >= next_claim:
                    seen, next_claim = mark, self.clock() + CLAIM_EVERY_SECONDS
                    while not stop.is_set() and self._logged(self.process_once()) >= CLAIM_LIMIT:
                        pass
                delay = 0.0
            except Stopped:
                return
            except psycopg.Error as exc:
                delay = min(max(delay * 2, 1.0), 30.0)
                log.warning("refresh: database unavailable (%s); again in %.0f s", exc, delay,
                            extra=fields(event="refresh_db_lost", delay=delay))

    def _logged(self, stats: RefreshStats) -> int:
        if stats.requests:
            log.info("refresh: %d request(s): %s", stats.requests,
                     ", ".join(f"{n} {o}" for o, n in sorted(stats.outcomes.items())),
                     extra=fields(event="refresh", requests=stats.requests, **stats.outcomes))
        return stats.requests
