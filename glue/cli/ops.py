"""Operator commands: `mockbook status` and `mockbook refresh-analytics`."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import click
import psycopg
import tenacity

from glue import exitcodes, lifecycle
from glue.cli import AppContext, redact, streams
from glue.cli.options import setting_option
from glue.config import ConfigError
from glue.db import pooler, runs
from glue.db.connection import connect
from glue.db.status import checked_rows, data_problem_rows
from glue.run.status import (
    Thresholds,
    check,
    invariant_violations,
    prometheus_down_registry,
    prometheus_registry,
    read_status,
    render_table,
    to_json,
)
from glue.run.status import write_textfile as write_metrics

pass_app = click.make_pass_decorator(AppContext)

CHECK_FAILED = exitcodes.PARTIAL_FAILURE  # exit 1: cron and monitors alert on it


def _connect(url: str) -> psycopg.Connection:
    return lifecycle.track(connect(url, autocommit=True))


def _not_migrated(exc: psycopg.Error, url: str) -> ConfigError:
    first = str(exc).strip().splitlines()[0]
    return ConfigError(f"the database has no mockbook schema ({first}): run `mockbook migrate` "
                       f"on {redact(url)}")


@click.command()
@click.option("--json", "json_flag", is_flag=True, help="One JSON object instead of the table.")
@click.option(
    "--prometheus",
    "prometheus_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write node_exporter textfile metrics to FILE, atomically.",
)
@click.option(
    "--check",
    "check_flag",
    is_flag=True,
    help="Exit 1, naming them, when thresholds are exceeded or an invariant is broken "
    "(mockbook_internal.check_invariants).",
)
@setting_option("MOCKBOOK_STATUS_MAX_LAG", metavar="SECONDS")
@setting_option("MOCKBOOK_STATUS_MAX_PENDING", metavar="ROWS")
@setting_option("MOCKBOOK_STATUS_MAX_ERROR_RATE", metavar="FRACTION")
@setting_option("MOCKBOOK_STATUS_MAX_DRIFT", metavar="RECORDS")
@pass_app
def status(
    app: AppContext,
    json_flag: bool,
    prometheus_file: Path | None,
    check_flag: bool,
    max_lag: float | None,
    max_pending: int | None,
    max_error_rate: float | None,
    max_drift: int | None,
) -> None:
    """Queue depth, sync lag, errors, dead letters and the last push, pull and refresh.

    A table on a terminal, one JSON object with --json. With --prometheus FILE the metrics are
    written for node_exporter's textfile collector and nothing is printed unless on a terminal
    or --json is given (quiet under cron). The error rate is the sync errors of the last hour
    divided by the outbox rows finished (done or dead-lettered) in the last hour.
    """
    settings = app.settings
    limits = Thresholds(
        max_lag_seconds=settings.status_max_lag_seconds if max_lag is None else max_lag,
        max_pending=settings.status_max_pending if max_pending is None else max_pending,
        max_error_rate=(
            settings.status_max_error_rate if max_error_rate is None else max_error_rate
        ),
        max_drift=settings.status_max_drift if max_drift is None else max_drift,
        max_dead_letters=settings.status_max_dead_letters,
        max_unsent_audit_seconds=settings.status_max_unsent_audit_seconds,
    )
    try:
        # the embedded database only if it runs: a status starts no server (nor leaves one)
        url = app.database_url(start_embedded=False)
        with _connect(url) as conn:
            try:
                current = read_status(conn)
            except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
                raise _not_migrated(exc, url) from None
    except (ConfigError, psycopg.OperationalError):
        if prometheus_file is not None:  # the scrape still says so: mockbook_up 0
            with contextlib.suppress(OSError):
                write_metrics(prometheus_file, prometheus_down_registry(time.time()))
        raise
    if prometheus_file is not None:
        try:
            write_metrics(prometheus_file, prometheus_registry(current))
        except OSError as exc:
            raise ConfigError(f"cannot write {prometheus_file}: {exc.strerror or exc}") from None
    with _connect(url) as conn:
        # only --check reads every row (check_invariants: the violations, and the legacy data
        # it lists); plain status reads the counters and the few data problems of the exams
        checked = checked_rows(conn) if check_flag else []
        invariants = invariant_violations(checked)
        problems = data_problem_rows(conn, checked)
        # what stands between this host and the database: direct, a session-mode pooler or a
        # transaction-mode one (glue.db.pooler; the probe opens one more connection)
        mode = pooler.detect(conn, url)
    as_json = json_flag or app.json_output
    if as_json:
        click.echo(json.dumps(to_json(current, limits, invariants, problems)
                              | {"connection": mode.as_dict()}))
    elif prometheus_file is None or sys.stdout.isatty():
        streams.console().print(render_table(current, limits))
        click.echo(f"connection: {mode.describe()}")
        for problem in problems:
            click.echo(f"data problem: {problem}")
    failures = check(current, limits) + invariants
    if check_flag and failures:
        for failure in failures:
            click.echo(f"mockbook: check failed: {failure}", err=True)
        sys.exit(CHECK_FAILED)


@click.command("refresh-analytics")
@click.option("--json", "json_flag", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--wait",
    is_flag=True,
    help="If another refresh is running, wait for it to finish instead of exiting 75.",
)
@pass_app
def refresh_analytics(app: AppContext, json_flag: bool, wait: bool) -> None:
    """Refresh the analytics materialized views (CONCURRENTLY: readers are never blocked).

    One refresh at a time per database: when another one is running this exits 75, or with
    --wait tries again until it is free. Needs the views' owner (the glue's database user).
    """
    as_json = json_flag or app.json_output

    def announce(state: tenacity.RetryCallState) -> None:
        if state.attempt_number == 1:
            click.echo("mockbook: another analytics refresh is running; waiting for it", err=True)

    url = app.database_url()
    with _connect(url) as conn:

        def refresh() -> dict[str, Any]:
            try:
                return runs.refresh_analytics(conn)
            except psycopg.errors.InsufficientPrivilege as exc:
                raise ConfigError(
                    "refreshing the analytics views needs their owner; connect "
                    f"as the database owner ({str(exc).splitlines()[0]})"
                ) from None
            except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as exc:
                raise _not_migrated(exc, url) from None

        # With --wait, tried again while another refresh holds the lock (an answer, not an
        # exception: retry_if_result), 0.2 s doubling to at most 2 s apart, without end;
        # errors are not retried and raise as they are.
        result = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda answer: wait and not answer.get("refreshed")),
            wait=tenacity.wait_exponential(multiplier=0.2, max=2.0),
            stop=tenacity.stop_never,
            before_sleep=announce,
        )(refresh)
    if as_json:
        click.echo(json.dumps(result))
    if not result.get("refreshed"):
        if not as_json:
            click.echo(
                "mockbook: another analytics refresh is running; try again later or use --wait",
                err=True,
            )
        sys.exit(exitcodes.BUSY)
    if not as_json:
        views = result.get("views", [])
        concurrently = set(result.get("concurrently", []))
        names = ", ".join(v if v in concurrently else f"{v} (plain)" for v in views)
        click.echo(f"refreshed {len(views)} views in {result.get('seconds')} s: {names}")


COMMANDS = [status, refresh_analytics]
