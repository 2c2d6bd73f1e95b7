"""The database side of the pull, the import, the reconcile and the audit notes: calls of the
hubspot_sync functions by name (their SQL lives in db/functions/), over the glue's
:class:`glue.db.database.Database` pool. Each method is one function call, so one transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from glue.db.database import Database
from glue.db.lease import Lease
from glue.hubspot import wire
from glue.hubspot.catalogue import SYNCED

log = logging.getLogger(__name__)

# The tables of what is applied (where its dead letters are filed): the catalogue's.
EXAMS_TABLE, CONTACTS_TABLE, BOOKINGS_TABLE = (
    SYNCED[k].table for k in ("exams", "contacts", "bookings")
)
# One audit-notes writer per database at a time: the lease 'notes' (glue.db.lease).
NOTES_LEASE = "notes"


class PullDatabase:
    """``PullDatabase(db)``: the functions the pull, import, reconcile and notes call."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _one(self, query: str, params: dict[str, Any]) -> Any:
        with self.db.pool.connection() as conn:
            row = conn.execute(query, params).fetchone()
        return None if row is None else next(iter(row.values()))

    def _rows(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self.db.pool.connection() as conn:
            return conn.execute(query, params).fetchall()

    # ---- applying what HubSpot holds ----------------------------------------------------------
    # Every record passes glue.hubspot.wire's screen first: one PostgreSQL cannot store (a NUL)
    # or longer than mockbook takes is refused on its own, dead-lettered with the property and
    # why, and listed in the result's errors and ``refused``; the others are applied, each with
    # its ``unknown`` list: the columns whose empty value the catalogue declares unknown
    # (Prop.empty), kept by the database's apply functions.
    def _screened(
        self, table: str, records: Sequence[dict], apply: Any
    ) -> dict[str, Any]:
        keep, refused = wire.screen(records)
        synced = next(s for s in SYNCED.values() if s.table == table)
        keep = [{**r, "unknown": synced.unknown(r.get("properties") or {})} for r in keep]
        result: dict[str, Any] = apply(keep) if keep else {}
        if refused:
            for why in refused:
                if why.record_id is not None:
                    self.note_pull_error(table, why.record_id, why.error, wire.storable(
                        next(r for r in records if str(r.get("id")) == why.record_id)))
            result = dict(result)
            result["errors"] = [*(result.get("errors") or []),
                                *({"id": w.record_id, "field": w.field, "error": w.error}
                                  for w in refused)]
            result["refused"] = [w.record_id for w in refused]
        return result

    def apply_exams(self, records: Sequence[dict], actor: str) -> dict[str, Any]:
        return self._screened(EXAMS_TABLE, records, lambda keep: self._one(
            "SELECT mockbook_internal.apply_pulled_exams(p_exams => %(r)s, p_actor => %(a)s)",
            {"r": Jsonb(keep), "a": actor},
        ))

    def apply_contacts(
        self, records: Sequence[dict], actor: str, *, merge_credits: bool = True
    ) -> dict[str, Any]:
        return self._screened(CONTACTS_TABLE, records, lambda keep: self._one(
            "SELECT mockbook_internal.apply_pulled_contacts(p_contacts => %(r)s, p_actor => %(a)s, "
            "p_merge_credits => %(m)s)",
            {"r": Jsonb(keep), "a": actor, "m": merge_credits},
        ))

    def merge_credits_for_push(self, records: Sequence[dict], actor: str) -> dict[str, Any]:
        """The push's credit merge just before it writes: apply_pulled_contacts on HubSpot's
        current records with mockbook.credit_merge = 'push' in the same transaction (nothing
        is queued: the push sends the merged balances itself)."""

        def merge(keep: list[dict]) -> dict[str, Any]:
            with self.db.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT set_config('mockbook.credit_merge', 'push', true)")
                row = conn.execute(
                    "SELECT mockbook_internal.apply_pulled_contacts(p_contacts => %(r)s, "
                    "p_actor => %(a)s, p_merge_credits => true) AS result",
                    {"r": Jsonb(keep), "a": actor},
                ).fetchone()
            return row["result"]

        return self._screened(CONTACTS_TABLE, records, merge)

    def relink_contact(
        self, contact_id: uuid.UUID | str, hubspot_id: str | None, reason: str
    ) -> dict:
        return self._one(
            "SELECT mockbook_internal.relink_contact(p_contact_id => %(c)s, p_hubspot_id => %(h)s, "
            "p_reason => %(r)s)",
            {"c": str(contact_id), "h": hubspot_id, "r": reason},
        )

    def contacts_linked_to(self, hubspot_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The local contacts (id, hubspot_id, student_id) linked to any of these HubSpot
        ids."""
        return self._rows(
            "SELECT id, hubspot_id, student_id FROM hubspot_sync.hubspot_contact_credits "
            "WHERE hubspot_id = ANY(%(h)s)",
            {"h": list(hubspot_ids)},
        )

    def apply_prerequisites(self, lists: dict[str, list[str]], actor: str) -> dict[str, Any]:
        """{exam hubspot id: complete list of prerequisite exam ids} read from HubSpot."""
        return self._one(
            "SELECT mockbook_internal.apply_pulled_prerequisites(p_prerequisites => %(p)s, "
            "p_actor => %(a)s)",
            {"p": Jsonb(lists), "a": actor},
        )

    def apply_bookings(self, records: Sequence[dict], actor: str) -> dict[str, Any]:
        return self._screened(BOOKINGS_TABLE, records, lambda keep: self._one(
            "SELECT mockbook_internal.apply_pulled_bookings(p_bookings => %(r)s, p_actor => %(a)s)",
            {"r": Jsonb(keep), "a": actor},
        ))

    def activate_due_exams(self, actor: str) -> int:
        return self._one(
            "SELECT mockbook_internal.activate_due_exams(p_actor => %(a)s)", {"a": actor}
        )

    def recheck_ids(self, entity_type: str, since: Any) -> list[str]:
        rows = self._rows(
            "SELECT id FROM mockbook_internal.pull_recheck_ids("
            "p_entity_type => %(t)s, p_since => %(s)s) AS id",
            {"t": entity_type, "s": since},
        )
        return [r["id"] for r in rows]

    def note_pull_error(self, table: str, hubspot_id: str, error: str, payload: Any) -> None:
        with self.db.pool.connection() as conn:
            conn.execute(
                "SELECT mockbook_internal.note_pull_outcome(p_entity_type => %(t)s, "
                "p_entity_id => %(i)s, p_error => %(e)s, p_payload => %(p)s)",
                {"t": table, "i": hubspot_id, "e": error, "p": Jsonb(payload)},
            )

    def close_busy_letters(self, table: str, hubspot_ids: Sequence[str]) -> int:
        """Close the open BUSY pull dead letters of these records (read again and not busy,
        or gone from HubSpot: nothing is left to read again); the number closed."""
        if not hubspot_ids:
            return 0
        rows = self._rows(
            "SELECT mockbook_internal.note_pull_outcome(p_entity_type => e.entity_type, "
            "p_entity_id => e.entity_id, p_error => NULL) "
            "FROM hubspot_sync.sync_errors AS e WHERE e.direction = 'pull' AND NOT e.resolved "
            "AND e.entity_type = %(t)s AND e.entity_id = ANY(%(i)s) AND e.error LIKE 'BUSY:%%'",
            {"t": table, "i": list(hubspot_ids)},
        )
        return len(rows)

    # ---- cursors and runs ---------------------------------------------------------------------
    def now(self) -> datetime:
        """The database's time: what the pull compares with the database's own times (a pass's
        start, the dead letters resolved since), so no glue host's clock enters."""
        return self._one("SELECT pg_catalog.now() AS now", {})

    def get_cursor(self, sync_type: str) -> dict[str, Any]:
        return self._one(
            "SELECT mockbook_internal.get_sync_cursor(p_sync_type => %(t)s)", {"t": sync_type}
        )

    def save_cursor(self, sync_type: str, cursor: dict[str, Any]) -> None:
        with self.db.pool.connection() as conn:
            conn.execute(
                "SELECT mockbook_internal.save_sync_cursor("
                "p_sync_type => %(t)s, p_cursor => %(c)s)",
                {"t": sync_type, "c": Jsonb(cursor)},
            )

    def record_run(self, sync_type: str, status: str, records: int, error: str | None) -> None:
        self.db.record_sync_run(sync_type, status, records, error)

    # ---- reconcile ----------------------------------------------------------------------------
    def local_state(self, table: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT record_id, hubspot_id, state "
            "FROM mockbook_internal.reconcile_state(p_table => %(t)s)",
            {"t": table},
        )

    def waiting_records(
        self, table: str, record_ids: Iterable[uuid.UUID | str]
    ) -> dict[str, set[str]]:
        """{record id: the columns its outbox rows still to push change (every column for a
        new record's)} of those of ``record_ids`` that have such rows (not done, not
        dead-lettered): what the next push writes. One index range per record
        (idx_sync_queue_by_record)."""
        ids = [str(i) for i in record_ids]
        if not ids:
            return {}
        rows = self._rows(
            "SELECT q.record_id::text AS id, q.operation, q.old_data, q.new_data "
            "FROM hubspot_sync.sync_queue AS q WHERE q.table_name = %(t)s "
            "AND q.record_id = ANY (%(ids)s::uuid[]) AND q.done_at IS NULL AND q.dead_at IS NULL",
            {"t": table, "ids": ids},
        )
        out: dict[str, set[str]] = {}
        for row in rows:
            old, new = row["old_data"] or {}, row["new_data"] or {}
            changed = {k for k in {*old, *new} if old.get(k) != new.get(k)}
            if row["operation"] != "UPDATE" or row["old_data"] is None:
                changed.add("*")  # a new or deleted record: the push writes all of it
            out.setdefault(row["id"], set()).update(changed)
        return out

    def requeue_records(self, table: str, record_ids: Iterable[uuid.UUID | str]) -> int:
        ids = [str(i) for i in record_ids]
        if not ids:
            return 0
        return self._one(
            "SELECT mockbook_internal.requeue_records("
            "p_table => %(t)s, p_record_ids => %(ids)s::uuid[])",
            {"t": table, "ids": ids},
        )

    # ---- audit notes --------------------------------------------------------------------------
    def claim_audit_notes(self, limit: int) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT * FROM mockbook_internal.claim_audit_notes(p_limit => %(n)s)", {"n": limit}
        )

    def mark_audit_notes(self, ids: Iterable[int]) -> int:
        return self._one(
            "SELECT mockbook_internal.mark_audit_notes(p_ids => %(ids)s::bigint[])",
            {"ids": list(ids)},
        )

    @contextmanager
    def notes_lock(self) -> Iterator[bool]:
        """Hold the audit-notes lease for the block, renewed while it runs (yields False when
        another process holds it: then do nothing). A lease row, not an advisory lock: it
        holds no connection and lives on no pooled server connection (glue.db.lease)."""
        lease = Lease(NOTES_LEASE)
        with self.db.pool.connection() as conn:
            mine = lease.take(conn).taken
        if not mine:
            yield False
            return
        try:
            with lease.kept(self.db.pool.connection):
                yield True
        finally:
            try:
                with self.db.pool.connection() as conn:
                    lease.release(conn)
            except Exception as exc:  # the database away: the lease expires by itself
                log.warning("could not give the audit-notes lease back (%s): it expires in "
                            "%.0f s", str(exc).strip().splitlines()[0] if str(exc).strip()
                            else type(exc).__name__, lease.seconds)
