"""`mockbook pull`: exams and contacts changed in HubSpot into Postgres, and the
output helpers the other HubSpot → Postgres commands share (``as_json``, ``progress``).

Exit codes: 0 success; 1 records not applied (dead-lettered) or a pass that could not finish;
75 a pass stopped because HubSpot did not answer properly (no answer, a 5xx, an answer that is
not HubSpot's JSON: run it again, it resumes); 2 configuration error (no HUBSPOT_ACCESS_TOKEN,
bad HUBSPOT_BASE_URL, no database, a portal missing what mockbook needs: the portal check of
glue.hubspot.setup at start-up); 128 + the signal's number when a signal stopped it.
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

from glue import exitcodes, lifecycle
from glue.cli import AppContext
from glue.cli.options import setting_option
from glue.config import PULL_OVERLAP_SECONDS
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.hubspot.setup import require as require_portal
from glue.sync.portal import check_portal
from glue.sync.pull import Progress as ProgressCallback
from glue.sync.pull import PullStats, pull

pass_app = click.make_pass_decorator(AppContext)


def as_json(app: AppContext, flag: bool) -> bool:
    return flag or app.json_output


@contextmanager
def progress(enabled: bool) -> Iterator[ProgressCallback | None]:
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
            if t.time_problems:
                parts.append(f"unreadable times {len(t.time_problems)}")
        if name == "contacts":
            parts += [f"credits merged {t.merged}", f"queued for push {t.queued}"]
            if t.blank:
                parts.append(f"empty in HubSpot, kept {len(t.blank)}")
        if t.errors:
            parts.append(f"not applied {len(t.errors)}")
        line = f"pull {name}: " + ", ".join(parts)
        if t.failed:
            line += f"; stopped: {t.failed}"
        lines.append(line)
        for problem in t.time_problems[:20]:  # applied, but HubSpot's data needs fixing
            lines.append(f"  exam {problem['id']}: {problem['problem']}")
        if len(t.time_problems) > 20:
            lines.append(f"  … {len(t.time_problems) - 20} more (`mockbook status` lists them)")
    return lines


@click.command("pull")
@click.option(
    "--only",
    type=click.Choice(["exams", "contacts"]),
    multiple=True,
    help="Pull only this (repeatable; default both).",
)
@setting_option(PULL_OVERLAP_SECONDS)
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def pull_command(app: AppContext, only: tuple[str, ...], overlap: float, json_flag: bool) -> None:
    """Bring exams and contacts changed in HubSpot into Postgres.

    Incremental (from the saved cursor), credits merged as deltas. Exit 1 when some records
    could not be applied (see `mockbook dlq list`) or a pass could not finish (run again: it
    resumes). SIGTERM, SIGINT or SIGHUP: the pages already read are applied, their cursor
    saved, then it stops (exit 128 + the signal's number; the next pull resumes)."""
    with lifecycle.graceful() as stop:
        client = HubSpotClient.from_settings(app.settings, stop=stop)
        with Database(app.database_url()) as db:
            # another portal is named first: its object types are not this one's either
            check_portal(db, client, app.settings)
            require_portal(client, app.settings, ("pull",))
            stats = pull(db, client, app.settings, only=only or ("exams", "contacts"),
                         overlap_seconds=overlap, stop=stop)
    if as_json(app, json_flag):
        click.echo(json.dumps(stats.as_dict(), default=str))
    else:
        for line in _pull_lines(stats):
            click.echo(line)
        if stats.problems:
            click.echo("see `mockbook dlq list` for the records not applied", err=True)
    if code := exit_code(stats):
        sys.exit(code)


def exit_code(stats: Any) -> int:
    """1 when records were not applied or a pass stopped for a reason of its own; 75 when the
    only trouble is HubSpot not answering properly (try again later); else 0."""
    if stats.problems or (not stats.ok and not stats.hubspot_down):
        return exitcodes.PARTIAL_FAILURE
    return exitcodes.TEMPFAIL if not stats.ok else exitcodes.OK


COMMANDS = [pull_command]
