"""`mockbook reconcile [--repair]`: compare every booking, contact and exam between Postgres
and HubSpot, and queue the fixes by the ownership rules. Records still waiting in the outbox
(the next push writes their difference) are reported apart: lag, not drift.

Exit codes: 0 drift within --max-drift; 1 above it; 2 configuration error (as `mockbook pull`);
75 HubSpot did not answer properly.
"""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from glue import exitcodes
from glue.cli import AppContext, streams
from glue.cli.progress import Stopwatch
from glue.cli.pull import as_json as _as_json
from glue.cli.pull import progress as _progress
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.hubspot.setup import require as require_portal
from glue.sync.portal import check_portal
from glue.sync.reconcile import SHOWN, ReconcileReport, reconcile

pass_app = click.make_pass_decorator(AppContext)


def _render(report: ReconcileReport) -> None:
    console = streams.console()
    summary = Table(title=f"mockbook reconcile: drift {report.drift}")
    columns = ("entity", "compared", "missing in HubSpot", "missing in Postgres", "differ",
               "extra associations", "waiting for the push")  # fmt: skip
    for column in columns:
        summary.add_column(column, justify="right" if column != "entity" else "left")
    for name, e in report.entities.items():
        summary.add_row(
            name,
            str(e.compared),
            str(len(e.missing_in_hubspot)),
            str(len(e.missing_in_postgres)),
            str(len(e.different)),
            str(sum(len(item["extra"]) for item in e.extra_associations)),
            str(len(e.waiting)),
        )
    console.print(summary)
    if report.data_problems:
        console.print(f"data problems for admins ({len(report.data_problems)}; not drift):")
        for line in report.data_problems:
            console.print(f"  {line}", markup=False)
    if not report.drift:
        return
    details = Table(title="drift (first records of each kind)")
    for column in ("entity", "record", "what", "postgres", "hubspot"):
        details.add_column(column, overflow="fold")
    for name, e in report.entities.items():
        for item in e.missing_in_hubspot[:SHOWN]:
            details.add_row(name, str(item["key"]), "missing in HubSpot", "", "")
        for item in e.missing_in_postgres[:SHOWN]:
            details.add_row(name, str(item["key"]), "missing in Postgres", "", "")
        for item in e.different[:SHOWN]:
            for field_name, values in item["fields"].items():
                details.add_row(
                    name,
                    str(item["key"]),
                    field_name,
                    str(values["postgres"]),
                    str(values["hubspot"]),
                )
        for item in e.extra_associations[:SHOWN]:  # what --repair removes in HubSpot
            details.add_row(
                name,
                str(item["key"]),
                f"extra association:{item['association']}",
                str(item["postgres"]),
                ", ".join(item["extra"]),
            )
    console.print(details)
    for name, e in report.entities.items():
        if e.repaired:
            done = ", ".join(f"{k} {v}" for k, v in e.repaired.items())
            console.print(f"repaired {name}: {done}")


@click.command("reconcile")
@click.option("--repair", is_flag=True, help="Queue the fixes (see the rules in the help).")
@click.option(
    "--max-drift",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Exit 1 when more records than this differ.",
)
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def reconcile_command(app: AppContext, repair: bool, max_drift: int, json_flag: bool) -> None:
    """Compare every booking, contact and exam between Postgres and HubSpot.

    Reports records missing on each side, fields that differ, and bookings associated in
    HubSpot with a contact or exam that is not theirs (extra associations). With --repair:
    Postgres wins for bookings and credit balances (re-queued for the push; extra associations
    removed in HubSpot here), HubSpot for exams and contact profile fields (applied here).
    Records whose difference waits in the outbox (not pushed yet) are listed apart, not counted
    as drift. Run `mockbook pull` first."""
    client = HubSpotClient.from_settings(app.settings)
    as_json = _as_json(app, json_flag)
    clock = Stopwatch()
    with Database(app.database_url()) as db:
        # another portal's ids name other records: comparing (let alone repairing) with them
        # would copy that portal's exams over these (named first: its object types differ too)
        check_portal(db, client, app.settings)
        require_portal(client, app.settings, ("reconcile",))
        with _progress(not as_json) as progress:
            report = reconcile(db, client, app.settings, repair=repair, progress=progress)
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        _render(report)
        compared = ", ".join(f"{name} {e.compared}" for name, e in report.entities.items())
        waiting = f"; waiting for the push {report.waiting} (not drift)" if report.waiting else ""
        left = f"; left after the repair {report.left}" if repair and report.drift else ""
        click.echo(f"reconcile done in {clock}: compared {compared or 'nothing'}; "
                   f"drift {report.drift}{waiting}{left}")
    if report.drift > max_drift:
        sys.exit(exitcodes.PARTIAL_FAILURE)


COMMANDS = [reconcile_command]
