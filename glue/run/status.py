"""How the sync is doing, for people (`mockbook status`), machines (--json), node_exporter
(--prometheus FILE) and alerting (--check).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from glue.config import declared
from glue.db import status as status_sql

if TYPE_CHECKING:
    from rich.table import Table

# How it works (the detail of the module docstring):
#
# Definitions (all read in one statement, at the database's now()):
#   pending             outbox rows still to push (sync_health.pending)
#   oldest_pending      age in seconds of the oldest of them (sync_health), None when none
#   sync lag            the same age, 0 when nothing is pending: how far HubSpot is behind
#   errors_last_hour    sync_errors rows created in the last hour (push and pull, resolved or not)
#   processed_last_hour outbox rows finished in the last hour: done_at or dead_at within it
#   error rate          errors_last_hour / max(processed_last_hour, errors_last_hour), 0 when both
#                       are 0: the share of the last hour's work that failed for good. Pull errors
#                       have no outbox row, hence the max: the rate stays within [0, 1].
#   dead_letters        sync_errors rows not resolved
#   errors_total        sync_errors rows ever recorded (they are resolved, never deleted): the
#                       Prometheus counter mockbook_sync_errors_total
#   last push/pull/refresh  from sync_health (sync_metadata rows with status 'success')
#   drift               records that differed at the last reconcile and that a push will not fix
#                       (records waiting in the outbox are lag; after --repair, what it left):
#                       sync_metadata row 'reconcile', cursor {"drift": n} (None until a reconcile
#                       has recorded one; not checked)
#   realtime            whether changes are broadcast to live pages (mockbook_internal.
#                       realtime_state: Supabase Realtime's schema, the switch, the policies)


@dataclass(frozen=True)
class Thresholds:
    """--check fails when a value is above its threshold."""

    max_lag_seconds: float = declared("MOCKBOOK_STATUS_MAX_LAG").default
    max_pending: int = declared("MOCKBOOK_STATUS_MAX_PENDING").default
    max_error_rate: float = declared("MOCKBOOK_STATUS_MAX_ERROR_RATE").default
    max_drift: int = declared("MOCKBOOK_STATUS_MAX_DRIFT").default
    max_dead_letters: int = declared("MOCKBOOK_STATUS_MAX_DEAD_LETTERS").default
    max_unsent_audit_seconds: float = declared("MOCKBOOK_STATUS_MAX_UNSENT_AUDIT").default


@dataclass(frozen=True)
class SyncStatus:
    pending: int
    oldest_pending_seconds: float | None
    errors_last_hour: int
    processed_last_hour: int
    dead_letters: int
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_refresh_at: datetime | None
    last_reconcile_at: datetime | None
    drift: int | None
    checked_at: datetime
    errors_total: int = 0
    oldest_unsent_audit_seconds: float | None = None  # the audit trail's notes not yet written
    realtime: dict[str, Any] | None = None  # mockbook_internal.realtime_state()

    @property
    def broadcasts(self) -> str:
        """In words: whether this database sends Realtime messages, and why not."""
        state = self.realtime or {}
        if not state.get("realtime"):
            return "none: no Supabase Realtime schema here, nothing is sent"
        if state.get("broadcasts") == "off":
            return "off: turned off (hubspot_sync.set_realtime_broadcasts)"
        if state.get("broadcasts") == "partial":
            return (f"partial: {state.get('triggers_on')} of {state.get('triggers')} triggers "
                    "on (hubspot_sync.set_realtime_broadcasts)")
        if len(state.get("policies") or []) < 2:
            return "on, but mockbook's policies on realtime.messages are missing: nobody can join"
        return "on: Supabase Realtime"

    @property
    def sync_lag_seconds(self) -> float:
        return self.oldest_pending_seconds or 0.0

    @property
    def error_rate(self) -> float:
        denominator = max(self.processed_last_hour, self.errors_last_hour)
        return self.errors_last_hour / denominator if denominator else 0.0


def read_status(conn: psycopg.Connection) -> SyncStatus:
    row = status_sql.status_row(conn)
    (pending, oldest, errors, dead, push, pull, refresh, processed, reconcile, drift, checked,
     errors_total, unsent, realtime) = row
    return SyncStatus(
        pending=pending,
        oldest_pending_seconds=float(oldest) if oldest is not None else None,
        errors_last_hour=errors,
        processed_last_hour=processed,
        dead_letters=dead,
        last_push_at=push,
        last_pull_at=pull,
        last_refresh_at=refresh,
        last_reconcile_at=reconcile,
        drift=int(drift) if isinstance(drift, Decimal) else drift,
        checked_at=checked,
        errors_total=errors_total,
        oldest_unsent_audit_seconds=float(unsent) if unsent is not None else None,
        realtime=realtime,
    )


def check(status: SyncStatus, limits: Thresholds) -> list[str]:
    """One line per threshold exceeded (empty: all fine)."""
    failures = []
    if status.sync_lag_seconds > limits.max_lag_seconds:
        failures.append(f"sync lag {status.sync_lag_seconds:.1f} s > {limits.max_lag_seconds:g} s")
    if status.pending > limits.max_pending:
        failures.append(f"pending rows {status.pending} > {limits.max_pending}")
    if status.error_rate > limits.max_error_rate:
        failures.append(
            f"error rate {status.error_rate:.1%} > {limits.max_error_rate:.1%} "
            f"({status.errors_last_hour} errors, {status.processed_last_hour} "
            "rows processed in the last hour)"
        )
    if status.drift is not None and status.drift > limits.max_drift:
        failures.append(f"drift {status.drift} records > {limits.max_drift}")
    if status.dead_letters > limits.max_dead_letters:
        failures.append(f"dead letters {status.dead_letters} > {limits.max_dead_letters} "
                        "(mockbook dlq list)")
    unsent = status.oldest_unsent_audit_seconds
    if unsent is not None and unsent > limits.max_unsent_audit_seconds:
        failures.append(f"audit rows not written to HubSpot for {unsent:.0f} s > "
                        f"{limits.max_unsent_audit_seconds:g} s (the notes step: mockbook notes)")
    return failures


def invariant_violations(checked: Sequence[tuple[str, str, str]]) -> list[str]:
    """the invariants as the database checks them (mockbook_internal.check_invariants, the one
    implementation, its rows read by glue.db.status.checked_rows in one REPEATABLE READ
    snapshot): one line per violation, empty when all hold."""
    rows = status_sql.invariant_rows(checked)
    return [f"invariant {name}: {subject}: {detail}" for name, subject, detail in rows]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def to_json(status: SyncStatus, limits: Thresholds,
            invariants: list[str] | None = None,
            data_problems: list[str] | None = None) -> dict[str, Any]:
    """The one JSON object of `mockbook status --json` (with --check, `invariants` are the
    lines of invariant_violations: they count as failures; `data_problems` are reported, e.g.
    an exam time the rules cannot read, and do not)."""
    failures = check(status, limits) + (invariants or [])
    return {
        "pending": status.pending,
        "oldest_pending_seconds": status.oldest_pending_seconds,
        "sync_lag_seconds": status.sync_lag_seconds,
        "errors_last_hour": status.errors_last_hour,
        "errors_total": status.errors_total,
        "processed_last_hour": status.processed_last_hour,
        "error_rate": round(status.error_rate, 6),
        "dead_letters": status.dead_letters,
        "last_push_at": _iso(status.last_push_at),
        "last_pull_at": _iso(status.last_pull_at),
        "last_refresh_at": _iso(status.last_refresh_at),
        "last_reconcile_at": _iso(status.last_reconcile_at),
        "drift": status.drift,
        "checked_at": _iso(status.checked_at),
        "realtime": (status.realtime or {}) | {"summary": status.broadcasts},
        "thresholds": asdict(limits),
        "ok": not failures,
        "failures": failures,
        "data_problems": data_problems or [],
    }


def _timestamp(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


# (name, type, help, value) -> one metric of the textfile; a None value is left out.
Metric = tuple[str, str, str, float | None]


def prometheus_registry(status: SyncStatus) -> CollectorRegistry:
    """node_exporter textfile metrics, named after Prometheus' conventions
    (https://prometheus.io/docs/practices/naming/): the unit in the name (``_seconds``,
    ``_rows``, ``_records``), counters end in ``_total``, a ratio in [0, 1] ends in ``_ratio``,
    and ``mockbook_up`` is 1 (0 in :func:`prometheus_down_text`, when the database did not
    answer). Windowed counts are not exported: Prometheus derives them from the counter
    (``increase(mockbook_sync_errors_total[1h])``). Never-happened timestamps are 0, so an
    alert on ``time() - mockbook_last_push_timestamp_seconds`` fires for "never" too; the
    drift metric is absent until a reconcile has recorded one."""
    metrics: list[Metric] = [
        ("mockbook_up", "gauge", "1: the database answered and the status was read.", 1),
        (
            "mockbook_sync_queue_pending_rows",
            "gauge",
            "Outbox rows still to push.",
            status.pending,
        ),
        (
            "mockbook_sync_oldest_pending_seconds",
            "gauge",
            "Age of the oldest pending outbox row: the sync lag (0: none pending).",
            status.sync_lag_seconds,
        ),
        (
            "mockbook_sync_errors_total",
            "counter",
            "Sync errors recorded (push and pull), ever.",
            status.errors_total,
        ),
        (
            "mockbook_sync_error_ratio",
            "gauge",
            "Share of the last hour's finished work that failed: errors / max(outbox rows "
            "done or dead-lettered, errors), last hour.",
            status.error_rate,
        ),
        (
            "mockbook_sync_dead_letter_rows",
            "gauge",
            "Unresolved dead letters (sync_errors rows).",
            status.dead_letters,
        ),
        (
            "mockbook_last_push_timestamp_seconds",
            "gauge",
            "Last successful push (0: never).",
            _timestamp(status.last_push_at),
        ),
        (
            "mockbook_last_pull_timestamp_seconds",
            "gauge",
            "Last successful pull (0: never).",
            _timestamp(status.last_pull_at),
        ),
        (
            "mockbook_last_refresh_timestamp_seconds",
            "gauge",
            "Last analytics refresh (0: never).",
            _timestamp(status.last_refresh_at),
        ),
        (
            "mockbook_last_reconcile_timestamp_seconds",
            "gauge",
            "Last reconcile (0: never).",
            _timestamp(status.last_reconcile_at),
        ),
        (
            "mockbook_reconcile_drift_records",
            "gauge",
            "Records that differed at the last reconcile, less those waiting for the push.",
            status.drift,
        ),
        (
            "mockbook_status_timestamp_seconds",
            "gauge",
            "When these metrics were read.",
            _timestamp(status.checked_at),
        ),
    ]
    return _registry(metrics)


def prometheus_text(status: SyncStatus) -> str:
    """The textfile :func:`prometheus_registry` writes, as text."""
    return generate_latest(prometheus_registry(status)).decode()


def prometheus_down_registry(now: float) -> CollectorRegistry:
    """The metrics file when the database did not answer: mockbook_up 0 and the time."""
    return _registry(
        [
            ("mockbook_up", "gauge", "1: the database answered and the status was read.", 0),
            ("mockbook_status_timestamp_seconds", "gauge", "When these metrics were read.", now),
        ]
    )


class _Metrics(Collector):
    """Fixed values read once (the status), as Prometheus metric families."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        for name, kind, help_text, value in self.metrics:
            if value is None:
                continue
            if kind == "counter":  # the family is named without _total; its sample has it
                yield CounterMetricFamily(name.removesuffix("_total"), help_text, value=value)
            else:
                yield GaugeMetricFamily(name, help_text, value=value)


