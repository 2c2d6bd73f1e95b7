"""`mockbook import`: the first full import of a HubSpot account, resumable.

Exit codes: 0 success; 1 records not imported (dead-lettered); 75 HubSpot stopped answering
properly (run it again to resume); 2 configuration error (as `mockbook pull`); 128 + the
signal's number when SIGTERM, SIGINT or SIGHUP stopped it (run it again to resume).
"""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from glue import exitcodes, lifecycle
from glue.cli import AppContext, streams
from glue.cli.progress import Stopwatch
from glue.cli.pull import as_json as _as_json
from glue.cli.pull import progress as _progress
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.hubspot.setup import require as require_portal
from glue.sync.importer import run_import
from glue.sync.portal import check_portal
from glue.sync.reconcile import SHOWN

pass_app = click.make_pass_decorator(AppContext)


@click.command("import")
@click.option("--restart", is_flag=True, help="Start over instead of resuming from the cursors.")
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def import_command(app: AppContext, restart: bool, json_flag: bool) -> None:
    """First full import of a HubSpot account: exams, contacts, then bookings.

    Resumable: an interrupted import run again continues where it stopped. Bookings already in
    Postgres (same booking code or idempotency key) are linked, never duplicated. Exit 1 when
    some records could not be imported (see `mockbook dlq list`) or HubSpot stopped answering.
    SIGTERM, SIGINT or SIGHUP: fetches no further page, applies the pages fetched, saves the
    cursors and exits 128 + the signal's number (run it again to resume)."""
    client = HubSpotClient.from_settings(app.settings)
    as_json = _as_json(app, json_flag)
    clock = Stopwatch()
    with lifecycle.graceful() as stop, Database(app.database_url()) as db:
        check_portal(db, client, app.settings)  # another portal's ids name other records
        require_portal(client, app.settings, ("import",))
        with _progress(not as_json) as progress:
            stats = run_import(db, client, app.settings, restart=restart, progress=progress,
                               stop=stop)
    if as_json:
        click.echo(json.dumps(stats.as_dict(), default=str))
    else:
        table = Table(title="mockbook import")
        columns = ("read", "inserted", "updated", "unchanged", "linked", "errors")
        table.add_column("")
        for column in columns:
            table.add_column(column, justify="right")
        for name, row in stats.summary().items():
            table.add_row(name, *(str(row.get(c, "")) for c in columns))
        streams.console().print(table)
        if stats.resumed:
            click.echo(f"resumed: {', '.join(stats.resumed)}")
        for name, t in stats.targets.items():
            for err in t.errors[:SHOWN]:
                click.echo(f"{name} {err.get('id')}: {err.get('error')}", err=True)
            for r in t.reassociated[:SHOWN]:
                where = ", ".join(r["associations"])
                click.echo(f"booking {r['id']}: {r['property']} {r['value'] or '(empty)'} but "
                           f"associated with {where}: "
                           + ("the association applied" if r["applied"] else
                              "several associations, the property kept"), err=True)
            if t.failed:
                click.echo(f"{name}: stopped: {t.failed} (run again to resume)", err=True)
        summary = stats.summary()
        read = ", ".join(f"{name} {row['read']}" for name, row in summary.items())
        errors = sum(row["errors"] for row in summary.values())
        stopped = stats.stopped or any(t.failed for t in stats.targets.values())
        state = "stopped" if stopped else "done"
        click.echo(f"import {state} in {clock}: read {read or 'nothing'}; "
                   f"{errors} not imported")
    if stats.problems or (not stats.ok and not stats.hubspot_down):
        sys.exit(exitcodes.PARTIAL_FAILURE)
    if stats.stopped:  # by a signal: glue.lifecycle gives the exit code
        if not as_json:
            click.echo("import stopped: run it again to resume", err=True)
        return
    if not stats.ok:  # HubSpot did not answer properly: run it again later
        sys.exit(exitcodes.TEMPFAIL)


COMMANDS = [import_command]
