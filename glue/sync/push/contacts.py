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
from glue.hubspot.catalogue import MERGED_IDS, SYNCED
from glue.hubspot.client import (
    CONTACTS,
    MAX_BATCH,
    MAX_HISTORY_BATCH,
    BatchResult,
    HubSpotError,
)
from glue.hubspot.ratelimit import Stopped
from glue.hubspot.reads import HubSpotReader
from glue.sync.push.records import (
    BUSY_SQLSTATE,
    CONTACTS_TABLE,
    PUSH_ACTOR,
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
# (``_merge_credits``; a contact merged or deleted in HubSpot is re-linked there). A contact
# without a HubSpot id is matched by email (``batch/upsert`` with ``idProperty=email``: found and
# updated, or created) and its id written back. The values are given to the pull's credit merge
# before each call (``record_credit_push``), so HubSpot's copy of the push's own write is never
# taken for an admin's change.
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

CONTACTS_SYNCED = SYNCED["contacts"]
# The contact's credits: Postgres' values, pushed (glue/credit_fields.py's list).
CREDIT_PROPERTIES = CONTACTS_SYNCED.names(owner="postgres")
# What the credit merge before a contact write reads (apply_pulled_contacts' properties, and
# the ids of contacts merged into this one).
CONTACT_READ_PROPERTIES = (*CONTACTS_SYNCED.read, MERGED_IDS)
# What a contact the push creates in HubSpot is given besides its email and credits: the
# profile HubSpot owns (student_id, names).
PROFILE_PROPERTIES = CONTACTS_SYNCED.names(owner="hubspot", writes="push")


def contact_credits(state: dict[str, Any]) -> dict[str, int]:
    return {p: int(state.get(p) or 0) for p in CREDIT_PROPERTIES}


def contact_properties(state: dict[str, Any]) -> dict[str, str]:
    return {p: str(v) for p, v in contact_credits(state).items()}


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
        self._reader: HubSpotReader | None = None
        self.relinked = False  # a contact was re-linked: the batch's bookings are read again

    @property
    def reader(self) -> HubSpotReader:
        if self._reader is None:
            self._reader = HubSpotReader(self.hubspot)
        return self._reader

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
        claimed = {w.record_id for w in works}
        lookups = _lookups(bookings, claimed)
        if lookups:  # an earlier batch's write-back may have given them their HubSpot id
            self.settler.drain()
        # A lookup only resolves the HubSpot id (see "Lookups" in the module comment): one with
        # an id is not sent at all; one without is upserted by email with no property, and
        # neither its credits nor the credit merge's bookkeeping nor its id are written.
        unknown: list[Work] = []
        for rid, state in self.db.push_state(CONTACTS_TABLE, lookups).items():
            if state.get("hubspot_id"):
                resolved[str(rid)] = str(state["hubspot_id"])
            else:
                unknown.append(Work(CONTACTS_TABLE, rid, [], state))
        gone = [w for w in works if w.state is None]
        if gone:  # deleted locally: HubSpot keeps its contact
            self.settler.complete(gone, {})
        live = [w for w in works if w.state is not None]
        with_id = [w for w in live if w.state.get("hubspot_id")]
        by_email = [w for w in live if not w.state.get("hubspot_id")] + unknown
        for work in with_id:
            resolved[work.trace] = work.state["hubspot_id"]
        by_email += self._update_merged(with_id, resolved, idle)
        for chunk in chunks(by_email, MAX_BATCH):
            self.sender.run_chunk(chunk, lambda part: self._upsert_contacts(part, resolved))
        return resolved

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
        owned = [w for w in chunk if w.rows]  # the rest are lookups: no credits, no base
        if len(self._record_sending(owned)) < len(owned):  # BUSY: given back, not sent
            chunk = [w for w in chunk if not w.rows]
            if not chunk:
                return
        result = self.hubspot.upsert(
            CONTACTS,
            "email",
            [
                {
                    "id": w.state["email"].strip().lower(),
                    "properties": contact_properties(w.state) if w.rows else {},
                    "trace": w.trace,
                }
                for w in chunk
            ],
        )
        def email(w: Work) -> str:
            return w.state["email"].strip().lower()

        failed = self.sender.errors_by_work(result, chunk, lambda w: [email(w)])
        self.settler.fail_per_record(failed)
        ids = self.sender.result_ids(result, chunk, email, "email")
        ok = [w for w in chunk if (w.table, w.record_id) not in failed and w.trace in ids]
        missing = [w for w in chunk if (w.table, w.record_id) not in failed and w.trace not in ids]
        if missing:
            self.settler.fail(missing, "HubSpot answered the contact upsert without this contact")
        for w in ok:
            resolved[w.trace] = ids[w.trace]
        ok = [w for w in ok if w.rows]  # a lookup's id is not written back
        self.settler.complete(ok, {CONTACTS_TABLE: {w.trace: ids[w.trace] for w in ok}})
        self._give_profile(ok, ids, result)

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
        """Before writing credits, read HubSpot's current values (batch read) and merge them
        against the last synced values (``contact_credit_sync``), as the pull does: an admin's
        change made since is applied locally as a ``hubspot_adjustment`` ledger row, so what is
        written is base + local deltas + HubSpot deltas, never a blind overwrite.

        A contact HubSpot merged into another (its id in the survivor's
        ``hs_merged_object_ids``; a read of a merged-away id answers with the survivor —
        https://knowledge.hubspot.com/records/merge-records) is re-linked to the survivor; one
        HubSpot deleted is re-linked by email (returned second: the caller upserts by email).
        Returns (works to update by id, with their merged state; works to upsert by email)."""
        ids = [str(w.state["hubspot_id"]) for w in chunk]
        records = self.reader.read(
            CONTACTS, ids, properties=CONTACT_READ_PROPERTIES, history=CREDIT_PROPERTIES
        )
        by_id = {r["id"]: r for r in records}
        survivor: dict[str, dict] = {}
        for rec in records:
            for old in (rec["properties"].get(MERGED_IDS) or "").split(";"):
                if old.strip():
                    survivor[old.strip()] = rec
        ready: list[Work] = []
        gone: list[Work] = []
        found: dict[str, dict] = {}
        for work in chunk:
            hid = str(work.state["hubspot_id"])
            rec = by_id.get(hid) or survivor.get(hid)
            target = rec["id"] if rec is not None else None
            if target != hid:
                why = (
                    f"HubSpot contact {hid} was merged into {target}"
                    if target
                    else f"HubSpot contact {hid} was deleted; matched again by email"
                )
                try:
                    self.store.relink_contact(work.record_id, target, f"{PUSH_ACTOR}: {why}")
                except psycopg.errors.UniqueViolation:
                    self.settler.fail(
                        [work],
                        f"{why}, which is linked to another local contact: "
                        "merge the two students by hand",
                    )
                    continue
                log.info("%s (contact %s re-linked)", why, work.state.get("student_id"))
                self.relinked = True
                work.state["hubspot_id"] = target
                if target is None:
                    gone.append(work)
                    continue
            found[target] = rec
            ready.append(work)
        if found:
            result = self.store.merge_credits_for_push(list(found.values()), PUSH_ACTOR)
            # HubSpot's record holds a value the database cannot take (glue.hubspot.values):
            # its credits cannot be merged, so nothing is written over them until it is fixed
            # or a credit change too large to take unconfirmed (CREDIT_JUMP, held for an admin)
            stopped = set(result.get("refused") or []) | set(result.get("held") or [])
            refused = {e["id"]: e["error"] for e in result.get("errors") or []
                       if e.get("id") in stopped}
            for work in [w for w in ready if w.state["hubspot_id"] in refused]:
                self.settler.fail([work], f"HubSpot contact {work.state['hubspot_id']} cannot be "
                                   f"merged: {refused[work.state['hubspot_id']]}")
            ready = [w for w in ready if w.state["hubspot_id"] not in refused]
            busy = set(result.get("retry") or [])
            if busy:
                self.settler.fail(
                    [w for w in ready if w.state["hubspot_id"] in busy],
                    "BUSY: the contact stayed locked during the credit merge",
                    count_attempt=False,
                )
                ready = [w for w in ready if w.state["hubspot_id"] not in busy]
        fresh = self.db.push_state(CONTACTS_TABLE, [w.record_id for w in ready + gone])
        for work in ready + gone:
            if work.record_id in fresh:
                work.state = fresh[work.record_id]
        return [w for w in ready if w.state.get("hubspot_id")], gone
