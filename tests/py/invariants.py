"""The invariants of SPEC §3, checked from Python after concurrency and property tests.

    snap = snapshot(conn)          # before the work (while nothing else is running)
    ...                            # concurrent calls
    check_invariants(conn, snap)   # raises InvariantViolation listing every broken rule

Checked:
1. for every exam, total_bookings = the number of its bookings with is_active = 'Active';
2. for every contact of the snapshot and every credit field, balance = snapshot balance + the sum
   of the ledger deltas written since the snapshot, and the ledger rows since then chain up
   (each balance_after = previous balance + delta, in ledger id order);
3. no balance is negative (every contact);
4. every Active booking has a credit_ledger 'booking' row, unless token_used = 'Admin Override'
   (an admin booking spends no credit). A rebooked booking may instead carry a 'rebook' row:
   the credit moved with it.

Contacts created after the snapshot are covered by 1, 3 and 4 only: their starting balance is
unknown. Take the snapshot when no transaction is writing credits: a ledger id handed out before
the snapshot but committed after it would be missed.

Checks 1, 3 and 4 look at the whole database. A violation that already existed when the snapshot
was taken (left by an earlier test that failed for it) is remembered in the snapshot and not
reported again, so one broken test does not fail every later one; `violations(...,
include_known=True)` lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

CREDIT_FIELDS = ("sj_credits", "cs_credits", "sjmini_credits", "mock_discussion_token",
                 "shared_mock_credits")


class InvariantViolation(AssertionError):
    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        shown = violations[:50]
        more = f"\n  ... and {len(violations) - 50} more" if len(violations) > 50 else ""
        super().__init__(f"{len(violations)} invariant violation(s):\n  "
                         + "\n  ".join(shown) + more)


@dataclass(frozen=True)
class Snapshot:
    balances: dict[tuple[str, str], int]  # (contact id, credit field) -> balance
    max_ledger_id: int
    known: frozenset[str] = frozenset()  # global violations already present at snapshot time


_BALANCES = """
    SELECT c.id::text, f.field, f.balance
    FROM hubspot_sync.hubspot_contact_credits AS c
    CROSS JOIN LATERAL (VALUES
        ('sj_credits', coalesce(c.sj_credits, 0)),
        ('cs_credits', coalesce(c.cs_credits, 0)),
        ('sjmini_credits', coalesce(c.sjmini_credits, 0)),
        ('mock_discussion_token', coalesce(c.mock_discussion_token, 0)),
        ('shared_mock_credits', coalesce(c.shared_mock_credits, 0))
    ) AS f(field, balance)
"""


def snapshot(conn: psycopg.Connection) -> Snapshot:
    """Every contact's balances, the highest ledger id and the global violations already
    present, read in one transaction."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = conn.execute(_BALANCES).fetchall()
        max_id = conn.execute(
            "SELECT coalesce(max(id), 0) FROM hubspot_sync.credit_ledger").fetchone()[0]
        known = frozenset(_global_violations(conn))
    return Snapshot({(cid, field): bal for cid, field, bal in rows}, max_id, known)


def _global_violations(conn: psycopg.Connection) -> list[str]:
    """Checks 1, 3 and 4: they need no starting point."""
    found = []
    for exam, total, active in conn.execute("""
            SELECT e.hubspot_id, e.total_bookings, count(b.id)
            FROM hubspot_sync.hubspot_mock_exams AS e
            LEFT JOIN hubspot_sync.hubspot_bookings AS b
                   ON b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active'
            GROUP BY e.hubspot_id, e.total_bookings
            HAVING e.total_bookings IS DISTINCT FROM count(b.id)
            ORDER BY 1"""):
        found.append(f"exam {exam}: total_bookings {total} but {active} Active bookings")
    for cid, field, bal in conn.execute(_BALANCES + " ORDER BY 1, 2"):
        if bal < 0:
            found.append(f"contact {cid} {field}: negative balance {bal}")
    for bid, code, token in conn.execute("""
            SELECT b.id::text, b.booking_id, b.token_used
            FROM hubspot_sync.hubspot_bookings AS b
            WHERE b.is_active = 'Active'
              AND b.token_used IS DISTINCT FROM 'Admin Override'
              AND NOT EXISTS (
                  SELECT FROM hubspot_sync.credit_ledger AS l
                  WHERE l.booking_id = b.id AND l.reason IN ('booking', 'rebook'))
            ORDER BY 2"""):
        found.append(f"booking {code} ({bid}, token {token!r}): Active but no credit_ledger "
                     "'booking' row (nothing shows which credit paid for it)")
    return found


def violations(conn: psycopg.Connection, snap: Snapshot, include_known: bool = False,
               ) -> list[str]:
    """Every broken invariant as a readable line (empty list: all hold)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        found = [v for v in _global_violations(conn) if include_known or v not in snap.known]

        current = {(cid, field): bal for cid, field, bal in conn.execute(_BALANCES)}
        ledger: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
        for lid, cid, field, delta, after in conn.execute(
                """SELECT id, contact_id::text, credit_field, delta, balance_after
                   FROM hubspot_sync.credit_ledger WHERE id > %s ORDER BY id""",
                (snap.max_ledger_id,)):
            ledger.setdefault((cid, field), []).append((lid, delta, after))

        for key, start in sorted(snap.balances.items()):
            cid, field = key
            if key not in current:
                found.append(f"contact {cid}: disappeared since the snapshot")
                continue
            rows = ledger.get(key, [])
            expected = start + sum(delta for _, delta, _ in rows)
            if current[key] != expected:
                found.append(f"contact {cid} {field}: balance {current[key]}, but snapshot "
                             f"{start} + ledger {expected - start:+d} = {expected}")
            running = start
            for lid, delta, after in rows:
                running += delta
                if after != running:
                    found.append(f"contact {cid} {field}: ledger row {lid} says balance_after "
                                 f"{after}, the chain gives {running}")
                    break
    return found


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
