"""`mockbook adoption list | resolve`: what the adoption took over as the old apps left it.

check_invariants() lists it (legacy_* rows) while it is still so: `list` prints it; `resolve`
cancels, with its refund through the ledger, the later booking of each duplicate pair whose
exam day has not passed (with --past: of every pair; cancel_booking as an admin, key
legacy-duplicate-<id>: a second run refunds nothing) and lists
the rest with what to do (docs/dba.md, "Legacy data"). `resolve` is a dry run unless --apply is
given.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from psycopg.rows import dict_row

from glue import exitcodes
from glue.cli import AppContext, redact
from glue.db import legacy
from glue.db.connection import connect

pass_app = click.make_pass_decorator(AppContext)


@click.group("adoption")
def adoption_group() -> None:
    """What the adoption took over as the old apps left it: list it, resolve it."""


@adoption_group.command("list")
@pass_app
def list_command(app: AppContext) -> None:
    """List the legacy data still present (check_invariants' legacy_* rows), and what the
    rollback to the production schema would stop on now (its own first check, run read-only)."""
    url = app.database_url()
    with connect(url, row_factory=dict_row) as conn:
        rows = legacy.legacy_items(conn)
        refusal = legacy.rollback_refusal(conn)
    if app.json_output:
        click.echo(json.dumps({"database": redact(url), "legacy": rows, "rollback": refusal},
                              default=str))
        return
    for row in rows:
        click.echo(f"{row['kind']:22} {row['subject']}: {row['detail']}")
    click.echo(f"{len(rows)} legacy item(s)")
    if refusal is not None and refusal["message"].startswith("not checked"):
        click.echo(f"the rollback's first check: {refusal['message']}")
    elif refusal is None:
        click.echo("the rollback's first check (alembic downgrade 0001_baseline) finds nothing "
                   "to refuse; a later step can still stop it, changing nothing (docs/dba.md, "
                   "Rolling back)")
    else:
        click.echo("the rollback (alembic downgrade 0001_baseline) would stop, changing nothing: "
                   + "\n".join(part for part in refusal.values() if part))


@adoption_group.command("resolve")
@click.option("--apply", "apply_changes", is_flag=True,
              help="Make the changes (without it: a dry run that says what it would do).")
@click.option("--past", "include_past", is_flag=True,
              help="Also the pairs whose exam day has passed (a school that wants every pair"
                   " cleaned; the rollback does not need it).")
@pass_app
def resolve_command(app: AppContext, apply_changes: bool, include_past: bool) -> None:
    """Cancel (and refund) the later booking of each legacy duplicate pair; list the rest.

    Pairs whose exam day has passed are left unless --past. A dry run unless --apply. Exit 1
    when a cancellation was refused (e.g. BUSY: run again)."""
    url = app.database_url()
    actions: list[dict[str, Any]] = []
    with connect(url, autocommit=True, row_factory=dict_row) as conn:
        for dup in legacy.legacy_duplicates(conn):
            action = {"booking": dup["booking_id"], "id": dup["id"],
                      "student_id": dup["student_id"], "mock_type": dup["mock_type"],
                      "exam_date": str(dup["exam_date"]), "issue": dup["legacy_issue"]}
            if not dup["upcoming"] and not include_past:
                action["outcome"] = ("left: its exam day has passed (mark attendance instead,"
                                     " or --past to cancel it)")
            elif apply_changes:
                action.update(legacy.cancel_duplicate(conn, dup))
            else:
                action["outcome"] = "would cancel and refund"
            actions.append(action)
        others = [r for r in legacy.legacy_items(conn) if r["kind"] != "legacy_duplicate"]
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
