"""The credit merge before the push writes contacts' credits by HubSpot id
(:class:`CreditMerge`): HubSpot's current values read (with their history), contacts HubSpot
merged or deleted re-linked, the merge run in the database (``merge_credits_for_push``), what it
refused or found locked failed. A part of :class:`glue.sync.push.contacts.ContactPush`.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from glue.db.database import Database
from glue.db.pull import PullDatabase
from glue.hubspot.catalogue import MERGED_IDS, SYNCED
from glue.hubspot.client import CONTACTS, HubSpotClient
from glue.hubspot.reads import HubSpotReader
from glue.sync.push.records import CONTACTS_TABLE, PUSH_ACTOR, Work
from glue.sync.push.settle import Settler

log = logging.getLogger(__name__)

CONTACTS_SYNCED = SYNCED["contacts"]
# The contact's credits: Postgres' values, pushed (glue/credit_fields.py's list).
CREDIT_PROPERTIES = CONTACTS_SYNCED.names(owner="postgres")
# What the credit merge before a contact write reads (apply_pulled_contacts' properties, and
# the ids of contacts merged into this one).
CONTACT_READ_PROPERTIES = (*CONTACTS_SYNCED.read, MERGED_IDS)


def _merged_away(record: dict) -> list[str]:
    """The ids of the contacts HubSpot merged into ``record`` (``hs_merged_object_ids``)."""
    return [i.strip() for i in (record["properties"].get(MERGED_IDS) or "").split(";") if i.strip()]


class CreditMerge:
    """``run(chunk)`` for each chunk of contacts with a HubSpot id, on the push's prep lane;
    ``relinked``: a contact was re-linked since it was last cleared."""

    def __init__(self, db: Database, hubspot: HubSpotClient, settler: Settler) -> None:
        self.db = db
        self.store = PullDatabase(db)
        self.hubspot = hubspot
        self.settler = settler
        self._reader: HubSpotReader | None = None
        self.relinked = False

    @property
    def reader(self) -> HubSpotReader:
        if self._reader is None:
            self._reader = HubSpotReader(self.hubspot)
        return self._reader

    def run(self, chunk: list[Work]) -> tuple[list[Work], list[Work]]:
        """Before writing credits, read HubSpot's current values (batch read) and merge them
        against the last synced values (``contact_credit_sync``), as the pull does: an admin's
        change made since is applied locally as a ``hubspot_adjustment`` ledger row, so what is
        written is base + local deltas + HubSpot deltas, never a blind overwrite.

        A contact HubSpot merged into another (its id in the survivor's
        ``hs_merged_object_ids``; a read of a merged-away id answers with the survivor —
        https://knowledge.hubspot.com/records/merge-records) is re-linked to the survivor; one
        HubSpot deleted is re-linked by email (returned second: the caller upserts by email).
        Returns (works to update by id, with their merged state; works to upsert by email)."""
        current = self._current_records(chunk)
        found, gone = self._follow_relinks(chunk, current)
        ready = self._merge_found(found, current)
        self._read_again(ready + gone)
        return [w for w in ready if w.state.get("hubspot_id")], gone

    def _current_records(self, chunk: list[Work]) -> dict[str, dict]:
        """HubSpot's record of each contact of the chunk, by the HubSpot id it has here: its
        own, or the survivor's it was merged into (HubSpot answers a merged-away id with the
        survivor); an id HubSpot deleted has none."""
        ids = [str(w.state["hubspot_id"]) for w in chunk]
        records = self.reader.read(
            CONTACTS, ids, properties=CONTACT_READ_PROPERTIES, history=CREDIT_PROPERTIES
        )
        current = {old: rec for rec in records for old in _merged_away(rec)}
        current.update({rec["id"]: rec for rec in records})  # a record's own id comes first
        return current

    def _follow_relinks(
        self, chunk: list[Work], current: dict[str, dict]
    ) -> tuple[list[Work], list[Work]]:
        """The contacts HubSpot still has (re-linked to the survivor when merged), and those it
        deleted (re-linked to no id: matched again by email). A re-link that would give a
        HubSpot contact to a second local contact is neither: failed, for an admin."""
        found: list[Work] = []
        gone: list[Work] = []
        for work in chunk:
            hid = str(work.state["hubspot_id"])
            rec = current.get(hid)
            target = rec["id"] if rec is not None else None
            if target != hid and not self._relink(work, hid, target):
                continue
            (found if target is not None else gone).append(work)
        return found, gone

    def _relink(self, work: Work, hid: str, target: str | None) -> bool:
        """Re-link ``work``'s contact from HubSpot contact ``hid`` to ``target`` (the survivor
        of a merge; None: deleted). False when ``target`` is another local contact's."""
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
                f"{why}, which is linked to another local contact: merge the two students by hand",
            )
            return False
        log.info("%s (contact %s re-linked)", why, work.state.get("student_id"))
        self.relinked = True
        work.state["hubspot_id"] = target
        return True

    def _merge_found(self, found: list[Work], current: dict[str, dict]) -> list[Work]:
        """The credit merge of the contacts HubSpot has (``merge_credits_for_push``, one record
        per HubSpot contact); returns those merged, the others failed (:meth:`_refused`,
        :meth:`_busy`)."""
        if not found:
            return found
        records = {str(w.state["hubspot_id"]): current[str(w.state["hubspot_id"])] for w in found}
        result = self.store.merge_credits_for_push(list(records.values()), PUSH_ACTOR)
        return self._busy(self._refused(found, result), result)

    def _refused(self, works: list[Work], result: dict[str, Any]) -> list[Work]:
        """Fails the contacts whose HubSpot record holds a value the database cannot take
        (glue.hubspot.wire) or a credit change too large to take unconfirmed (CREDIT_JUMP,
        held for an admin): nothing is written over their credits until that is fixed. Returns
        the others."""
        stopped = set(result.get("refused") or []) | set(result.get("held") or [])
        errors = result.get("errors") or []
        refused = {e["id"]: e["error"] for e in errors if e.get("id") in stopped}
        for work in works:
            hid = work.state["hubspot_id"]
            if hid in refused:
                self.settler.fail([work], f"HubSpot contact {hid} cannot be merged: {refused[hid]}")
        return [w for w in works if w.state["hubspot_id"] not in refused]

    def _busy(self, works: list[Work], result: dict[str, Any]) -> list[Work]:
        """Gives back, uncounted, the contacts that stayed locked past mockbook.lock_timeout
        during the merge (BUSY: merged by a later push). Returns the others."""
        busy = set(result.get("retry") or [])
        if locked := [w for w in works if w.state["hubspot_id"] in busy]:
            self.settler.fail(locked, "BUSY: the contact stayed locked during the credit merge",
                              count_attempt=False)
        return [w for w in works if w.state["hubspot_id"] not in busy]

    def _read_again(self, works: list[Work]) -> None:
        """The merged (or re-linked) state of ``works``, read after the merge."""
        fresh = self.db.push_state(CONTACTS_TABLE, [w.record_id for w in works])
        for work in works:
            if work.record_id in fresh:
                work.state = fresh[work.record_id]
