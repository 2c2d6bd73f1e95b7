"""HubSpot -> Postgres commands: pull, import, reconcile, notes (SPEC §6, §8).

Exit codes: 0 success; 1 partial failure (records not applied and dead-lettered, a pass that
could not finish, drift above --max-drift, notes that could not be written); 2 configuration
error (no HUBSPOT_ACCESS_TOKEN, bad HUBSPOT_BASE_URL, no database, a portal missing what mockbook
needs: pull, import and notes run the portal check of glue.hubspot.setup at start-up).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from glue import exitcodes
from glue.cli import AppContext
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.hubspot.portal import check_portal
from glue.hubspot.setup import require as require_portal
from glue.sync.importer import run_import
from glue.sync.notes import DEFAULT_SETTLE_SECONDS, push_audit_notes
from glue.sync.pull import DEFAULT_OVERLAP_SECONDS, PullStats, pull
from glue.sync.pull import Progress as ProgressCallback
from glue.sync.reconcile import SHOWN, ReconcileReport, reconcile

pass_app = click.make_pass_decorator(AppContext)


def _as_json(app: AppContext, flag: bool) -> bool:
    return flag or app.json_output


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar per target on a terminal (stderr), else nothing."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bars = Progress(
        TextColumn("{task.description:>9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def update(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = bars.add_task(name, total=total)
        task = tasks[name]
        if total is not None and bars.tasks[task].total is None:
            bars.update(task, total=total)
        bars.update(task, completed=done if total is None else min(done, total))

    with bars:
        yield update


def _pull_lines(stats: PullStats) -> list[str]:
    lines = []
    for name, t in stats.targets.items():
        parts = [f"read {t.read}", f"new {t.inserted}", f"updated {t.updated}"]
        if name == "exams":
            parts += [f"deactivated {t.deactivated}", f"activated {t.activated}"]
            if t.capacity_refused:
                parts.append(f"capacity refused {len(t.capacity_refused)}")
        if name == "contacts":
            parts += [f"credits merged {t.merged}", f"queued for push {t.queued}"]
        if t.errors:
            parts.append(f"not applied {len(t.errors)}")
        line = f"pull {name}: " + ", ".join(parts)
        if t.failed:
            line += f"; stopped: {t.failed}"
        lines.append(line)
    return lines


@click.command("pull")
@click.option(
    "--only",
    type=click.Choice(["exams", "contacts"]),
    multiple=True,
    help="Pull only this (repeatable; default both).",
)
@click.option(
    "--overlap",
    type=click.FloatRange(min=0),
    default=DEFAULT_OVERLAP_SECONDS,
    show_default=True,
    envvar="MOCKBOOK_PULL_OVERLAP_SECONDS",
    help="Seconds re-read before the saved cursor (search is eventually consistent).",
)
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def pull_command(app: AppContext, only: tuple[str, ...], overlap: float, json_flag: bool) -> None:
    """Bring exams and contacts changed in HubSpot into Postgres.

    Incremental (from the saved cursor), credits merged as deltas. Exit 1 when some records
    could not be applied (see `mockbook dlq list`) or a pass could not finish (run again: it
    resumes)."""
    client = HubSpotClient.from_settings(app.settings)
    require_portal(client, app.settings)
    with Database(app.database_url()) as db:
        check_portal(db, client, app.settings)
        stats = pull(
            db, client, app.settings, only=only or ("exams", "contacts"), overlap_seconds=overlap
        )
    if _as_json(app, json_flag):
        click.echo(json.dumps(stats.as_dict(), default=str))
    else:
        for line in _pull_lines(stats):
            click.echo(line)
        if stats.problems:
            click.echo("see `mockbook dlq list` for the records not applied", err=True)
    if not stats.ok or stats.problems:
        sys.exit(exitcodes.PARTIAL_FAILURE)


@click.command("import")
@click.option("--restart", is_flag=True, help="Start over instead of resuming from the cursors.")
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def import_command(app: AppContext, restart: bool, json_flag: bool) -> None:
    """First full import of a HubSpot account: exams, contacts, then bookings.

    Resumable: an interrupted import run again continues where it stopped. Bookings already in
    Postgres (same booking code or idempotency key) are linked, never duplicated. Exit 1 when
    some records could not be imported (see `mockbook dlq list`) or HubSpot stopped answering."""
    client = HubSpotClient.from_settings(app.settings)
    require_portal(client, app.settings)
    as_json = _as_json(app, json_flag)
    with Database(app.database_url()) as db:
        check_portal(db, client, app.settings)  # another portal's ids name other records
        with _progress(not as_json) as progress:
            stats = run_import(db, client, app.settings, restart=restart, progress=progress)
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
        Console().print(table)
        if stats.resumed:
            click.echo(f"resumed: {', '.join(stats.resumed)}")
        for name, t in stats.targets.items():
            for err in t.errors[:SHOWN]:
                click.echo(f"{name} {err.get('id')}: {err.get('error')}", err=True)
            if t.failed:
                click.echo(f"{name}: stopped: {t.failed} (run again to resume)", err=True)
    if not stats.ok or stats.problems:
        sys.exit(exitcodes.PARTIAL_FAILURE)


def _render(report: ReconcileReport) -> None:
    console = Console()
    summary = Table(title=f"mockbook reconcile: drift {report.drift}")
    for column in ("entity", "compared", "missing in HubSpot", "missing in Postgres", "differ"):
        summary.add_column(column, justify="right" if column != "entity" else "left")
    for name, e in report.entities.items():
        summary.add_row(
            name,
            str(e.compared),
            str(len(e.missing_in_hubspot)),
            str(len(e.missing_in_postgres)),
            str(len(e.different)),
        )
    console.print(summary)
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

    Reports records missing on each side and fields that differ. With --repair: Postgres wins
    for bookings and credit balances (re-queued for the push), HubSpot for exams and contact
    profile fields (applied here). Run `mockbook pull` first."""
    client = HubSpotClient.from_settings(app.settings)
    as_json = _as_json(app, json_flag)
    with Database(app.database_url()) as db, _progress(not as_json) as progress:
        report = reconcile(db, client, app.settings, repair=repair, progress=progress)
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        _render(report)
    if report.drift > max_drift:
        sys.exit(exitcodes.PARTIAL_FAILURE)


@click.command("notes")
@click.option(
    "--settle-seconds",
    type=click.FloatRange(min=0),
    default=DEFAULT_SETTLE_SECONDS,
    show_default=True,
    envvar="MOCKBOOK_NOTES_SETTLE_SECONDS",
    help="After an interrupted batch, wait this long for HubSpot search before checking it.",
)
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

    `mockbook run` does this after each push; this command is for operators."""
    client = HubSpotClient.from_settings(app.settings)
    require_portal(client, app.settings)
    with Database(app.database_url()) as db:
        check_portal(db, client, app.settings)  # notes on another portal's records: never
        stats = push_audit_notes(
            db, client, app.settings, settle_seconds=settle_seconds, batch_size=batch_size
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
    if stats.failed:
        sys.exit(exitcodes.PARTIAL_FAILURE)


COMMANDS = [pull_command, import_command, reconcile_command, notes_command]