def _registry(metrics: list[Metric]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Metrics(metrics))
    return registry


def write_textfile(path: Path, registry: CollectorRegistry) -> None:
    """prometheus_client's textfile writer: a temporary file beside `path` (node_exporter reads
    only *.prom), renamed over it, removed if anything fails: readers see the old file or the
    new one, never half of one."""
    write_to_textfile(str(path), registry)


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = max((now - value).total_seconds(), 0.0)
    unit, size = next(
        ((u, n) for u, n in (("d", 86400), ("h", 3600), ("min", 60)) if seconds >= n), ("s", 1)
    )
    return f"{seconds / size:.0f} {unit} ago ({value:%Y-%m-%d %H:%M %Z})"


def render_table(status: SyncStatus, limits: Thresholds) -> Table:
    """The terminal view: one line per measure, its threshold, and OK or OVER."""
    from rich.table import Table  # only to print it: `status --json` never loads rich

    table = Table(title="mockbook sync status", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("threshold", justify="right")
    table.add_column("")

    def row(name: str, value: str, limit: str = "", over: bool | None = None) -> None:
        state = "" if over is None else ("[red]OVER[/red]" if over else "[green]ok[/green]")
        table.add_row(name, value, limit, state)

    lag = status.sync_lag_seconds
    row(
        "pending rows",
        str(status.pending),
        str(limits.max_pending),
        status.pending > limits.max_pending,
    )
    row(
        "sync lag (oldest pending)",
        f"{lag:.1f} s",
        f"{limits.max_lag_seconds:g} s",
        lag > limits.max_lag_seconds,
    )
    row("errors last hour", str(status.errors_last_hour))
    row("rows processed last hour", str(status.processed_last_hour))
    row(
        "error rate",
        f"{status.error_rate:.1%}",
        f"{limits.max_error_rate:.1%}",
        status.error_rate > limits.max_error_rate,
    )
    row("dead letters", str(status.dead_letters))
    if status.drift is None:
        row("drift (last reconcile)", "unknown", str(limits.max_drift))
    else:
        row(
            "drift (last reconcile)",
            str(status.drift),
            str(limits.max_drift),
            status.drift > limits.max_drift,
        )
    now = status.checked_at
    row("last push", _ago(status.last_push_at, now))
    row("last pull", _ago(status.last_pull_at, now))
    row("last analytics refresh", _ago(status.last_refresh_at, now))
    row("last reconcile", _ago(status.last_reconcile_at, now))
    row("realtime broadcasts", status.broadcasts)
    return table
