"""The glue's one seam to the database: a small class over a psycopg connection pool whose
methods call the glue's functions by name (schema mockbook_internal; the SQL itself lives in
db/functions/).

Connections are autocommit: each method is one function call, so one transaction, exactly as the
functions are documented (complete_sync_batch marks rows done and writes HubSpot ids back in one
transaction). The glue connects as the DATABASE_URL user: a login role granted mockbook_glue
(docs/dba.md, Roles), which may call these functions but write no table itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from glue import lifecycle
from glue.db import runs
from glue.db.connection import GlueConnection, GluePool, connect, pool_kwargs, pool_size
from glue.db.status import data_problem_rows
from glue.hubspot import wire

SYNCED_TABLES = ("hubspot_bookings", "hubspot_contact_credits", "hubspot_mock_exams")
_FAIL_SYNC_ROWS = (
    "SELECT mockbook_internal.fail_sync_rows("
    "p_worker => %(w)s, p_ids => %(ids)s::bigint[], p_error => %(e)s, "
    "p_max_attempts => %(m)s, p_retry_after_seconds => %(r)s, "
    "p_count_attempt => %(c)s)"
)


class Database:
    """``Database(url)``; ``close()`` (or use as a context manager) when done."""

    # max_size 4: the push uses up to four at once (its main thread, two contact merges, the
    # write-backs: glue.sync.push); a pool opens them only when they are used at once.
    # ``wait_seconds``: how long a call waits for a connection (psycopg_pool's default, 30 s,
    # unless a caller must answer sooner: the webhook intake); ``connect_timeout``: libpq's, for
    # each new connection (unset: the URL's, or none).
    def __init__(
        self,
        url: str,
        *,
        max_size: int = 4,
        application_name: str = "mockbook",
        wait_seconds: float = 30.0,
        connect_timeout: int | None = None,
    ) -> None:
        self.url = url
        # no server-side prepared statements: the connection may pass through a transaction-mode
        # pooler (glue.db.connection)
        kwargs: dict[str, Any] = pool_kwargs(
            autocommit=True, row_factory=dict_row, application_name=application_name
        )
        if connect_timeout is not None:
            kwargs["connect_timeout"] = connect_timeout
        self.pool = GluePool(  # a stop ends its waits for a connection (glue.db.connection)
            url,
            min_size=1,
            max_size=pool_size(max_size),  # within MOCKBOOK_DATABASE_CONNECTIONS
            connection_class=GlueConnection,  # counted in the process's budget
            kwargs=kwargs,
            timeout=wait_seconds,
            open=True,
            name="mockbook",
            configure=lifecycle.track,  # a stop cancels the statement in hand (glue.lifecycle)
        )

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            return conn.execute(query, params).fetchall()

    def _one(self, query: str, params: dict[str, Any]) -> Any:
        with self.pool.connection() as conn:
            row = conn.execute(query, params).fetchone()
        return None if row is None else next(iter(row.values()))

    def ping(self) -> None:
        """One round trip (raises psycopg.OperationalError, or PoolTimeout, when the database
        does not answer)."""
        with self.pool.connection() as conn:
            conn.execute("SELECT 1")

    def probe(self, *, connect_timeout: int) -> None:
        """Open and close a new connection, outside the pool: raises psycopg.OperationalError
        while the database accepts none."""
        with connect(self.url, connect_timeout=connect_timeout, autocommit=True):
            pass

    def data_problems(self) -> list[str]:
        """What admins must look at (time problems, booking conflicts, legacy data): one line
        each, as `mockbook status` lists them."""
        with self.pool.connection() as conn:
            return data_problem_rows(conn)

    # ---- the outbox --------------------------------------------------------------------------
    def claim_sync_batch(self, worker: str, limit: int, lease_seconds: int) -> list[dict]:
        """Lease up to ``limit`` due outbox rows (and the other pending rows of their records)."""
        return self._rows(
            "SELECT * FROM mockbook_internal.claim_sync_batch("
            "p_worker => %(w)s, p_limit => %(n)s, p_lease_seconds => %(l)s)",
            {"w": worker, "n": limit, "l": lease_seconds},
        )

    def push_state(self, table: str, record_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict]:
        """The current rows (as dicts) of the given records of one table; deleted ones absent."""
        ids = list(record_ids)
        if not ids:
            return {}
        rows = self._rows(
            "SELECT record_id, state FROM mockbook_internal.push_state("
            "p_table => %(t)s, p_record_ids => %(ids)s::uuid[])",
            {"t": table, "ids": ids},
        )
        return {r["record_id"]: r["state"] for r in rows}

    def complete_sync_batch(
        self,
        worker: str,
        row_ids: Iterable[int],
        hubspot_ids: dict[str, dict[str, str]],
        hubspot_modified: dict[str, int] | None = None,
    ) -> int:
        """Mark rows done and write HubSpot ids back ({table: {record uuid: hubspot id}}), and
        the HubSpot modification time of each exam written ({exam uuid: epoch ms})."""
        return self._one(
            "SELECT mockbook_internal.complete_sync_batch("
            "p_worker => %(w)s, p_ids => %(ids)s::bigint[], p_hubspot_ids => %(h)s, "
            "p_hubspot_modified => %(m)s)",
            {"w": worker, "ids": list(row_ids), "h": Jsonb(hubspot_ids),
             "m": Jsonb(hubspot_modified or {})},
        )

    def fail_sync_rows(
        self,
        worker: str,
        row_ids: Iterable[int],
        error: str,
        *,
        max_attempts: int,
        retry_after: float | None = None,
        count_attempt: bool = True,
    ) -> dict[str, int]:
        """Release failed rows with backoff (or after ``retry_after``); dead-letter after N."""
        return self._one(
            _FAIL_SYNC_ROWS,
            {
                "w": worker,
                "ids": list(row_ids),
                "e": error[:2000],
                "m": max_attempts,
                "r": retry_after,
                "c": count_attempt,
            },
        )

    def give_back_leases(self, worker: str, reason: str, *, max_attempts: int) -> int:
        """Every open outbox row ``worker`` still leases, given back at once (due now, no
        attempt counted); how many. For a push that was stopped, or whose process is gone. On
        a connection of its own, outside the pool: the one statement a stop does not cancel
        (glue.lifecycle)."""
        with connect(self.url, autocommit=True, connect_timeout=10) as conn:
            ids = runs.leased_row_ids(conn, worker)
            if ids:
                conn.execute(_FAIL_SYNC_ROWS, {"w": worker, "ids": ids, "e": reason[:2000],
                                               "m": max_attempts, "r": 0, "c": False})
        return len(ids)

    def sync_queue_next_due(self) -> float | None:
        """Seconds until a pending row can be claimed (0: now), or None when nothing is pending."""
        value = self._one("SELECT mockbook_internal.sync_queue_next_due()", {})
        return None if value is None else float(value)

    def requeue_for_push(self, table: str | None = None, exam_hubspot_id: str | None = None) -> int:
        """Queue the current state of every record (or of one exam and its bookings)."""
        return self._one(
            "SELECT mockbook_internal.requeue_for_push("
            "p_table => %(t)s, p_exam_hubspot_id => %(e)s)",
            {"t": table, "e": exam_hubspot_id},
        )

    def record_credit_push(self, credits: dict[str, dict[str, int]], *, sent: bool) -> int:
        """Tell the credit merge what the push writes into HubSpot ({contact uuid: {field:
        value}}): before the call (``sent=False``: contact_credit_sync.pushing, which the
        write-back of complete_sync_batch turns into the last synced values), or once HubSpot
        accepted it (``sent=True``)."""
        if not credits:
            return 0
        return self._one(
            "SELECT mockbook_internal.record_credit_push(p_credits => %(c)s, p_sent => %(s)s)",
            {"c": Jsonb(credits), "s": sent},
        )

    # ---- dead letters ------------------------------------------------------------------------
    def list_dead_letters(self, *, include_resolved: bool = False, limit: int = 1000) -> list[dict]:
        return self._rows(
            "SELECT * FROM mockbook_internal.list_dead_letters("
            "p_include_resolved => %(r)s, p_limit => %(n)s)",
            {"r": include_resolved, "n": limit},
        )

    def resolve_dead_letters(
        self, action: str, error_ids: list[int] | None, actor: str | None = None
    ) -> dict:
        return self._one(
            "SELECT mockbook_internal.resolve_dead_letters("
            "p_action => %(a)s, p_error_ids => %(ids)s::bigint[], p_actor => %(who)s)",
            {"a": action, "ids": error_ids, "who": actor},
        )

    # ---- bookkeeping -------------------------------------------------------------------------
    def record_sync_run(
        self, sync_type: str, status: str, records: int, error: str | None = None
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "SELECT mockbook_internal.record_sync_run("
                "p_sync_type => %(t)s, p_status => %(s)s, p_records => %(n)s, p_error => %(e)s)",
                {"t": sync_type, "s": status, "n": records, "e": error},
            )

    # ---- webhook events ----------------------------------------------------------------------
    def store_webhook_events(self, events: list[dict[str, Any]]) -> dict[str, int]:
        """Store one delivery of HubSpot webhook events (the intake's one call). A value the
        database cannot store (a NUL in a ``propertyValue``) is stored with a visible mark: the
        processor reads the record itself again, and its screen refuses it (glue.hubspot.wire)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT mockbook_internal.store_webhook_events(p_events => %(e)s) AS r",
                {"e": Jsonb(wire.storable(events, preview=None))},
            ).fetchone()
        return dict(row["r"])

    def claim_webhook_events(self, limit: int, lease_seconds: float) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            return conn.execute(
                "SELECT * FROM mockbook_internal.claim_webhook_events("
                "p_limit => %(n)s, p_lease_seconds => %(l)s)",
                {"n": limit, "l": lease_seconds},
            ).fetchall()

    def finish_webhook_events(
        self, ids: Iterable[int], error: str | None, max_attempts: int
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "SELECT mockbook_internal.finish_webhook_events(p_ids => %(ids)s::bigint[], "
                "p_error => %(e)s, p_max_attempts => %(m)s)",
                {"ids": list(ids), "e": error, "m": max_attempts},
            )

    # ---- refresh requests (glue.sync.refresh) ------------------------------------------------
    def refresh_high_water(self) -> int:
        """The last refresh request's id handed out (no lock: a sequence's last value); the
        refresh lane claims when it moved."""
        return int(self._one(
            "SELECT coalesce(pg_catalog.pg_sequence_last_value("
            "'hubspot_sync.refresh_requests_id_seq'), 0) AS n", {}))

    def claim_refresh_requests(self, worker: str, limit: int,
                               lease_seconds: int) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT * FROM mockbook_internal.claim_refresh_requests("
            "p_worker => %(w)s, p_limit => %(n)s, p_lease_seconds => %(l)s)",
            {"w": worker, "n": limit, "l": lease_seconds})

    def finish_refresh_requests(self, worker: str, results: list[dict[str, Any]]) -> int:
        """Write each request's outcome ({id, outcome, detail})."""
        return int(self._one(
            "SELECT mockbook_internal.finish_refresh_requests(p_worker => %(w)s,"
            " p_results => %(r)s) AS n", {"w": worker, "r": Jsonb(results)}))

    def booking_ids_by_hubspot_id(self, hubspot_ids: list[str]) -> list[uuid.UUID]:
        """The local ids of the bookings with these HubSpot ids."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT id FROM hubspot_sync.hubspot_bookings WHERE hubspot_id = ANY(%s)",
                (hubspot_ids,),
            ).fetchall()
        return [r["id"] for r in rows]
