"""`mockbook adoption list | resolve`: what the adoption took over as the old apps left it.

An adopted production database keeps the old apps' data as it was (README, "An existing
production database"): duplicate Active bookings of one student, type and day (the later ones
flagged), exams over capacity, booking codes that break the code rule, exam times nothing can
read. check_invariants() lists them as legacy_* rows while they still are so; `list` prints
them, `resolve` settles what the database can settle:

- a flagged duplicate whose exam day has not passed is cancelled, its credit refunded through
  the ledger (hubspot_sync.cancel_booking as an admin: reason "legacy duplicate of <code>",
  key legacy-duplicate-<id>, so a second run replays instead of refunding twice); the booking
  kept is the earlier one. One whose day has passed is left for an admin (mark attendance);
- the others need no change or a person: an over-capacity exam takes no booking until under
  capacity (cancel with cancel_booking to bring it down), a legacy code still resolves, a time
  is fixed in HubSpot (the next pull clears it).

`resolve` is a dry run unless --apply is given.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import psycopg
from psycopg.rows import dict_row

from glue import exitcodes
from glue.cli import AppContext, redact

pass_app = click.make_pass_decorator(AppContext)
ACTOR = "mockbook adoption resolve"

LEGACY_SQL = ("SELECT invariant AS kind, subject, detail FROM mockbook_internal.check_invariants()"
              " WHERE invariant LIKE 'legacy\\_%' ORDER BY 1, 2")
DUPLICATES_SQL = """
SELECT b.id::text AS id, b.booking_id, b.student_id, b.mock_type, b.exam_date, b.legacy_issue,
       b.exam_date >= hubspot_sync.business_today() AS upcoming
FROM hubspot_sync.hubspot_bookings AS b
WHERE b.legacy_issue IS NOT NULL AND b.is_active = 'Active'
ORDER BY b.exam_date, b.id
"""


def _legacy(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(LEGACY_SQL).fetchall()


@click.group("adoption")
def adoption_group() -> None:
    """What the adoption took over as the old apps left it: list it, resolve it."""


@adoption_group.command("list")
@pass_app
def list_command(app: AppContext) -> None:
    """List the legacy data still present (check_invariants' legacy_* rows)."""
    url = app.database_url()
    rows = _legacy(url)
    if app.json_output:
        click.echo(json.dumps({"database": redact(url), "legacy": rows}, default=str))
        return
    for row in rows:
        click.echo(f"{row['kind']:22} {row['subject']}: {row['detail']}")
    click.echo(f"{len(rows)} legacy item(s)")


def _cancel(conn: psycopg.Connection, dup: dict[str, Any]) -> dict[str, Any]:
    """The flagged booking cancelled and refunded as an admin would, one transaction."""
    kept = dup["legacy_issue"].removeprefix("duplicate of ")
    try:
        with conn.transaction():
            result = conn.execute(
                "SELECT hubspot_sync.cancel_booking(p_booking_id := %s, p_refund := true,"
                " p_reason := %s, p_actor := %s, p_idempotency_key := %s) AS result",
                (dup["id"], f"legacy duplicate of {kept}", ACTOR,
                 f"legacy-duplicate-{dup['id']}")).fetchone()["result"]
        return {"outcome": "cancelled", "credits_restored": result.get("credits_restored"),
                "credit_field": result.get("credit_field")}
    except psycopg.Error as exc:
        # a documented answer (cancelled meanwhile, busy): reported, the others go on
        return {"outcome": exc.diag.message_primary or exc.sqlstate,
                "detail": exc.diag.message_detail}


@adoption_group.command("resolve")
@click.option("--apply", "apply_changes", is_flag=True,
              help="Make the changes (without it: a dry run that says what it would do).")
@pass_app
def resolve_command(app: AppContext, apply_changes: bool) -> None:
    """Cancel (and refund) the later booking of each legacy duplicate pair; list the rest.

    A dry run unless --apply. Exit 1 when a cancellation was refused (e.g. BUSY: run again)."""
    url = app.database_url()
    actions: list[dict[str, Any]] = []
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        for dup in conn.execute(DUPLICATES_SQL).fetchall():
            action = {"booking": dup["booking_id"], "id": dup["id"],
                      "student_id": dup["student_id"], "mock_type": dup["mock_type"],
                      "exam_date": str(dup["exam_date"]), "issue": dup["legacy_issue"]}
            if not dup["upcoming"]:
                action["outcome"] = "left: its exam day has passed (mark attendance instead)"
            elif apply_changes:
                action.update(_cancel(conn, dup))
            else:
                action["outcome"] = "would cancel and refund"
            actions.append(action)
        others = [r for r in conn.execute(LEGACY_SQL).fetchall()
                  if r["kind"] != "legacy_duplicate"]
    failed = [a for a in actions if a["outcome"] not in (
        "cancelled", "would cancel and refund", "ALREADY_CANCELLED")
        and not a["outcome"].startswith("left:")]
    if app.json_output:
        click.echo(json.dumps({"database": redact(url), "applied": apply_changes,
                               "duplicates": actions, "other_legacy": others}, default=str))
    else:
        for a in actions:
            click.echo(f"{a['booking']} ({a['student_id']}, {a['mock_type']}, {a['exam_date']};"
                       f" {a['issue']}): {a['outcome']}")
        for r in others:
            click.echo(f"{r['kind']} {r['subject']}: {r['detail']} (no change: see "
                       "`mockbook adoption --help`)")
        click.echo(("" if apply_changes else "dry run (add --apply to make the changes): ")
                   + f"{len(actions)} duplicate(s), {len(others)} other legacy item(s)")
    if failed:
        sys.exit(exitcodes.PARTIAL_FAILURE)


COMMANDS = [adoption_group]
