"""Configuration, read once from the environment (and matching CLI flags) into a frozen value.

:class:`Settings` holds the settings passed down: each field carries its environment variable,
its default (written once, here) and its meaning; :meth:`Settings.from_env` reads them all by
type. :func:`variables` is the whole table: those, and the few variables read by CLI options or
where they are used (``OTHER_VARIABLES``); docs/settings.md is generated from it
(``python -m glue.settings_doc``) and tests/py/project/test_settings_doc.py checks both against
the code.
"""

from __future__ import annotations

import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """Bad or missing configuration: the CLI prints one line and exits 2."""


def setting(
    default: Any,
    env: str,
    doc: str,
    *,
    minimum: int = 0,
    flag: str | None = None,
    maximum: float | None = None,
) -> Any:
    """One row of the table: a dataclass field with its variable and meaning as metadata
    (``minimum``: the smallest integer that works, for an integer setting; ``flag``: the CLI
    option that overrides it, built by glue.cli.options from this row, ``maximum`` its bound)."""
    return field(
        default=default,
        metadata={"env": env, "doc": doc, "minimum": minimum, "flag": flag, "maximum": maximum},
    )


@dataclass(frozen=True)
class Settings:
    database_url: str | None = setting(
        None,
        "DATABASE_URL",
        "PostgreSQL URL (unset: the embedded database): a login role granted "
        "`mockbook_glue` for the glue, the schema owner for `migrate` and `demo`",
        flag="--database-url",
    )
    database_connections: int | None = setting(
        None,
        "MOCKBOOK_DATABASE_CONNECTIONS",
        "the most database connections one process holds at once (unset: as many as its work "
        "uses); below that its pools shrink, down to the least it runs with, and a connection "
        "beyond it waits for one to close: docs/operations.md, Connection budget, gives both "
        "figures for each command",
        minimum=1,
    )
    redis_url: str | None = setting(
        None,
        "REDIS_URL",
        "Redis for the apps' cache keys and the shared rate limiter (optional)",
        flag="--redis-url",
    )
    data_dir: Path = setting(  # noqa: RUF009 (a Path is immutable: one default for all)
        Path(".mockbook"),
        "MOCKBOOK_DATA_DIR",
        "where the embedded PostgreSQL keeps its data",
        flag="--data-dir",
    )
    hubspot_access_token: str | None = setting(
        None,
        "HUBSPOT_ACCESS_TOKEN",
        "private-app token (needed by push, pull, import, reconcile, notes, run, worker)",
    )
    hubspot_base_url: str = setting(
        "https://api.hubapi.com",
        "HUBSPOT_BASE_URL",
        "API base (point it at `mockbook sandbox` to try things)",
    )
    bookings_object_type: str = setting(
        "2-50158943", "HUBSPOT_BOOKINGS_OBJECT_TYPE", "custom object type id of bookings"
    )
    exams_object_type: str = setting(
        "2-50158939", "HUBSPOT_EXAMS_OBJECT_TYPE", "custom object type id of mock exams"
    )
    booking_contact_association_type: int = setting(
        0,
        "HUBSPOT_BOOKING_CONTACT_ASSOCIATION_TYPE",
        "association type id of booking -> contact (0: HubSpot's default association)",
    )
    booking_exam_association_type: int = setting(
        0,
        "HUBSPOT_BOOKING_EXAM_ASSOCIATION_TYPE",
        "association type id of booking -> exam (0: HubSpot's default association)",
    )
    prerequisite_association_type_id: int = setting(
        1340,
        "HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID",
        "exam -> exam association type of prerequisites, 'requires attendance at' (the original "
        "admin app's USER_DEFINED label, from the exam to each prerequisite; printed by "
        "`mockbook hubspot setup`)",
    )
    hubspot_tier: str = setting(
        "starter",
        "MOCKBOOK_HUBSPOT_TIER",
        "the portal's HubSpot subscription, which sets the rate limits of private apps: "
        "`free`, `starter`, `professional` or `enterprise`, `+increase` with the API Limit "
        "Increase pack (`+increase2`: two packs)",
    )
    # (at least 1: with 0 the limiter never grants a call, and a run waited for one for ever)
    rate_limit_requests: int | None = setting(
        None,
        "HUBSPOT_RATE_LIMIT",
        "requests per window (shared through Redis when set; unset: the tier's)",
        minimum=1,
    )
    rate_limit_window_seconds: float = setting(
        10.0, "HUBSPOT_RATE_WINDOW_SECONDS", "the rate limit's window"
    )
    rate_limit_daily: int | None = setting(
        None,
        "HUBSPOT_DAILY_LIMIT",
        "daily request budget (the push stops for the day when spent; unset: the tier's)",
    )
    search_rate_per_second: int = setting(4, "HUBSPOT_SEARCH_RATE", "search requests per second")
    max_attempts: int = setting(
        8, "MOCKBOOK_MAX_ATTEMPTS", "attempts before an outbox row is dead-lettered"
    )
    http_timeout_seconds: float = setting(
        30.0, "HUBSPOT_TIMEOUT_SECONDS", "timeout of every HubSpot call"
    )
    status_max_lag_seconds: float = setting(
        30.0,
        "MOCKBOOK_STATUS_MAX_LAG",
        "`status --check`: sync lag threshold, seconds",
        flag="--max-lag",
    )
    status_max_pending: int = setting(
        100,
        "MOCKBOOK_STATUS_MAX_PENDING",
        "`status --check`: pending outbox rows",
        flag="--max-pending",
    )
    status_max_error_rate: float = setting(
        0.05,
        "MOCKBOOK_STATUS_MAX_ERROR_RATE",
        "`status --check`: error rate, a fraction",
        flag="--max-error-rate", maximum=1,
    )
    status_max_drift: int = setting(
        10,
        "MOCKBOOK_STATUS_MAX_DRIFT",
        "`status --check`: records drifting at the last reconcile",
        flag="--max-drift",
    )
    status_max_dead_letters: int = setting(
        0, "MOCKBOOK_STATUS_MAX_DEAD_LETTERS", "`status --check`: unresolved dead letters"
    )
    status_max_unsent_audit_seconds: float = setting(
        3600.0, "MOCKBOOK_STATUS_MAX_UNSENT_AUDIT",
        "`status --check`: age of the oldest audit row not yet a HubSpot note, seconds",
    )
    run_push_budget_seconds: float = setting(
        60.0,
        "MOCKBOOK_RUN_PUSH_BUDGET",
        "seconds `mockbook run` spends pushing; the next run goes on",
        flag="--push-budget",
    )
    analytics_interval_seconds: float = setting(
        900.0,
        "MOCKBOOK_ANALYTICS_INTERVAL",
        "refresh the analytics views when older than this (run, worker)",
    )
    retention_days: float = setting(
        7.0, "MOCKBOOK_RETENTION_DAYS", "done outbox rows are purged after this"
    )
    idempotency_retention_hours: float = setting(
        24.0,
        "MOCKBOOK_IDEMPOTENCY_RETENTION_HOURS",
        "stored results of keyed write RPCs are purged after this (a later retry is a new call)",
    )
    worker_poll_seconds: float = setting(
        5.0,
        "MOCKBOOK_WORKER_POLL_SECONDS",
        "the worker reads the outbox (and checks Redis) at least this often",
    )
    worker_wake_seconds: float = setting(
        0.05,
        "MOCKBOOK_WORKER_WAKE_SECONDS",
        "the worker reads the outbox's high-water mark this often",
    )
    worker_pull_seconds: float = setting(
        60.0, "MOCKBOOK_WORKER_PULL_SECONDS", "the worker pulls from HubSpot this often"
    )
    worker_debounce_seconds: float = setting(
        0.3, "MOCKBOOK_WORKER_DEBOUNCE_SECONDS", "a wake-up's push waits this long, to batch a rush"
    )
    # The webhook intake's guards against slow and too many clients (glue.sync.webhook_server):
    # HubSpot sends a whole delivery at once and gives up after 5 s.
    webhooks_header_timeout_seconds: float = setting(
        10.0,
        "MOCKBOOK_WEBHOOKS_HEADER_TIMEOUT",
        "webhook intake: a request's line and headers must arrive within this of its start",
    )
    webhooks_read_timeout_seconds: float = setting(
        10.0,
        "MOCKBOOK_WEBHOOKS_READ_TIMEOUT",
        "webhook intake: a request's body must arrive within this of its headers",
    )
    webhooks_max_connections: int = setting(
        4096,
        "MOCKBOOK_WEBHOOKS_MAX_CONNECTIONS",
        "webhook intake: open connections at most; beyond, the one idle longest is closed",
        minimum=1,
    )

    def __post_init__(self) -> None:
        if self.redis_url:
            check_redis_url(self.redis_url)
        requests, daily = tier_limits(self.hubspot_tier)  # ConfigError: an unknown tier
        if self.rate_limit_requests is None:
            object.__setattr__(self, "rate_limit_requests", requests)
        if self.rate_limit_daily is None:
            object.__setattr__(self, "rate_limit_daily", daily)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every field from its variable (unset or empty: the default), parsed by its type:
        integers must not be below their minimum (0 unless the table says otherwise), other
        numbers must be positive and finite (no nan, no inf)."""
        env = os.environ if env is None else env
        types = typing.get_type_hints(cls)
        values = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = _parse(
                    f.metadata["env"], raw, types[f.name], f.metadata.get("minimum", 0)
                )
        return cls(**values)

    def with_overrides(self, **values: object) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


# HubSpot's limits for private apps by subscription (the highest tier of any hub of the
# account), per 10 s and per day: Free and Starter 100 and 250,000; Professional 190 and 650,000;
# Enterprise 190 and 1,000,000; the API Limit Increase pack raises the 10 s limit to 250 (two
# packs do not stack) and adds 1,000,000 a day per pack (at most two). Sources: "API usage
# guidelines and limits", https://developers.hubspot.com/docs/api/usage-details, and "Increasing
# our API limits", https://developers.hubspot.com/changelog/increasing-our-api-limits. What
# HubSpot answers in its X-HubSpot-RateLimit-* headers is followed over these
# (glue.hubspot.ratelimit.HeaderBudget).
HUBSPOT_TIERS = {
    "free": (100, 250_000),
    "starter": (100, 250_000),
    "professional": (190, 650_000),
    "enterprise": (190, 1_000_000),
}
LIMIT_INCREASE = (250, 1_000_000)  # the pack: requests per 10 s, and requests a day added
LIMIT_INCREASE_SUFFIXES = {"": 0, "+increase": 1, "+increase2": 2}


def tier_limits(tier: str) -> tuple[int, int]:
    """(requests per 10 s, requests a day) of a MOCKBOOK_HUBSPOT_TIER value."""
    value = tier.strip().lower()
    for suffix, packs in sorted(LIMIT_INCREASE_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        base = value.removesuffix(suffix) if suffix else value
        if (not suffix or value.endswith(suffix)) and base in HUBSPOT_TIERS:
            requests, daily = HUBSPOT_TIERS[base]
            if packs:
                requests, daily = LIMIT_INCREASE[0], daily + packs * LIMIT_INCREASE[1]
            return requests, daily
    raise ConfigError(
        f"MOCKBOOK_HUBSPOT_TIER must be one of {', '.join(HUBSPOT_TIERS)}, optionally followed "
        f"by +increase or +increase2 (the API Limit Increase pack), got {tier!r}"
    )


def redis_errors() -> tuple[type[Exception], ...]:
    """What a Redis call raises when Redis is away. redis is imported here, by a process that has
    a Redis client, and not at a module's import (it adds about 0.1 s to every command's start)."""
    import redis

    return (redis.RedisError, OSError)


def check_redis_url(url: str) -> None:
    """ConfigError unless Redis' client can read REDIS_URL (its scheme, port and database
    number): every command refuses it alike (exit 2), whether it uses Redis or not, as it
    refuses any other setting that cannot work. A Redis that does not answer is another
    matter: the glue goes on without it."""
    from redis.connection import parse_url

    try:
        parse_url(url)
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL is malformed: {exc}") from None


def _parse(name: str, raw: str, kind: Any, minimum: int = 0) -> Any:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):  # X | None: parsed as X
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if kind is int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum:
            if minimum == 0:
                raise ConfigError(f"{name} must not be negative, got {value}")
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        return value
    if kind is float:
        try:
            number = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        # (float() reads "nan" and "inf", and nan <= 0 is false: a nan retention failed every
        # purge, an inf push budget never ended the push)
        if not math.isfinite(number):
            raise ConfigError(f"{name} must be a finite number, got {raw!r}")
        if number <= 0:
            raise ConfigError(f"{name} must be positive, got {number}")
        return number
    if kind is Path:
        return Path(raw)
    return raw


# ---- the whole table ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Variable:
    """One environment variable the glue reads: its name, its default (None: unset), what it
    means, and the CLI option that sets it (``flag``, with its bounds; glue.cli.options builds
    the click option from this row). ``kind``: the type of its values (None: the default's)."""

    name: str
    default: Any
    meaning: str
    flag: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    kind: Any = None
    in_settings: bool = False  # read by Settings.from_env (the option, when given, overrides)

    @property
    def value_type(self) -> Any:
        if self.kind is not None:
            return self.kind
        return str if self.default is None else type(self.default)


# The most records a push batch may hold (`--batch-size`): at 10 calls per second a full batch
# of 20,000 records is sent in about 45 s, well within the default lease of 120 s.
PUSH_BATCH_MAX = 20_000

# The variables not in Settings: read by their CLI option (built from the row: ``envvar=``, the
# flag overriding it, the row's default) or, for the webhook secret and the sandbox's specs,
# where they are used.
PUSH_BATCH_SIZE = Variable(
    "MOCKBOOK_PUSH_BATCH_SIZE", 8000,
    "records per push batch, gathered from claims of up to 1,000 outbox rows, at most "
    f"{PUSH_BATCH_MAX:,} (`push`, `run`, `worker`)",
    flag="--batch-size", minimum=1, maximum=PUSH_BATCH_MAX,
)
PUSH_LEASE_SECONDS = Variable(
    "MOCKBOOK_PUSH_LEASE_SECONDS", 120,
    "lease of a claimed batch: a killed process's rows come back after it",
    flag="--lease-seconds", minimum=1, maximum=3600,
)
PUSH_LINGER_SECONDS = Variable(
    "MOCKBOOK_PUSH_LINGER_SECONDS", 10.0,
    "`mockbook push` waits this long for rows coming due (rate-limit waits, short backoffs)",
    flag="--linger", minimum=0,
)
PULL_OVERLAP_SECONDS = Variable(
    "MOCKBOOK_PULL_OVERLAP_SECONDS", 120.0,
    "how far before its newest record the pull looks for records search showed late "
    "(search is eventually consistent): counted each pass, read again when one appeared",
    flag="--overlap", minimum=0,
)
NOTES_SETTLE_SECONDS = Variable(
    "MOCKBOOK_NOTES_SETTLE_SECONDS", 10.0,
    "`mockbook notes` waits for HubSpot search after an interrupted batch",
    flag="--settle-seconds", minimum=0,
)
STOP_GRACE_SECONDS = Variable(
    "MOCKBOOK_STOP_GRACE_SECONDS", 2.0,
    "seconds a command's work in hand (a HubSpot call, its write-back) has after the first stop "
    "signal (SIGTERM, SIGINT, SIGHUP) before it is cancelled (docs/operations.md, Signals)",
)
WORKER_WEBHOOKS = Variable(
    "MOCKBOOK_WORKER_WEBHOOKS", None,
    "`worker`: also receive HubSpot webhooks on this HOST:PORT",
    flag="--webhooks",
)
WEBHOOKS_PUBLIC_URL = Variable(
    "MOCKBOOK_WEBHOOKS_PUBLIC_URL", None,
    "the webhook target URL as registered in HubSpot, behind a reverse proxy: the URI HubSpot "
    "signs (`webhooks serve`; `webhooks check --url`)",
    flag="--public-url",
)
WEBHOOKS_PATH = Variable(
    "MOCKBOOK_WEBHOOKS_PATH", "/webhooks/hubspot", "the path the webhook intake serves",
    flag="--path",
)
DEMO_SCALE = Variable(
    "MOCKBOOK_DEMO_SCALE", "full", "`mockbook demo` at `small` scale (the tests use it)",
    flag="--scale",
)
OTHER_VARIABLES = (
    PUSH_BATCH_SIZE,
    PUSH_LEASE_SECONDS,
    PUSH_LINGER_SECONDS,
    PULL_OVERLAP_SECONDS,
    NOTES_SETTLE_SECONDS,
    STOP_GRACE_SECONDS,
    WORKER_WEBHOOKS,
    Variable(
        "HUBSPOT_CLIENT_SECRET", None,
        "the app's client secret, to check webhook signatures (needed by the webhook intake)",
    ),
    Variable("HUBSPOT_APP_SECRET", None, "read when HUBSPOT_CLIENT_SECRET is not set"),
    WEBHOOKS_PUBLIC_URL,
    WEBHOOKS_PATH,
    DEMO_SCALE,
    Variable(
        "HUBSPOT_OPENAPI_DIR", None,
        "HubSpot's OpenAPI specs for the sandbox's conformance checks (unset: the copy shipped "
        "in glue/sandbox/openapi/)",
    ),
)



@dataclass(frozen=True)
class PushSettings:
    """How a push claims its batches: records per batch and the lease of a claimed batch
    (``--batch-size`` and ``--lease-seconds``, or their variables), one value handed from the
    command (`push`, `run`, `worker`) through the cycle to the Pusher and its claimer."""

    batch_size: int = PUSH_BATCH_SIZE.default
    lease_seconds: int = PUSH_LEASE_SECONDS.default


def variable_value(variable: Variable, raw: str) -> Any:
    """A variable's value read from its environment text (``raw``), or ConfigError."""
    return _parse(variable.name, raw, variable.value_type)


def variables() -> tuple[Variable, ...]:
    """Every environment variable the glue reads: Settings' fields in order, then the others."""
    hints = typing.get_type_hints(Settings)
    own = tuple(
        Variable(
            f.metadata["env"], f.default, f.metadata["doc"], flag=f.metadata["flag"],
            minimum=f.metadata["minimum"], maximum=f.metadata["maximum"],
            kind=_value_kind(hints[f.name]), in_settings=True,
        )
        for f in fields(Settings)
    )
    return own + OTHER_VARIABLES


def declared(name: str) -> Variable:
    """The row of a variable (by its name): KeyError when the table has none."""
    for row in variables():
        if row.name == name:
            return row
    raise KeyError(f"{name} is not in glue.config's table")


def _value_kind(kind: Any) -> Any:
    """``X | None`` -> X."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return next(k for k in typing.get_args(kind) if k is not type(None))
    return kind
