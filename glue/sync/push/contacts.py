"""The push's contacts: their credits written to HubSpot by id after the credit merge (HubSpot's
current values read and merged against the last synced ones, so an admin's change is kept), or
matched by email (found or created) when they have no HubSpot id yet; and the lookups, the
HubSpot ids of contacts the batch's bookings need, resolved without writing anything.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import wait as wait_futures
from typing import Any

import psycopg

from glue.db.database import Database
from glue.db.pull import PullDatabase
from glue.hubspot.catalogue import SYNCED
from glue.hubspot.client import (
    CONTACTS,
    MAX_BATCH,
    MAX_HISTORY_BATCH,
    BatchResult,
    HubSpotError,
)
from glue.hubspot.ratelimit import Stopped
from glue.sync.push.merge import CREDIT_PROPERTIES, CreditMerge
from glue.sync.push.records import (
    BUSY_SQLSTATE,
    CONTACTS_TABLE,
    Work,
    chunks,
)
from glue.sync.push.send import Sender
from glue.sync.push.settle import Settler

# How it works (the detail of the module docstring):
#
# Credits: the five credit properties, ``batch/update`` by HubSpot id, after a batch read of
# HubSpot's current values (with their history, so 50 contacts a read: ``MAX_HISTORY_BATCH``)
# merged against the last synced values, so an admin's change is kept, never written over
# (``_merge_credits``: glue/sync/push/merge.py; a contact merged or deleted in HubSpot is
# re-linked there). A contact without a HubSpot id is matched by email (``batch/upsert`` with
# ``idProperty=email``: found and updated, or created) and its id written back. The values are
# given to the pull's credit merge before each call (``record_credit_push``), so HubSpot's copy
# of the push's own write is never taken for an admin's change.
#
# Lookups: a contact the batch's bookings need for their associations but whose outbox rows the
# batch did not claim is only looked up, never pushed: by the HubSpot id it has by now (no
# call), else by a ``batch/upsert`` by email with no property (found, or created empty), and
# neither its credits, nor the merge's bookkeeping (``contact_credit_sync``), nor its id are
# written; its own outbox rows push those, under their lease. A lookup that sent the credits and
# wrote the id back would turn what it sent into the merge's base; beside another worker holding
# the contact's lease that corrupts the base: the lookup's write-back clears the "pushing" values
# the holder recorded, the holder's write-back then takes the current balances for what HubSpot
# holds, and the next merge reads a local change made meanwhile as an admin's change in HubSpot:
# the deduction is lost (or a stale upsert of either one lands last;
# tests/py/sync/test_push_lookup_race.py). Two upserts by one email, a lookup's and the holder's,
# find or create one HubSpot contact: email is unique there.
#
# Leases: while this push holds a contact's lease (from the claim to the write-back), no pull or
# webhook apply merges that contact (apply_pulled_contacts: BUSY, read again by the next pass):
# only the lease holder's own merge (``merge_credits_for_push``) and its write-back touch the
# merge's bookkeeping, so the write-back turns exactly what was sent into the base
# (tests/py/sync/test_push_pull_race.py: a pull between the write and the write-back would clear
# "pushing", and a local deduction made meanwhile would come back as a phantom admin change).

log = logging.getLogger(__name__)

# What a contact the push creates in HubSpot is given besides its email and credits: the
# profile HubSpot owns (student_id, names).
PROFILE_PROPERTIES = SYNCED["contacts"].names(owner="hubspot", writes="push")


def contact_credits(state: dict[str, Any]) -> dict[str, int]:
    return {p: int(state.get(p) or 0) for p in CREDIT_PROPERTIES}


def contact_properties(state: dict[str, Any]) -> dict[str, str]:
    return {p: str(v) for p, v in contact_credits(state).items()}


def _email(work: Work) -> str:
    """The email a contact is matched by in HubSpot (trimmed, in lower case)."""
    return work.state["email"].strip().lower()


def _lookups(bookings: list[Work], claimed: set[uuid.UUID]) -> list[uuid.UUID]:
    """The contacts the bookings need a HubSpot id of whose outbox rows the batch did not claim
    (looked up, never pushed: the module comment's "Lookups"), in the bookings' order."""
    lookups: list[uuid.UUID] = []
    for b in bookings:
        s = b.state or {}
        rid = s.get("contact_record_id")
        if rid and not s.get("contact_hubspot_id") and not s.get("associated_contact_id"):
            rid = uuid.UUID(str(rid))
            if rid not in claimed and rid not in lookups:
                lookups.append(rid)
    return lookups


class ContactPush:
    """Step 1 of a batch (:class:`glue.sync.push.pusher.Pusher`): its contacts."""

    def __init__(self, db: Database, sender: Sender, settler: Settler) -> None:
        self.db = db
        self.store = PullDatabase(db)
        self.hubspot = sender.hubspot
        self.sender = sender
        self.settler = settler
        self.merge = CreditMerge(db, sender.hubspot, settler)

    @property
    def relinked(self) -> bool:
        """A contact was re-linked (merged or deleted in HubSpot): the batch's bookings are read
        again."""
        return self.merge.relinked

    @relinked.setter
    def relinked(self, value: bool) -> None:
        self.merge.relinked = value

    def push(
        self,
        works: list[Work],
        bookings: list[Work],
        idle: Callable[[], bool] | None = None,
    ) -> dict[str, str | None]:
        """Push claimed contacts, and resolve the HubSpot ids of the bookings' contacts that
        have none (lookups: found by id or email, nothing of theirs written, see the module
        comment). Returns {contact record uuid (str): HubSpot id or None if unresolved}.
        ``idle()``: one other call to make while a chunk's merge is not ready (False: none
        left)."""
        resolved: dict[str, str | None] = {}
        unknown = self._look_up(_lookups(bookings, {w.record_id for w in works}), resolved)
        gone = [w for w in works if w.state is None]
        if gone:  # deleted locally: HubSpot keeps its contact
            self.settler.complete(gone, {})
        live = [w for w in works if w.state is not None]
        with_id = [w for w in live if w.state.get("hubspot_id")]
        for work in with_id:
            resolved[work.trace] = work.state["hubspot_id"]
        by_email = [w for w in live if not w.state.get("hubspot_id")] + unknown
        by_email += self._update_merged(with_id, resolved, idle)
        for chunk in chunks(by_email, MAX_BATCH):
            self.sender.run_chunk(chunk, lambda part: self._upsert_contacts(part, resolved))
        return resolved

    def _look_up(self, lookups: list[uuid.UUID], resolved: dict[str, str | None]) -> list[Work]:
        """The lookups' HubSpot ids (see "Lookups" in the module comment): one with an id by now
        is resolved here and not sent at all; the others are returned, to be upserted by email
        with no property (neither their credits nor the credit merge's bookkeeping nor their
        id written)."""
        if not lookups:
            return []
        self.settler.drain()  # an earlier batch's write-back may have given them their HubSpot id
        unknown: list[Work] = []
        for rid, state in self.db.push_state(CONTACTS_TABLE, lookups).items():
            if state.get("hubspot_id"):
                resolved[str(rid)] = str(state["hubspot_id"])
            else:
                unknown.append(Work(CONTACTS_TABLE, rid, [], state))
        return unknown

    def _update_merged(
        self,
        with_id: list[Work],
        resolved: dict[str, str | None],
        idle: Callable[[], bool] | None,
    ) -> list[Work]:
        """Read and merge on the prep lane, chunk after chunk, while the chunks already merged
        are written here (an update waits only for its own contacts' merges). A chunk is one
        read with history (MAX_HISTORY_BATCH), so the prep lane's threads read the two halves of
        an update at once: it waits for the slower read (one retried after a 5xx), not for
        both one after the other (the first rows of a worker started on a backlog). Returns
        the contacts HubSpot deleted meanwhile (matched again by email)."""
        # one read with history per MAX_HISTORY_BATCH contacts: HubSpot refuses more (a 400 the
        # bisection in Sender.run_chunk would only find after a wasted call); the update stays 100
        prepared = [
            self.settler.on_prep(self._prepare_contacts, chunk)
            for chunk in chunks(with_id, MAX_HISTORY_BATCH)
        ]
        ready: list[Work] = []
        lost: list[Work] = []
        try:
            for future in prepared:
                while not future.done() and idle is not None and idle():
                    pass
                merged, gone = future.result()
                for work in merged:
                    resolved[work.trace] = work.state["hubspot_id"]
                for work in gone:
                    resolved.pop(work.trace, None)
                lost.extend(gone)
                ready.extend(merged)
                while len(ready) >= MAX_BATCH:  # full calls only, until the last
                    chunk, ready = ready[:MAX_BATCH], ready[MAX_BATCH:]
                    self.sender.run_chunk(chunk, self._update_contacts)
        finally:  # an error: stop the reads not started, wait for the one running
            for future in prepared:
                future.cancel()
            wait_futures(prepared)
        for chunk in chunks(ready, MAX_BATCH):
            self.sender.run_chunk(chunk, self._update_contacts)
        return lost

    def _update_contacts(self, chunk: list[Work]) -> None:
        """The credits of contacts with a HubSpot id, written by id (record_credit_push was
        called by _prepare_contacts, after the merge)."""
        result = self.hubspot.update(
            CONTACTS,
            [
                {
                    "id": w.state["hubspot_id"],
                    "properties": contact_properties(w.state),
                    "trace": w.trace,
                }
                for w in chunk
            ],
        )
        failed = self.sender.errors_by_work(result, chunk, lambda w: [w.state["hubspot_id"]])
        self.settler.fail_per_record(failed)
        ok = self.sender.confirmed(result, chunk, failed)
        self.settler.complete(ok, {CONTACTS_TABLE: {w.trace: w.state["hubspot_id"] for w in ok}})

    def _upsert_contacts(self, chunk: list[Work], resolved: dict[str, str | None]) -> None:
        """Contacts without a HubSpot id, matched by email (found or created); a lookup (no
        outbox rows of its own) sends no property and its id is not written back."""
        chunk = self._recorded(chunk)
        if not chunk:
            return
        result = self.hubspot.upsert(
            CONTACTS,
            "email",
            [
                {
                    "id": _email(w),
                    "properties": contact_properties(w.state) if w.rows else {},
                    "trace": w.trace,
                }
                for w in chunk
            ],
        )
        ids = self._upserted_ids(chunk, result)
        resolved.update(ids)
        ok = [w for w in chunk if w.rows and w.trace in ids]  # a lookup's id is not written back
        self.settler.complete(ok, {CONTACTS_TABLE: {w.trace: ids[w.trace] for w in ok}})
        self._give_profile(ok, ids, result)

    def _recorded(self, chunk: list[Work]) -> list[Work]:
        """What of ``chunk`` to upsert: all, once its contacts' credits are recorded
        (:meth:`_record_sending`); its lookups alone when that was BUSY (the others given
        back)."""
        owned = [w for w in chunk if w.rows]  # the rest are lookups: no credits, no base
        if len(self._record_sending(owned)) < len(owned):  # BUSY: given back, not sent
            return [w for w in chunk if not w.rows]
        return chunk

    def _upserted_ids(self, chunk: list[Work], result: BatchResult) -> dict[str, str]:
        """{contact uuid (str): HubSpot id} of the contacts the upsert answered for; those it
        refused, or answered without, are failed."""
        failed = self.sender.errors_by_work(result, chunk, lambda w: [_email(w)])
        self.settler.fail_per_record(failed)
        ids = self.sender.result_ids(result, chunk, _email, "email")
        answered = [w for w in chunk if (w.table, w.record_id) not in failed]
        if missing := [w for w in answered if w.trace not in ids]:
            self.settler.fail(missing, "HubSpot answered the contact upsert without this contact")
        return {w.trace: ids[w.trace] for w in answered if w.trace in ids}

    def _give_profile(self, works: list[Work], ids: dict[str, str], result: BatchResult) -> None:
        """The contacts the upsert created (``new`` in its answer: a student new to HubSpot, or
        one re-created after an admin deleted it) get the profile Postgres holds (student_id,
        names), which the upsert by email did not carry: HubSpot owns an existing contact's
        profile, so it is only ever written to a contact that had none. A failure here is
        logged, not retried: the credits are written, and reconcile reports the empty names."""
        new = {str(r.get("id")) for r in result.results if r.get("new")}
        inputs = [
            {"id": ids[w.trace], "properties": profile, "trace": w.trace}
            for w in works
            if ids[w.trace] in new and w.state
            and (profile := {p: str(w.state[p]) for p in PROFILE_PROPERTIES if w.state.get(p)})
        ]
        if not inputs:
            return
        try:
            answer = self.hubspot.update(CONTACTS, inputs)
        except (HubSpotError, Stopped) as exc:
            log.warning("the profile of %d new HubSpot contact(s) was not written: %s",
                        len(inputs), exc)
            return
        if answer.errors:
            log.warning("the profile of %d new HubSpot contact(s) was not written: %s",
                        len(answer.errors), answer.errors[0].message)

    def _prepare_contacts(self, chunk: list[Work]) -> tuple[list[Work], list[Work]]:
        """(prep lane) The credit merge of one chunk (``_merge_credits``: HubSpot's batch read,
        then the database), then ``record_credit_push`` of the values about to be written, so
        the pull's merge knows them as ours even if the answer to the write is lost. Returns
        (works to update by id, works to upsert by email)."""
        merged: list[Work] = []
        gone: list[Work] = []

        def merge(part: list[Work]) -> None:
            ready, lost = self._merge_credits(part)
            merged.extend(ready)
            gone.extend(lost)

        self.sender.run_chunk(chunk, merge)
        return self._record_sending(merged), gone

    def _record_sending(self, works: list[Work]) -> list[Work]:
        """``record_credit_push(sent=False)`` of the credits about to be written: the pull's
        credit merge must know them as ours even if HubSpot applies them and the answer is lost
        (the write-back makes them the synced base). Returns the works recorded: all, or none
        when a contact stayed locked past mockbook.lock_timeout (BUSY: the function writes under
        the contacts' row locks, docs/rpc.md "Lock order"); those are given back uncounted and
        not sent, as values sent unrecorded could later be read as an admin's change."""
        if not works:
            return []
        try:
            self.db.record_credit_push(
                {w.trace: contact_credits(w.state) for w in works}, sent=False
            )
        except psycopg.Error as exc:
            if exc.sqlstate != BUSY_SQLSTATE:
                raise
            self.settler.fail(
                works,
                "BUSY: a contact stayed locked while its credits were recorded",
                count_attempt=False,
            )
            return []
        return works

    def _merge_credits(self, chunk: list[Work]) -> tuple[list[Work], list[Work]]:
        """The credit merge of one chunk before its credits are written (glue/sync/push/merge.py):
        (works to update by id, with their merged state; works to upsert by email)."""
        return self.merge.run(chunk)
