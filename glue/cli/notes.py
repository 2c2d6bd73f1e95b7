"""`mockbook notes`: the audit trail of bookings and credits as HubSpot notes, never twice.

Exit codes: 0 success; 1 notes that could not be written; 2 configuration error (as `pull`).
"""

from __future__ import annotations

import json
import sys

import click

from glue import exitcodes, lifecycle
from glue.cli import AppContext
from glue.cli.options import setting_option
from glue.cli.pull import as_json as _as_json
from glue.config import NOTES_SETTLE_SECONDS
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.hubspot.setup import require as require_portal
from glue.sync.notes import push_audit_notes
from glue.sync.portal import check_portal

pass_app = click.make_pass_decorator(AppContext)


@click.command("notes")
@setting_option(NOTES_SETTLE_SECONDS)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100),
    default=100,
    show_default=True,
    help="Notes per HubSpot batch create.",
)
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def notes_command(app: AppContext, settle_seconds: float, batch_size: int, json_flag: bool) -> None:
    """Write the audit trail of bookings and credits to HubSpot as notes (never twice).

    `mockbook run` does this after each push; this command is for operators. SIGTERM, SIGINT
    or SIGHUP: stops after the batch in hand (one HubSpot call; a claim still running 2 s after
    the signal is cancelled), the rest left for the next run; exit 128 + the signal's
    number."""
    client = HubSpotClient.from_settings(app.settings)
    with lifecycle.graceful() as stop, Database(app.database_url()) as db:
        check_portal(db, client, app.settings)  # notes on another portal's records: never
        require_portal(client, app.settings, ("notes",))
        stats = push_audit_notes(
            db, client, app.settings, settle_seconds=settle_seconds, batch_size=batch_size,
            stop=stop,
        )
    if _as_json(app, json_flag):
        click.echo(json.dumps(stats.as_dict(), default=str))
    elif stats.locked_out:
        click.echo("another process is writing audit notes; nothing done")
    else:
        click.echo(
            f"notes: created {stats.created} (audit rows marked {stats.rows_marked}), "
            f"recovered {stats.recovered} from an interrupted batch"
        )
        if stats.failed:
            click.echo(f"notes stopped: {stats.failed} (the next run carries on)", err=True)
        if stats.unassociated:
            click.echo(f"{stats.unassociated} note(s) not associated with their booking or "
                       "contact yet (tried again on the next run): "
                       + "; ".join(stats.errors[:3]), err=True)
    if stats.unassociated or (stats.failed and not stats.transient):
        sys.exit(exitcodes.PARTIAL_FAILURE)
    if stats.failed:  # HubSpot did not answer properly: the next run carries on
        sys.exit(exitcodes.TEMPFAIL)


COMMANDS = [notes_command]
