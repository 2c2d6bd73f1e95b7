"""The invariants of the data model, checked from Python after concurrency and property tests.

    snap = snapshot(conn)          # before the work (while nothing else is running)
    ...                            # concurrent calls
    check_invariants(conn, snap)   # raises InvariantViolation listing every broken rule

The checks are the database's own, mockbook_internal.check_invariants() (db/functions/
check_invariants.sql: the one implementation, also behind `mockbook status --check`, the demo
and the benchmarks); this module only supplies its snapshot:
1. for every exam, total_bookings = the number of its bookings with is_active = 'Active';
2. for every contact of the snapshot and every credit field, balance = snapshot balance + the sum
   of the ledger deltas written since the snapshot, and the ledger rows since then chain up
   (each balance_after = previous balance + delta, in ledger id order);
3. no balance is negative (every contact);
4. every Active booking an RPC made has a credit_ledger 'booking' row, unless token_used =
   'Admin Override' (an admin booking spends no credit). A rebooked booking may instead carry a
   'rebook' row: the credit moved with it.

Contacts created after the snapshot are covered by their ledger chain, 3 and 4 only: their
starting balance is unknown. Take the snapshot when no transaction is writing credits: a ledger
id handed out before the snapshot but committed after it would be missed.

A violation that already existed when the snapshot was taken (left by an earlier test that
failed for it) is remembered in the snapshot and not reported again, so one broken test does not
fail every later one; `violations(..., include_known=True)` lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb


class InvariantViolation(AssertionError):
    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        shown = violations[:50]
        more = f"\n  ... and {len(violations) - 50} more" if len(violations) > 50 else ""
        super().__init__(f"{len(violations)} invariant violation(s):\n  "
                         + "\n  ".join(shown) + more)


@dataclass(frozen=True)
class Snapshot:
    balances: dict[str, dict[str, int]]  # contact id -> {credit field: balance}
    max_ledger_id: int
    known: frozenset[str] = frozenset()  # violations already present at snapshot time


# the violations; check_invariants' legacy_* rows (adopted data, listed) are not (legacy())
_CHECK = ("SELECT i.invariant || ': ' || i.subject || ': ' || i.detail"
          " FROM mockbook_internal.check_invariants(%s, %s) AS i"
          " WHERE i.invariant NOT LIKE 'legacy\\_%%'")


def legacy(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """check_invariants' legacy_* rows: what the adoption took over as the old apps left it."""
    return [tuple(r) for r in conn.execute(
        "SELECT invariant, subject, detail FROM mockbook_internal.check_invariants()"
        " WHERE invariant LIKE 'legacy\\_%'")]


def snapshot(conn: psycopg.Connection) -> Snapshot:
    """Every contact's balances, the highest ledger id and the violations already present, read
    in one transaction."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        (balances,) = conn.execute(
            """SELECT coalesce(jsonb_object_agg(c.id, mockbook_internal.credit_balances(c)), '{}')
               FROM hubspot_sync.hubspot_contact_credits AS c""").fetchone()
        max_id = conn.execute(
            "SELECT coalesce(max(id), 0) FROM hubspot_sync.credit_ledger").fetchone()[0]
        known = frozenset(r[0] for r in conn.execute(_CHECK, (None, None)))
    return Snapshot(balances, max_id, known)


def violations(conn: psycopg.Connection, snap: Snapshot, include_known: bool = False,
               ) -> list[str]:
    """Every broken invariant as a readable line (empty list: all hold)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        found = [r[0] for r in conn.execute(_CHECK, (Jsonb(snap.balances), snap.max_ledger_id))]
        disappeared = conn.execute(
            """SELECT s.id FROM jsonb_object_keys(%s::jsonb) AS s(id)
               WHERE NOT EXISTS (SELECT FROM hubspot_sync.hubspot_contact_credits AS c
                                 WHERE c.id::text = s.id) ORDER BY 1""",
            (Jsonb(snap.balances),)).fetchall()
    found += [f"contact {cid}: disappeared since the snapshot" for (cid,) in disappeared]
    return [v for v in found if include_known or v not in snap.known]


def check_invariants(conn: psycopg.Connection, snap: Snapshot) -> None:
    """Raise InvariantViolation (an AssertionError) listing every broken invariant."""
    found = violations(conn, snap)
    if found:
        raise InvariantViolation(found)


def table_digests(conn: psycopg.Connection) -> dict[str, str]:
    """A fingerprint of every hubspot_sync table's full contents (row count and the sum of a
    64-bit hash of each row's text: order-independent, no sort), to prove that a failed call
    changed nothing. Table names come from the catalog, never from a caller."""
    names = [r[0] for r in conn.execute(
        """SELECT c.relname FROM pg_catalog.pg_class AS c
           JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
           WHERE n.nspname = 'hubspot_sync' AND c.relkind IN ('r', 'p')
           ORDER BY 1""")]
    parts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {name}, count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)"
                " FROM hubspot_sync.{table} AS t").format(
            name=sql.Literal(name), table=sql.Identifier(name))
        for name in names)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return {name: f"{count}:{digest}" for name, count, digest in conn.execute(parts)}


def table_versions(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """A cheap stand-in for table_digests when it runs around every call: per hubspot_sync table,
    the row count and the newest visible row version (max xmin). Any committed insert or update
    makes a row version with a newer transaction id; a delete lowers the count. So equal values
    before and after a failed call prove it committed no change, without hashing every row.
    (Transaction ids only grow within a test run; wraparound is billions of transactions away.)"""
    names = [r[0] for r in conn.execute(
        """SELECT c.relname FROM pg_catalog.pg_class AS c
           JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
           WHERE n.nspname = 'hubspot_sync' AND c.relkind IN ('r', 'p')
           ORDER BY 1""")]
    parts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {name}, count(*), coalesce(max(t.xmin::text::bigint), 0)"
                " FROM hubspot_sync.{table} AS t").format(
            name=sql.Literal(name), table=sql.Identifier(name))
        for name in names)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return {name: (count, newest) for name, count, newest in conn.execute(parts)}
