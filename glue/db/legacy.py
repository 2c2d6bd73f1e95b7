"""After the adoption: the legacy data the old apps left (`mockbook adoption list | resolve`),
and what the rollback to the production schema would stop on now."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row

from glue.db import migrations
from glue.db.adoption import ADOPTION, migrations_module

RESOLVE_ACTOR = "mockbook adoption resolve"


def legacy_items(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """check_invariants' legacy_* rows: {kind, subject, detail}."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT invariant AS kind, subject, detail FROM mockbook_internal.check_invariants()"
            " WHERE invariant LIKE 'legacy\\_%' ORDER BY 1, 2").fetchall()


def legacy_duplicates(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The flagged duplicates still Active, the earliest exam first; upcoming: its day has not
    passed (business time zone)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT b.id::text AS id, b.booking_id, b.student_id, b.mock_type, b.exam_date,"
            "       b.legacy_issue, b.exam_date >= hubspot_sync.business_today() AS upcoming"
            " FROM hubspot_sync.hubspot_bookings AS b"
            " WHERE b.legacy_issue IS NOT NULL AND b.is_active = 'Active'"
            " ORDER BY b.exam_date, b.id").fetchall()


def rollback_refusal(conn: psycopg.Connection) -> dict[str, str | None] | None:
    """What the rollback to the production schema would stop on now ({message, detail,
    hint}), or None: its first check (steps.ROLLBACK_CHECK, which the runner runs before any
    lock, from the adoption's revision or any later one) run as the runner runs it, in a READ
    ONLY transaction rolled back. Below the adoption's revision, or at one this mockbook does
    not know, there is nothing it can check: said as the message."""
    with conn.cursor(row_factory=tuple_row) as cur:
        (current,) = cur.execute("SELECT version_num FROM mockbook.alembic_version").fetchone()
    known = migrations.revisions()
    if current not in known or known.index(current) < known.index(ADOPTION):
        why = ("nothing to roll back" if current in known
               else "a revision this mockbook does not know")
        return {"message": f"not checked: the database is at {current} ({why})",
                "detail": None, "hint": None}
    steps = migrations_module("steps")
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute(steps.text_of(steps.ROLLBACK_CHECK))
    except psycopg.errors.ObjectNotInPrerequisiteState as exc:
        return {"message": exc.diag.message_primary, "detail": exc.diag.message_detail,
                "hint": exc.diag.message_hint}
    return None


def cancel_duplicate(conn: psycopg.Connection, dup: dict[str, Any]) -> dict[str, Any]:
    """A flagged duplicate cancelled and refunded as an admin would (cancel_booking, one
    transaction; keyed, so running it again replays). A documented refusal (cancelled meanwhile,
    BUSY) is returned as the outcome."""
    kept = dup["legacy_issue"].removeprefix("duplicate of ")
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            result = cur.execute(
                "SELECT hubspot_sync.cancel_booking(p_booking_id := %s, p_refund := true,"
                " p_reason := %s, p_actor := %s, p_idempotency_key := %s) AS result",
                (dup["id"], f"legacy duplicate of {kept}", RESOLVE_ACTOR,
                 f"legacy-duplicate-{dup['id']}")).fetchone()["result"]
        return {"outcome": "cancelled", "credits_restored": result.get("credits_restored"),
                "credit_field": result.get("credit_field")}
    except psycopg.Error as exc:
        return {"outcome": exc.diag.message_primary or exc.sqlstate,
                "detail": exc.diag.message_detail}
