"""HubSpot sync commands: push, dlq (list | retry | discard), sandbox."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import click
import psycopg

from glue import exitcodes, lifecycle
from glue.cli import AppContext, streams
from glue.cli.options import push_settings_options, setting_option
from glue.config import PUSH_LINGER_SECONDS, ConfigError, PushSettings
from glue.db import runs
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.sync.portal import check_portal
from glue.sync.push import PushStats
from glue.sync.push import push as run_push

pass_app = click.make_pass_decorator(AppContext)


def _summary(stats: PushStats, hubspot: HubSpotClient) -> dict[str, Any]:
    return {
        "sent": stats.sent,
        "rows_done": stats.rows_done,
        "retried": stats.retried,
        "dead_lettered": stats.dead_lettered,
        "calls": hubspot.stats.calls,
        "call_retries": hubspot.stats.retries,
        "rate_limit_waits": hubspot.rate_limit_waits,
        "rate_limited": hubspot.stats.rate_limited,
        "batches": stats.batches,
        "requeued": stats.requeued,
        "by_table": dict(stats.by_table),
        "seconds": stats.seconds,
        "stopped": stats.stopped,
        "interrupted": stats.interrupted,
        "errors": stats.errors,
        "dead_lettered_by_kind": stats.dead_by_kind.as_json(),
        "worker": stats.worker,
    }


@click.command()
@click.option("--all", "push_all", is_flag=True, help="Re-queue every record first (full sync).")
@click.option("--exam", metavar="HUBSPOT_ID", help="Re-queue one exam, its bookings and contacts.")
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@click.option("--max-batches", type=click.IntRange(min=1), help="Stop after N batches.")
@push_settings_options
@setting_option(PUSH_LINGER_SECONDS)
@pass_app
def push(
    app: AppContext,
    push_all: bool,
    exam: str | None,
    json_flag: bool,
    max_batches: int | None,
    push_settings: PushSettings,
    linger: float,
) -> None:
    """Push queued changes to HubSpot: bookings (upsert by booking code, with their
    associations), contacts' credits, exams' total_bookings.

    SIGTERM, SIGINT or SIGHUP: stops after the HubSpot call in hand (its rows written back;
    one still unanswered 2 s after the signal is left), the rest of the batch given back to the
    queue at once, no attempt counted. Exit 0, or 1 when something was dead-lettered in this
    run (see `mockbook dlq list`), 2 on misconfiguration (nothing is marked done), 75 when
    HubSpot or the database did not answer (nothing could be sent: the rows are retried), 128 +
    the signal's number when a signal stopped it."""
    url = app.database_url()
    with lifecycle.graceful() as stop, Database(url) as db:
        hubspot = HubSpotClient.from_settings(app.settings, stop=stop)
        check_portal(db, hubspot, app.settings)
        try:
            stats = run_push(
                db,
                hubspot,
                app.settings,
                requeue=push_all,
                exam=exam,
                max_batches=max_batches,
                push_settings=push_settings,
                linger=linger,
                stop=stop,
            )
        except psycopg.Error as exc:
            if exc.diag.message_primary == "EXAM_NOT_FOUND":
                raise click.BadParameter(
                    exc.diag.message_detail or "no such exam", param_hint="--exam"
                ) from None
            raise
    summary = _summary(stats, hubspot)
    if app.json_output or json_flag:
        click.echo(json.dumps(summary))
    else:
        tables = ", ".join(f"{k.removeprefix('hubspot_')} {v}" for k, v in stats.by_table.items())
        click.echo(
            f"push: sent {stats.sent} record(s)"
            + (f" ({tables})" if tables else "")
            + f" in {stats.seconds:.1f} s; retried {stats.retried}, "
            f"dead-lettered {stats.dead_lettered}; HubSpot calls {summary['calls']}, "
            f"rate-limit waits {summary['rate_limit_waits']}"
            + (f"; requeued {stats.requeued}" if stats.requeued else "")
        )
        if stats.stopped:
            click.echo(f"push stopped early: {stats.stopped}", err=True)
        if stats.interrupted:
            click.echo("push stopped by a signal: the rest stays queued for the next push",
                       err=True)
        if stats.dead_lettered:
            click.echo("see `mockbook dlq list`", err=True)
    if stats.dead_lettered:
        sys.exit(exitcodes.PARTIAL_FAILURE)
    if stats.retried and not stats.sent:  # HubSpot did not answer properly: try again later
        sys.exit(exitcodes.TEMPFAIL)


