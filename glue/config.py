"""Configuration, read once from the environment (and matching CLI flags) into a frozen value.

Every variable is listed in the README's configuration reference. Nothing else in the glue reads
os.environ.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


class ConfigError(Exception):
    """Bad or missing configuration: the CLI prints one line and exits 2."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".mockbook"))
    hubspot_access_token: str | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    bookings_object_type: str = "2-50158943"
    exams_object_type: str = "2-50158939"
    booking_contact_association_type: int = 0  # 0: HubSpot's default association
    booking_exam_association_type: int = 0
    # exam -> exam "requires attendance at" (the original admin app's USER_DEFINED label 1340)
    prerequisite_association_type_id: int = 1340
    rate_limit_requests: int = 100
    rate_limit_window_seconds: float = 10.0
    rate_limit_daily: int = 250_000
    search_rate_per_second: int = 4
    business_timezone: str = "America/Toronto"
    max_attempts: int = 8
    http_timeout_seconds: float = 30.0
    # `mockbook status --check` thresholds (defaults from the original design)
    status_max_lag_seconds: float = 30.0
    status_max_pending: int = 100
    status_max_error_rate: float = 0.05  # a fraction: 0.05 is 5 %
    status_max_drift: int = 10
    # `mockbook run` and `mockbook worker` (glue.run.worker)
    run_push_budget_seconds: float = 60.0  # a run stops pushing after this (the next run goes on)
    analytics_interval_seconds: float = 900.0  # refresh the analytics views when older than this
    retention_days: float = 7.0  # done outbox rows are purged after this
    # the stored results of keyed write RPCs (idempotency_results) are purged after this: a call
    # repeated later with the same key is a new call (issue 14)
    idempotency_retention_hours: float = 24.0
    worker_poll_seconds: float = 5.0  # the worker reads the outbox this often in any case
    worker_wake_seconds: float = 0.05  # the worker reads the outbox's high-water mark this often
    worker_pull_seconds: float = 60.0  # the worker pulls from HubSpot this often
    worker_debounce_seconds: float = 0.3  # a wake-up's push waits this long to batch a rush

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            data_dir=Path(env.get("MOCKBOOK_DATA_DIR") or ".mockbook"),
            hubspot_access_token=env.get("HUBSPOT_ACCESS_TOKEN") or None,
            hubspot_base_url=env.get("HUBSPOT_BASE_URL") or cls.hubspot_base_url,
            bookings_object_type=env.get("HUBSPOT_BOOKINGS_OBJECT_TYPE")
            or cls.bookings_object_type,
            exams_object_type=env.get("HUBSPOT_EXAMS_OBJECT_TYPE") or cls.exams_object_type,
            booking_contact_association_type=_int(
                env, "HUBSPOT_BOOKING_CONTACT_ASSOCIATION_TYPE", 0
            ),
            booking_exam_association_type=_int(env, "HUBSPOT_BOOKING_EXAM_ASSOCIATION_TYPE", 0),
            prerequisite_association_type_id=_int(
                env, "HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID", 1340
            ),
            rate_limit_requests=_int(env, "HUBSPOT_RATE_LIMIT", 100),
            rate_limit_window_seconds=_float(env, "HUBSPOT_RATE_WINDOW_SECONDS", 10.0),
            rate_limit_daily=_int(env, "HUBSPOT_DAILY_LIMIT", 250_000),
            search_rate_per_second=_int(env, "HUBSPOT_SEARCH_RATE", 4),
            business_timezone=env.get("MOCKBOOK_TIMEZONE") or cls.business_timezone,
            max_attempts=_int(env, "MOCKBOOK_MAX_ATTEMPTS", 8),
            http_timeout_seconds=_float(env, "HUBSPOT_TIMEOUT_SECONDS", 30.0),
            status_max_lag_seconds=_float(env, "MOCKBOOK_STATUS_MAX_LAG", 30.0),
            status_max_pending=_int(env, "MOCKBOOK_STATUS_MAX_PENDING", 100),
            status_max_error_rate=_float(env, "MOCKBOOK_STATUS_MAX_ERROR_RATE", 0.05),
            status_max_drift=_int(env, "MOCKBOOK_STATUS_MAX_DRIFT", 10),
            run_push_budget_seconds=_float(env, "MOCKBOOK_RUN_PUSH_BUDGET", 60.0),
            analytics_interval_seconds=_float(env, "MOCKBOOK_ANALYTICS_INTERVAL", 900.0),
            retention_days=_float(env, "MOCKBOOK_RETENTION_DAYS", 7.0),
            idempotency_retention_hours=_float(env, "MOCKBOOK_IDEMPOTENCY_RETENTION_HOURS", 24.0),
            worker_poll_seconds=_float(env, "MOCKBOOK_WORKER_POLL_SECONDS", 5.0),
            worker_pull_seconds=_float(env, "MOCKBOOK_WORKER_PULL_SECONDS", 60.0),
            worker_wake_seconds=_float(env, "MOCKBOOK_WORKER_WAKE_SECONDS", 0.05),
            worker_debounce_seconds=_float(env, "MOCKBOOK_WORKER_DEBOUNCE_SECONDS", 0.3),
        )

    def with_overrides(self, **values: object) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})
