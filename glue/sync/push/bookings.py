"""The push's bookings (and the waitlist places HubSpot shows as bookings): upserted by booking
code, so a retry or a crash never makes a second HubSpot booking, then associated with their
contact and their exam where that is new; archived in HubSpot when deleted here.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from glue.config import Settings
from glue.hubspot.catalogue import SYNCED, WAITLIST_TABLE
from glue.hubspot.client import CONTACTS, MAX_ASSOCIATION_BATCH, MAX_BATCH, HubSpotError
from glue.sync.push.records import Work, chunks
from glue.sync.push.send import Sender
from glue.sync.push.settle import Settler

# How it works (the detail of the module docstring):
#
# Bookings: ``batch/upsert`` with ``idProperty=booking_id`` (the booking code, unique in HubSpot,
# so a retry or a crash at any instant never makes a second HubSpot booking; a booking whose
# repeated production code the adoption renamed is first renamed in HubSpot by its id,
# ``_rename_legacy_bookings``), each input with ``objectWriteTraceId`` = the record's uuid; then
# the associations booking->contact and booking->exam (v4 batch, default or configured types, up
# to 2,000 per call: one call each per chunk of 2,000) for bookings that are new, or whose exam
# or contact changed. A booking HubSpot archived is re-created by its upsert, and the new id
# replaces the old. Nothing is completed before its associations: a chunk's bookings are written
# back once both of its calls are answered, while the next chunk's go out.

log = logging.getLogger(__name__)

# Every booking property the push writes, from its hubspot_bookings column (the catalogue).
BOOKING_PROPERTIES = SYNCED["bookings"].select(writes="push")


def booking_properties(state: dict[str, Any], contact_id: str | None) -> dict[str, str]:
    props = {p.name: p.to_hubspot(state.get(p.local)) for p in BOOKING_PROPERTIES}
    props["associated_contact_id"] = contact_id or ""
    return props


@dataclass
class Sending:
    """A batch's bookings on their way (``BookingPush.push``): the contact each is associated
    with, the HubSpot ids of those upserted, those to associate. ``early``: bookings whose
    contact's HubSpot id their own state already gives, upserted while the contacts are still
    being read and merged (``upsert_early``); ``tried``: the traces upserted so far."""

    early: list[Work] = field(default_factory=list)
    contact_of: dict[str, str | None] = field(default_factory=dict)
    upserted: dict[str, str] = field(default_factory=dict)
    to_associate: list[Work] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)



class BookingPush:
    """Step 2 of a batch (:class:`glue.sync.push.pusher.Pusher`): its bookings and places."""

    def __init__(self, settings: Settings, sender: Sender, settler: Settler) -> None:
        self.settings = settings
        self.bookings_type = settings.bookings_object_type
        self.exams_type = settings.exams_object_type
        self.hubspot = sender.hubspot
        self.sender = sender
        self.settler = settler

    @staticmethod
    def contact_id(state: dict[str, Any], resolved: dict[str, str | None]) -> str | None:
        return (
            state.get("associated_contact_id")
            or state.get("contact_hubspot_id")
            or resolved.get(str(state.get("contact_record_id")))
        )

    @staticmethod
    def _needs_associations(work: Work) -> bool:
        """A booking is associated when it is new, re-queued (push --all), or its exam or
        contact changed; a plain status change does not cost the two association calls."""
        state = work.state or {}
        for row in work.rows:
            old = row.get("old_data")
            if row["operation"] == "INSERT" or old is None:
                return True
            if work.table == WAITLIST_TABLE:  # a place's exam and contact never change
                continue
            if old.get("associated_mock_exam") != state.get("associated_mock_exam"):
                return True
            if (old.get("associated_contact_id") or None) != (
                state.get("associated_contact_id") or None
            ):
                return True
        return False

    def upsert_early(self, sending: Sending) -> bool:
        """Upsert the next chunk of the bookings whose contact's HubSpot id is known from
        their own state (the contacts are still being merged: the main thread would wait);
        False when none is left. Their associations and completion wait for ``push``."""
        if not sending.early:
            return False
        chunk, sending.early = sending.early[:MAX_BATCH], sending.early[MAX_BATCH:]
        chunk = self.settler.unsettled_of(chunk)
        if not chunk:
            return True
        for work in chunk:
            sending.contact_of[work.trace] = self.contact_id(work.state, {})
            sending.tried.add(work.trace)
        self.sender.run_chunk(
            chunk,
            lambda c: self._upsert_bookings(
                c, sending.contact_of, sending.upserted, sending.to_associate
            ),
        )
        return True

    def push(
        self,
        works: list[Work],
        resolved: dict[str, str | None],
        sending: Sending | None = None,
    ) -> None:
        """Upsert the batch's bookings (100 per call; those upserted early are not sent again
        unless their contact's HubSpot id changed since: a re-linked contact), then associate
        the ones that need it (up to 2,000 pairs per call, so a batch of new bookings costs two
        association calls, not two per 100). A booking is completed as soon as its last call
        is answered: after its upsert when it needs no association, else after the association
        call carrying it (made once 2,000 are upserted, or at the end). Nothing is completed
        before its associations."""
        sending = sending or Sending()
        gone = [w for w in works if w.state is None]
        if gone:
            self.sender.run_chunk(gone, self._archive_bookings)
        # not those an early upsert already failed
        live = self.settler.unsettled_of([w for w in works if w.state is not None])
        waiting, ready = [], []
        for work in live:
            has_contact = work.state.get("contact_record_id") is not None
            if has_contact and not self.contact_id(work.state, resolved):
                waiting.append(work)
            else:
                ready.append(work)
        if waiting:
            self.settler.fail(waiting, "the booking's contact has no HubSpot id yet (not synced)")
        contact_of = {w.trace: self.contact_id(w.state, resolved) for w in ready}
        again = {
            w.trace
            for w in ready
            if w.trace in sending.tried and sending.contact_of.get(w.trace) != contact_of[w.trace]
        }
        for trace in again:
            sending.upserted.pop(trace, None)
        upserted = sending.upserted  # trace -> HubSpot id
        to_associate = [w for w in sending.to_associate if w.trace not in again]
        sending.contact_of.update(contact_of)
        fresh = [w for w in ready if w.trace not in sending.tried or w.trace in again]

        def associate(chunk: list[Work]) -> None:
            self.settler.fail_per_record(self._associate_bookings(chunk, upserted, contact_of))

        ready_traces = {w.trace for w in ready}

        def complete(works: list[Work]) -> None:
            done = [
                w
                for w in works
                if w.trace in ready_traces
                and w.trace in upserted
                and (w.table, w.record_id) in self.settler.unsettled
            ]
            written: dict[str, dict[str, str]] = defaultdict(dict)
            for w in done:
                written[w.table][w.trace] = upserted[w.trace]
            if done:
                self.settler.complete(done, dict(written))

        def settle(final: bool) -> None:
            """Complete what the calls so far finished: the upserted bookings that need no
            association at once, the others by association call (a full one, or on ``final``
            what is left), written back on the settle lane while the next calls go out."""
            with self.settler.lock:  # not those failed meanwhile
                to_associate[:] = [
                    w for w in to_associate if (w.table, w.record_id) in self.settler.unsettled
                ]
                waiting = {w.trace for w in to_associate}
                done = [w for w in ready if w.trace in upserted and w.trace not in waiting]
            complete(done)
            while len(to_associate) >= MAX_ASSOCIATION_BATCH or (final and to_associate):
                chunk = to_associate[:MAX_ASSOCIATION_BATCH]
                del to_associate[:MAX_ASSOCIATION_BATCH]
                self.sender.run_chunk(chunk, associate)
                complete(chunk)

        for chunk in chunks(fresh, MAX_BATCH):
            self.sender.run_chunk(
                chunk, lambda c: self._upsert_bookings(c, contact_of, upserted, to_associate)
            )
            settle(final=False)
        settle(final=True)

    def _archive_bookings(self, chunk: list[Work]) -> None:
        ids = sorted(
            {
                str(hid)
                for w in chunk
                for r in w.rows
                if (hid := (r.get("old_data") or {}).get("hubspot_id"))
            }
        )
        if ids:
            self.hubspot.archive(self.bookings_type, ids)
        self.settler.complete(chunk, {})

    def _upsert_bookings(
        self,
        chunk: list[Work],
        contact_of: dict[str, str | None],
        upserted: dict[str, str],
        to_associate: list[Work],
    ) -> None:
        """One ``batch/upsert`` by booking code; per-record errors fail those bookings now, the
        others are noted (with their HubSpot id) for the associations and the completion."""
        self._rename_legacy_bookings(chunk)
        result = self.hubspot.upsert(
            self.bookings_type,
            "booking_id",
            [
                {
                    "id": w.state["booking_id"],
                    "properties": booking_properties(w.state, contact_of[w.trace]),
                    "trace": w.trace,
                }
                for w in chunk
            ],
        )
        failed = self.sender.errors_by_work(result, chunk, lambda w: [w.state["booking_id"]])
        ids = self.sender.result_ids(result, chunk, lambda w: w.state["booking_id"], "booking_id")
        new = {r.get("objectWriteTraceId") for r in result.results if r.get("new")}
        for work in chunk:
            if (work.table, work.record_id) in failed:
                continue
            if work.trace not in ids:
                failed[(work.table, work.record_id)] = (
                    work,
                    "HubSpot answered the booking upsert without this booking",
                )
                continue
            upserted[work.trace] = ids[work.trace]
            if work.trace in new or self._needs_associations(work):
                to_associate.append(work)
        self.settler.fail_per_record(failed)

    def _rename_legacy_bookings(self, chunk: list[Work]) -> None:
        """A booking whose repeated production code the adoption renamed (``legacy_booking_id``
        set, docs/dba.md, "Legacy booking codes") has a HubSpot object that still carries the old
        code: give that object the new code by its id (``batch/update``) first, so the upsert
        by code finds it instead of creating a second HubSpot booking. Idempotent; per-record
        errors (an object HubSpot archived or merged away) are left to the upsert, which
        re-creates an archived booking as for any other."""
        legacy = [
            w for w in chunk if w.state.get("legacy_booking_id") and w.state.get("hubspot_id")
        ]
        if not legacy:
            return
        try:
            self.hubspot.update(
                self.bookings_type,
                [
                    {
                        "id": str(w.state["hubspot_id"]),
                        "properties": {"booking_id": w.state["booking_id"]},
                        "trace": w.trace,
                    }
                    for w in legacy
                ],
            )
        except HubSpotError as exc:
            if exc.transient or exc.unauthorized:
                raise  # Sender.run_chunk: retried later / the run aborts
            log.warning("renaming legacy bookings in HubSpot refused (%s); upserting", exc)

    def _associate_bookings(
        self, works: list[Work], ids: dict[str, str], contact_of: dict[str, str | None]
    ) -> dict[tuple[str, uuid.UUID], tuple[Work, str]]:
        """Associate each booking with its contact and its exam; per-record failures."""
        failed: dict[tuple[str, uuid.UUID], tuple[Work, str]] = {}
        plans = (
            (
                CONTACTS,
                self.settings.booking_contact_association_type,
                lambda w: contact_of[w.trace],
            ),
            (
                self.exams_type,
                self.settings.booking_exam_association_type,
                lambda w: w.state.get("associated_mock_exam"),
            ),
        )
        for to_type, type_id, target in plans:
            chunk = [w for w in works if target(w)]
            if not chunk:
                continue
            pairs = [(ids[w.trace], str(target(w))) for w in chunk]
            result = self.hubspot.associate(self.bookings_type, to_type, pairs, type_id)
            failed.update(
                self.sender.errors_by_work(
                    result, chunk, lambda w, target=target: [ids[w.trace], str(target(w))]
                )
            )
        return failed