# ---- dead letters --------------------------------------------------------------------------------
def _key(row: dict[str, Any]) -> str:
    """A human key of the record a dead letter is about (booking code, student, exam id): from
    the push's row, or the pull's HubSpot record (its properties; else its HubSpot id, the
    letter's entity id: an exam's id)."""
    payload = row.get("payload") if isinstance(row.get("payload"), dict) else {}
    properties = payload.get("properties")
    sources = [payload, properties if isinstance(properties, dict) else {}]
    for name in ("booking_id", "student_id", "hubspot_id", "email"):
        for source in sources:
            if source.get(name):
                return str(source[name])
    return str(row.get("entity_id") or "") if row.get("direction") == "pull" else ""


@click.group()
def dlq() -> None:
    """Dead letters: outbox rows the push gave up on (after MOCKBOOK_MAX_ATTEMPTS attempts)."""


@dlq.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved ones.")
@click.option("--json", "json_flag", is_flag=True, help="Print a JSON list.")
@pass_app
def dlq_list(app: AppContext, include_resolved: bool, json_flag: bool) -> None:
    """List dead letters (ids for `dlq retry` / `dlq discard`)."""
    with Database(app.database_url()) as db:
        rows = db.list_dead_letters(include_resolved=include_resolved)
    items = [
        {
            "id": r["id"],
            "queue_id": r["queue_id"],
            "entity_type": r["entity_type"],
            "entity_id": r["entity_id"],
            "key": _key(r),
            "direction": r["direction"],
            "operation": r["operation"],
            "attempts": r["attempts"],
            "error": r["error"],
            "created_at": r["created_at"].isoformat(),
            "resolved": r["resolved"],
            "resolution": r["resolution"],
        }
        for r in rows
    ]
    if app.json_output or json_flag:
        click.echo(json.dumps(items))
        return
    if not items:
        click.echo("no dead letters")
        return
    from rich.table import Table  # only to print one: JSON and the other commands never load it

    table = Table(title=f"dead letters ({len(items)})")
    for column in ("id", "entity", "key", "op", "attempts", "since", "error"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["entity_type"].removeprefix("hubspot_"),
            item["key"],
            item["operation"] or "",
            str(item["attempts"]),
            item["created_at"][:19],
            item["error"] + (f" [{item['resolution']}]" if item["resolution"] else ""),
        )
    streams.console(width=160).print(table)


