"""`mockbook import`: the first full import of a HubSpot account into Postgres.

Three passes, in this order (bookings need their exams): exams, contacts, bookings. Each is the
pull's keyset search (glue.sync.pull) from the beginning of time, applied by the same database
functions (apply_pulled_exams, apply_pulled_contacts, apply_pulled_bookings), with its cursor
saved after every page:
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from glue.config import Settings
from glue.db.database import Database
from glue.hubspot.client import MAX_ASSOCIATION_READ, HubSpotClient
from glue.hubspot.reads import SEARCH_PAGE, HubSpotReader
from glue.sync.pull import DEFAULT_OVERLAP_SECONDS, Progress, Puller, PullStats, targets

# How it works (the detail of the module docstring):
#
# - exams and contacts use the pull's own cursors (``pull:exams``, ``pull:contacts``), so once the
#   import is done the incremental ``mockbook pull`` simply carries on from where it ended;
# - bookings use ``import:bookings`` (the incremental pull never reads bookings: Postgres owns
#   them).
#
# An interrupted import started again resumes each pass from its cursor (``--restart`` starts over;
# applying a record twice changes nothing). A stop (SIGTERM/SIGINT) fetches no further page,
# applies what was fetched, saves the cursor and ends. Contacts' balances come in as 'import'
# ledger rows (balance = 0 + ledger), bookings are matched to existing rows by HubSpot id, booking
# code or idempotency key (never inserted twice) and move no credit, and every exam's
# total_bookings is recounted from its Active bookings, so the invariants of the data model hold
# afterwards.

IMPORT_ACTOR = "hubspot:import"
ORDER = ("exams", "contacts", "bookings")
# Pages fetched ahead of the one applied: a group of bookings (1,000, one associations read per
# kind) is read while the one before is applied, so searches follow each other at HubSpot's
# search limit. What a killed import had fetched and not applied is read again: at most this
# many pages, the group in hand and the search in flight (bench/README.md, B11).
IMPORT_AHEAD = MAX_ASSOCIATION_READ // SEARCH_PAGE


@dataclass
class ImportStats(PullStats):
    """A pull's figures (``ok`` and ``problems``, what makes exit 1, are the pull's own rule),
    plus the passes that continued from a cursor."""

    resumed: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, t in self.targets.items():
            out[name] = {
                "read": t.read,
                "inserted": t.inserted,
                "updated": t.updated,
                "unchanged": t.unchanged,
                "errors": len(t.errors),
            }
            if name == "bookings":
                out[name]["linked"] = t.linked
                out[name]["matched"] = t.matched
                out[name]["reassociated"] = len(t.reassociated)
            if name == "exams":
                out[name]["deactivated"] = t.deactivated
                out[name]["capacity_refused"] = len(t.capacity_refused)
            if t.failed:
                out[name]["failed"] = t.failed
        return out

    @property
    def stopped(self) -> bool:
        """A stop ended the import before its last pass was done."""
        return any(t.stopped for t in self.targets.values()) or (
            bool(self.targets) and len(self.targets) < len(ORDER) and self.ok)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stopped": self.stopped,
            "summary": self.summary(),
            "errors": {k: t.errors for k, t in self.targets.items() if t.errors},
            "reassociated": [r for t in self.targets.values() for r in t.reassociated],
            "resumed": self.resumed,
            "seconds": self.seconds,
            "ok": self.ok,
        }


def run_import(
    db: Database,
    client: HubSpotClient,
    settings: Settings,
    *,
    restart: bool = False,
    reader: HubSpotReader | None = None,
    progress: Progress | None = None,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    sleep: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
) -> ImportStats:
    """Import exams, contacts and bookings; stops after a pass that could not finish (HubSpot
    unreachable: run it again to resume) or was stopped (``stop``)."""
    started = time.monotonic()
    reader = reader or HubSpotReader.from_settings(client, settings)
    puller = Puller(
        db,
        reader,
        actor=IMPORT_ACTOR,
        overlap_seconds=overlap_seconds,
        progress=progress,
        sleep=sleep,
        prerequisite_type=settings.prerequisite_association_type_id,
        exam_type=settings.exams_object_type,
        stop=stop,
        ahead=IMPORT_AHEAD,
    )
    stats = ImportStats()
    for name in ORDER:
        target = targets(settings)[name]
        if not restart and "since_ms" in (puller.store.get_cursor(target.sync_type) or {}):
            stats.resumed.append(name)
        result = puller.run(target, full=restart)
        stats.targets[name] = result
        if result.failed or result.stopped or (stop is not None and stop.is_set()):
            break
    stats.seconds = round(time.monotonic() - started, 3)
    return stats
