"""The sync job's commands: `mockbook run` (one cron cycle) and `mockbook worker` (long-running).
Both run the steps of glue.run.cycle (`run`'s cycle and lock are there too); glue.run.worker has
the worker's loop and schedule.

Exit codes: 0 success; 1 a step failed or something was dead-lettered / not applied; 2
configuration error (no DATABASE_URL reachable, no HUBSPOT_ACCESS_TOKEN, HubSpot refusing the
token or the object types, a malformed REDIS_URL); 75 another `run` holds the lock (`run` only);
128 + the signal's number when a signal stopped `run` (the worker: 0, its normal end).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
import psycopg

from glue import exitcodes, lifecycle, logs
from glue.cli import AppContext, streams
from glue.cli.options import push_settings_options, setting_option
from glue.cli.progress import step_bar
from glue.config import WORKER_WEBHOOKS, PushSettings
from glue.db import connection
from glue.db.connection import Layout
from glue.db.lease import Lease
from glue.hubspot.client import check_settings
from glue.run.cycle import (
    OK,
    RUN_APPLICATION,
    RUN_LAYOUT,
    SKIPPED,
    STEPS,
    CycleReport,
    acquire_run_lease,
    check_migrated,
    connect,
    run_lease,
    run_once,
)
from glue.run.describe import describe
from glue.run.worker import WORKER_APPLICATION, WORKER_LAYOUT, Worker

if TYPE_CHECKING:
    from rich.table import Table

pass_app = click.make_pass_decorator(AppContext)
log = logging.getLogger("glue.runner")


def _table(report: CycleReport, waited: float) -> Table:
    """The run's report (rich imported here: a run that prints JSON never loads it)."""
    from rich.table import Table

    title = f"mockbook run: {report.seconds:.1f} s"
    if waited:
        title += f" (waited {waited:.1f} s for the lock)"
    table = Table(title=title)
    for column in ("step", "status", "seconds", "summary"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    colours = {OK: "green", SKIPPED: "dim"}
    for result in report.steps.values():
        colour = colours.get(result.status, "red")
        table.add_row(
            result.name,
            f"[{colour}]{result.status}[/{colour}]",
            f"{result.seconds:.2f}",
            describe(result).split(": ", 1)[-1],
        )
    return table


@click.command("run")
@click.option("--wait", is_flag=True, help="If another run holds the lock, wait (else exit 75).")
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object; JSON log lines.")
@setting_option("MOCKBOOK_RUN_PUSH_BUDGET", metavar="SECONDS")
@push_settings_options
@pass_app
def run(
    app: AppContext,
    wait: bool,
    json_flag: bool,
    push_budget: float | None,
    push_settings: PushSettings,
) -> None:
    """One cron cycle: pull, waitlist offers, past bookings completed, cache rebuild, push,
    audit notes, analytics (when due), purge.

    One run at a time per database (a lease in the database, renewed while the run goes on): a
    second one exits 75 at once, or with --wait waits for the first. A step that fails is
    reported and the others still run. Exit 0, 1 when a step failed or something was
    dead-lettered, 2 on misconfiguration, 75 busy, 128 + the signal's number when SIGTERM,
    SIGINT or SIGHUP stopped it (the HubSpot call in hand finished, the rest of the push batch
    given back, the remaining steps left to the next run)."""
    as_json = json_flag or app.json_output
    with logs.configured(json_lines=logs.wants_json(as_json)):
        _run(app, wait, as_json, push_budget, push_settings)


def _run(
    app: AppContext,
    wait: bool,
    as_json: bool,
    push_budget: float | None,
    push_settings: PushSettings,
) -> None:
    settings = app.settings
    check_settings(settings)  # no token: exit 2 before the database is asked anything
    RUN_LAYOUT.sizes(settings.database_connections)  # a cap below its least: exit 2 now
    url = app.database_url()
    with lifecycle.graceful() as stop, connect(url, RUN_APPLICATION) as conn:
        check_migrated(conn)
        started = time.monotonic()
        lease = run_lease()
        state = acquire_run_lease(
            conn,
            lease,
            wait=wait,
            stop=stop,
            on_wait=lambda holder: log.info(
                "another mockbook run holds the lock (%s); waiting for it", holder.describe(),
                extra=logs.fields(event="lock_wait", holder=holder.holder),
            ),
        )
        if not state.taken:
            message = (f"another mockbook run is running (the lock is {state.describe()}); "
                       "try again later")
            if as_json:
                click.echo(json.dumps({"ok": False, "exit_code": exitcodes.BUSY, "busy": True,
                                       "holder": state.holder}))
            else:
                click.echo(f"mockbook: {message} or use --wait", err=True)
            sys.exit(exitcodes.BUSY)
        waited = time.monotonic() - started if wait else 0.0
        try:
            # on a terminal, a bar of the steps on stderr (nothing in cron's mail, or with --json)
            with step_bar("mockbook run:", STEPS, enabled=not as_json) as advance:
                report = run_once(
                    settings,
                    url,
                    conn,
                    stop=stop,
                    lease=lease,
                    push_settings=push_settings,
                    push_budget=push_budget,
                    progress=advance,
                )
        finally:
            _give_back(lease, conn)
    code, process = report.exit_code, lifecycle.current()
    stopped_by = process.signal_name if process is not None else None
    if process is not None and stopped_by:
        code = process.exit_code(code)
    elif lease.lost.is_set():  # another run took the lease over: it carries on (75, as busy)
        code = exitcodes.BUSY
        click.echo("mockbook: this run could not renew its lock for "
                   f"{lease.seconds:.0f} s and another run took it over: stopped, the other "
                   "run carries on", err=True)
    if as_json:
        extra = {"lock_waited_seconds": round(waited, 3), "ok": code == exitcodes.OK,
                 "exit_code": code, "database_connections": connections_used()} | (
                     {"stopped_by": stopped_by} if stopped_by else {})
        click.echo(json.dumps(report.as_dict() | extra))
    else:
        streams.console().print(_table(report, waited))
        for result in report.steps.values():
            # one line per cause: the HubSpot steps after a refused check say "not run (see
            # pull)" in the table, and only the first names what is wrong
            if (
                result.status not in (OK, SKIPPED)
                and result.error
                and not result.error.startswith("not run (see ")
            ):
                click.echo(f"mockbook: {result.name}: {result.error}", err=True)
    sys.exit(code)


def connections_used() -> dict[str, int | None]:
    """The most database connections this process held at once, and its cap
    (MOCKBOOK_DATABASE_CONNECTIONS; None: none)."""
    return {"peak": connection.peak(), "cap": connection.cap()}


def _give_back(lease: Lease, conn: psycopg.Connection) -> None:
    """The run lease given back at the run's end; a database gone by then leaves it to expire
    (LEASE_SECONDS), as a killed run does."""
    try:
        lease.release(conn)
    except psycopg.Error as exc:
        log.warning("could not give the run lock back (%s): it expires in %.0f s",
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    lease.seconds)


@click.command("worker")
@click.option("--json", "json_flag", is_flag=True, help="JSON log lines even on a terminal.")
@click.option("--name", help="Worker name in the outbox leases (default host:pid:random).")
@setting_option(WORKER_WEBHOOKS, "--webhooks", "webhooks_at", metavar="HOST:PORT")
@push_settings_options
@pass_app
def worker(
    app: AppContext,
    json_flag: bool,
    name: str | None,
    webhooks_at: str | None,
    push_settings: PushSettings,
) -> None:
    """Long-running sync: wakes within 50 ms of an outbox commit, keeps Redis coherent, pushes
    within seconds, pulls every MOCKBOOK_WORKER_PULL_SECONDS, refreshes analytics when due, purges
    daily; reconnects after a database or Redis restart.

    With --webhooks HOST:PORT it also runs the webhook intake and its processor (threads of
    their own). SIGTERM, SIGINT or SIGHUP: finishes the HubSpot call in hand, gives back the
    rest of its batch and exits 0. Logs: JSON lines with --json or when stderr is not a
    terminal."""
    with logs.configured(json_lines=logs.wants_json(json_flag or app.json_output)):
        check_settings(app.settings)  # no token: exit 2 before the database is asked anything
        # its pools within MOCKBOOK_DATABASE_CONNECTIONS (a cap below its least: exit 2 now)
        sizes = worker_layout(bool(webhooks_at)).sizes(app.settings.database_connections)
        url = app.database_url()
        with connect(url, WORKER_APPLICATION) as conn:
            check_migrated(conn)
        with lifecycle.graceful(service=True) as stop:
            loop = Worker(app.settings, url, stop=stop, push_settings=push_settings, name=name,
                          pool_sizes=sizes)
            with _webhooks(app, url, webhooks_at, loop, sizes):
                code = loop.run()
        used = connections_used()
        log.info("at most %d database connection(s) at once%s", used["peak"],
                 f" (MOCKBOOK_DATABASE_CONNECTIONS {used['cap']})" if used["cap"] else "",
                 extra=logs.fields(event="database_connections", **used))
    sys.exit(code)


def worker_layout(webhooks: bool) -> Layout:
    """The worker's connections (glue.run.worker.WORKER_LAYOUT), with the webhook intake's
    (glue.sync.webhooks.WEBHOOKS_LAYOUT) when it runs beside it: under a cap the push keeps
    connections first, then the intake (it answers HubSpot within 5 s), the sync lane, the
    refresh lane, the webhook processor."""
    if not webhooks:
        return WORKER_LAYOUT
    from glue.sync.webhooks import WEBHOOKS_LAYOUT

    push, lane, refresh = WORKER_LAYOUT.pools
    intake, processor = WEBHOOKS_LAYOUT.pools
    return Layout("worker --webhooks", own=WORKER_LAYOUT.own + WEBHOOKS_LAYOUT.own,
                  pools=(push, intake, lane, refresh, processor))


@contextmanager
def _webhooks(app: AppContext, url: str, at: str | None, loop: Worker,
              sizes: dict[str, int]) -> Iterator[None]:
    """The webhook intake beside the worker (glue.sync.webhooks), when asked for; its HubSpot reads
    spend the worker's rate budget."""
    if not at:
        yield
        return
    from glue.sync.webhooks import WebhookConfig, WebhookService, parse_listen

    host, port = parse_listen(at)
    service = WebhookService(
        app.settings,
        url,
        WebhookConfig.from_env(settings=app.settings),
        host=host,
        port=port,
        limiter=loop.hubspot.limiter,
        pool_sizes=sizes,
    )
    bound = service.start()
    log.info("webhook intake listening on %s:%d", host, bound)
    try:
        yield
    finally:
        service.stop()


COMMANDS = [run, worker]