def _resolve(app: AppContext, action: str, ids: tuple[int, ...], everything: bool) -> None:
    """Resolve the given dead letters (or --all). Unknown ids are bad input: exit 2 naming
    them, nothing changed. Ids already resolved are skipped and named: exit 1 (partial)."""
    if not ids and not everything:
        raise click.UsageError(
            f"give dead-letter ids (see `mockbook dlq list`) or --all to {action}"
        )
    if ids and everything:
        raise click.UsageError(f"give dead-letter ids or --all to {action}, not both")
    with Database(app.database_url()) as db:
        skipped: list[int] = []
        wanted = sorted(set(ids))
        if wanted:
            with db.pool.connection() as conn:
                known = runs.dead_letters_resolved(conn, wanted)
            unknown = [i for i in wanted if i not in known]
            if unknown:
                click.echo(
                    f"mockbook dlq {action}: no dead letter with id "
                    + ", ".join(map(str, unknown))
                    + " (see `mockbook dlq list --all`); nothing changed",
                    err=True,
                )
                sys.exit(exitcodes.CONFIG_ERROR)
            skipped = [i for i in wanted if known[i]]
            wanted = [i for i in wanted if not known[i]]
        result = (
            db.resolve_dead_letters(
                action, wanted or None, actor=f"mockbook dlq {action} ({getpass.getuser()})"
            )
            if wanted or everything
            else {"action": action, "resolved": 0}
        )
    result["already_resolved"] = skipped
    if app.json_output:
        click.echo(json.dumps(result))
    elif action == "retry":
        click.echo(f"{result['resolved']} dead letter(s) queued again for the next push")
    else:
        click.echo(f"{result['resolved']} dead letter(s) discarded")
    if skipped:
        click.echo(
            f"mockbook dlq {action}: already resolved, left as they are: "
            + ", ".join(map(str, skipped)),
            err=True,
        )
        sys.exit(exitcodes.PARTIAL_FAILURE)


@dlq.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every unresolved dead letter.")
@pass_app
def dlq_retry(app: AppContext, ids: tuple[int, ...], everything: bool) -> None:
    """Queue dead letters again (fresh attempts); the next push sends their current state."""
    _resolve(app, "retry", ids, everything)


@dlq.command("discard")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every unresolved dead letter.")
@pass_app
def dlq_discard(app: AppContext, ids: tuple[int, ...], everything: bool) -> None:
    """Close dead letters without sending them."""
    _resolve(app, "discard", ids, everything)


# ---- the sandbox ---------------------------------------------------------------------------------
@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--access-token", help="Require this bearer token (default: accept any).")
@click.option("--rate-limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--rate-window", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option(
    "--webhook-url",
    metavar="URL",
    help="Send HubSpot-style webhooks (signed with HUBSPOT_CLIENT_SECRET) to this URL.",
)
@click.option(
    "--setup",
    "ready",
    is_flag=True,
    help="Start as a ready portal (what `mockbook hubspot setup` creates) instead of empty.",
)
@click.option(
    "--search-lag",
    type=click.FloatRange(min=0, max=60),
    default=3.0,
    show_default=True,
    help="Seconds before a write shows in search (HubSpot's search is eventually consistent).",
)
@click.option(
    "--portal-timezone",
    default="America/Toronto",
    show_default=True,
    help="The portal's time zone: the daily API limit resets at its midnight.",
)
def sandbox(
    port: int,
    host: str,
    access_token: str | None,
    rate_limit: int,
    rate_window: float,
    webhook_url: str | None,
    ready: bool,
    search_lag: float,
    portal_timezone: str,
) -> None:
    """Run the local HubSpot sandbox until interrupted; point HUBSPOT_BASE_URL at it.

    SIGTERM, SIGINT or SIGHUP stop it (exit 0).

    It starts as an empty portal (HubSpot's own objects and properties only): run
    `mockbook hubspot setup` against it, or start it with --setup."""
    import os
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from glue.sandbox import serve

    try:
        ZoneInfo(portal_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"unknown time zone {portal_timezone!r}", param_hint="--portal-timezone"
        ) from None
    try:
        with lifecycle.graceful(service=True) as stop:
            serve(
                port,
                host=host,
                stop=stop,
                access_token=access_token,
                rate_limit=rate_limit,
                rate_window=rate_window,
                webhook_url=webhook_url,
                webhook_secret=os.environ.get("HUBSPOT_CLIENT_SECRET"),
                setup=ready,
                search_lag=search_lag,
                portal_timezone=portal_timezone,
            )
    except OSError as exc:  # the port is taken, or the address is not this machine's
        streams.write_failed(exc)  # (its "listening" line could not be written: 141 or 74)
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (another sandbox? pick "
            "another --port)"
        ) from None


COMMANDS = [push, dlq, sandbox]
