"""The glue's one seam to HubSpot: the official ``hubspot-api-client`` SDK behind a small client
that owns rate limiting, retries, timeouts and error mapping.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hubspot.crm.associations.v4 as assoc_v4
import hubspot.crm.associations.v4.schema as assoc_v4_schema
import hubspot.crm.objects as objects
import hubspot.crm.properties as properties
import hubspot.crm.schemas as schemas
import tenacity
import urllib3
from hubspot import HubSpot
from urllib3.util.retry import Retry

from glue import lifecycle
from glue.config import ConfigError, Settings
from glue.hubspot import wire
from glue.hubspot.ratelimit import RateLimiter, Stopped, build_limiter
from glue.hubspot.ratelimit_host import host_window_path

# How it works (the detail of the module docstring):
#
# - Every call first takes a token from the shared
#   :class:`~glue.hubspot.ratelimit.RateLimiter` (so all glue processes stay under HubSpot's rolling
#   window), and has a timeout.
# - The SDK's own urllib3 retries are off (``Retry(total=0)``; urllib3 would not retry a POST
#   anyway): this client retries itself, POST included, which is safe because every write the glue
#   makes is idempotent (upsert by a unique property, update by id, default associations).
#   5xx, timeouts and connection errors are retried a few times with exponential backoff and
#   jitter; a 429 waits ``Retry-After`` (or the rest of the window) and is tried again. What is
#   still failing after that is raised, and the push leaves it to the outbox's own backoff.
# - Each SDK API module has its own ``ApiException``; all of them, and urllib3's network errors,
#   become one :class:`HubSpotError` (status, body, category, retry_after).
# - Batch calls return a :class:`BatchResult`: the results as HubSpot's JSON (camelCase dicts)
#   and the per-record errors of a 207 (or of an associations batch) as :class:`RecordError`.
#   The SDK builds and sends each request; its answer is read as JSON (``_preload_content=False``)
#   rather than through the SDK's models, whose deserialization (dateutil parsing and a
#   configuration copy per nested object) cost about 1 ms per record: more than the push itself.

log = logging.getLogger(__name__)

CONTACTS = "0-1"
MAX_BATCH = 100  # HubSpot's cap on inputs per objects batch call
# ...and per objects batch read asking for propertiesWithHistory: above 50 HubSpot answers 400
# VALIDATION_ERROR "The maximum number of inputs supported in a batch request for property
# histories is 50" (not transient: every retry fails the same way). Reported from production in
# https://github.com/activepieces/activepieces/pull/9359 and
# https://github.com/PipedreamHQ/pipedream/pull/8462; HubSpot/hubspot-api-python#143 is the same
# limit on the list endpoint. Every read with history chunks by it (HubSpotReader.read).
MAX_HISTORY_BATCH = 50
MAX_ASSOCIATION_BATCH = 2000  # ...and per associations v4 batch call
MAX_ASSOCIATION_READ = 1000  # ...and per associations v4 batch read
# seconds before a failed call's first retry (doubling for each next one, with jitter)
BACKOFF_BASE = 0.5
# The longest a 429 is waited out: HubSpot counts requests per 10 s (the burst window of every
# app) and per second (-Secondly, the search endpoints), and answers 429 until the window the
# call exceeded ends ("Rate limits", https://developers.hubspot.com/docs/api/usage-details:
# "The message and policyName will indicate which limit you hit (either daily or secondly)").
# A Retry-After (or interval header) beyond it is not HubSpot's: read as garbage. The daily limit
# is not waited out here: its headers stop the push for the day (glue.hubspot.ratelimit).
MAX_RETRY_AFTER = 10.0

# Every SDK module generates its own exception classes (no common base): these are all the modules
# of the APIs taken in HubSpotClient.__init__, so that every call's failure becomes a HubSpotError
# and is retried. A module missing here lets its raw ApiException through unretried: the
# properties and association-labels reads of the start-up check once did, and a push restarted
# into a full window died on their 429, which HubSpot answers on any endpoint once the limit is
# reached ("Any app or integration exceeding its rate limits will receive a 429 error response
# for all subsequent API calls", https://developers.hubspot.com/docs/api/usage-details).
_SDK_MODULES = (objects, assoc_v4, assoc_v4_schema, schemas, properties)
_SDK_EXCEPTIONS: tuple[type[Exception], ...] = tuple(m.ApiException for m in _SDK_MODULES)
_SDK_CLIENT_ERRORS: tuple[type[Exception], ...] = tuple(m.OpenApiException for m in _SDK_MODULES)


class HubSpotError(Exception):
    """A failed HubSpot call. ``status`` is None when no answer came (timeout, connection)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        category: str | None = None,
        retry_after: float | None = None,
        operation: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.category = category
        self.retry_after = retry_after
        self.operation = operation

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def transient(self) -> bool:
        """Worth retrying later: no answer, a 5xx, a 429, or an answer that is not HubSpot's
        JSON (a proxy's page, a truncated body)."""
        return (
            self.status is None
            or self.status >= 500
            or self.status == 429
            or self.category == UNREADABLE
        )

    @property
    def unauthorized(self) -> bool:
        return self.status in (401, 403)

    def __str__(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        return f"{where}{status}: {self.message}"


@dataclass
class RecordError:
    """One entry of a batch response's ``errors``: which inputs it is about is in ``context``
    (``objectWriteTraceId``, ``ids``, ...)."""

    message: str
    category: str | None = None
    status: str | None = None
    context: dict[str, list[str]] = field(default_factory=dict)

    @property
    def trace_ids(self) -> list[str]:
        return list(self.context.get("objectWriteTraceId") or [])

    def mentioned_ids(self) -> set[str]:
        """Every value in the context (object ids, unique values): used to find the inputs an
        error without a trace id is about."""
        return {str(v) for values in self.context.values() for v in (values or [])}

    def __str__(self) -> str:
        return f"{self.category or 'ERROR'}: {self.message}"


@dataclass
class BatchResult:
    status: int
    results: list[dict[str, Any]]
    errors: list[RecordError]


@dataclass
class CallStats:
    calls: int = 0  # requests sent (retries included)
    retries: int = 0  # calls repeated after a 5xx / timeout / connection error
    rate_limited: int = 0  # 429 answers received
    rate_limit_waits: int = 0  # waits: our limiter's plus HubSpot's 429s

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def check_base_url(url: str) -> str:
    """The base URL without a trailing slash, or ConfigError (one line)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(f"HUBSPOT_BASE_URL must be an http(s):// URL, got {url!r}")
    return url.rstrip("/")


def limiter_name(access_token: str) -> str:
    """The rate-limit budget is HubSpot's per account (per token): processes using the same
    token share one budget in Redis, others do not."""
    return "hubspot:" + hashlib.sha256(access_token.encode()).hexdigest()[:16]


def host_limiter_path(name: str, base_url: str) -> Path:
    """The file through which the processes of this host share limiter ``name`` when Redis is
    not configured (glue.hubspot.ratelimit_host.HostWindow): one per token and HubSpot address."""
    where = hashlib.sha256(base_url.encode()).hexdigest()[:8]
    return host_window_path(f"{name}-{where}")


# the category of a HubSpotError for a 2xx answer that is not HubSpot's: not JSON (a proxy's
# page, a truncated body), too large or too deep, a repeated key, or JSON of the wrong shape
# (glue.hubspot.wire); retried like a 5xx, then the command stops with exit 75 (try again later)
UNREADABLE = "UNREADABLE_ANSWER"


def unreadable(status: int, raw: bytes, why: wire.Malformed, operation: str) -> HubSpotError:
    """The error of a 2xx answer the decoder refused: why, and a short, printable preview of
    the body (never the whole body: it may be megabytes)."""
    text = raw[:60].decode("utf-8", "replace")
    preview = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return HubSpotError(
        f"the answer is not HubSpot's JSON: {why} ({len(raw):,} bytes: {preview!r})",
        status=status,
        category=UNREADABLE,
        operation=operation,
    )


def _error_body(raw: Any) -> Any:
    """An error answer's body: HubSpot's JSON when the decoder takes it, else its text (an
    error answer is only read for its message and category)."""
    if raw is None:
        return None
    data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace")
    try:
        return wire.loads(data)
    except wire.Malformed:
        return data.decode("utf-8", "replace")


def _read(response: Any, limit: int) -> bytes:
    """The answer's bytes, at most ``limit + 1`` of them (a longer answer is refused by the
    decoder without being held whole)."""
    read = getattr(response, "read", None)
    if read is None:
        return response.data or b""
    return read(limit + 1, decode_content=True) or b""


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return value
    return None


def _seconds(text: str | None, scale: float = 1.0) -> float | None:
    """A header's number of seconds (``scale``: its unit in seconds), or None when it is not one
    a HubSpot window can ask for: not a number, not finite (``inf``, ``NaN``, ``1e400``),
    negative, or longer than MAX_RETRY_AFTER (``99999999``): garbage, never waited out."""
    if text is None:
        return None
    try:
        value = float(text.strip()) * scale
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(value) or not 0 <= value <= MAX_RETRY_AFTER:
        return None
    return value


def _date_wait(text: str) -> float | None:
    """The seconds until an HTTP-date (None: not a date, or one too far ahead)."""
    try:
        at = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if at.tzinfo is None:
        return None
    return _seconds(str(max(0.0, at.timestamp() - time.time())))


def rate_limit_wait(headers: Any, window: float) -> float:
    """How long to wait after a 429: its ``Retry-After`` in seconds (RFC 9110 10.2.3; an
    HTTP-date is read as the seconds until it), else its
    ``X-HubSpot-RateLimit-Interval-Milliseconds``, else ``window``; a value that is not one
    HubSpot's windows can ask for is garbage (:func:`_seconds`), and the wait is never longer
    than MAX_RETRY_AFTER."""
    raw = _header(headers, "Retry-After")
    wait = None
    if raw is not None:
        try:
            float(raw.strip())
        except ValueError:  # not a number: an HTTP-date, or garbage
            wait = _date_wait(raw)
        else:
            wait = _seconds(raw)
    if wait is None:
        wait = _seconds(_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"), 0.001)
    return min(window if wait is None else wait, MAX_RETRY_AFTER)


def check_settings(settings: Settings) -> tuple[str, str]:
    """The token and base URL a client is made with, checked without a request: ConfigError
    (one line) when the token is missing or the URL is not one. A command checks them before it
    touches the database, so a missing token is exit 2 whatever state the database is in."""
    if not settings.hubspot_access_token:
        raise ConfigError("HUBSPOT_ACCESS_TOKEN is not set")
    return settings.hubspot_access_token, check_base_url(settings.hubspot_base_url)


class HubSpotClient:
    """``HubSpotClient(access_token=..., base_url=..., limiter=...)``, or ``from_settings``."""

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str = "https://api.hubapi.com",
        limiter: RateLimiter,
        timeout: float = 30.0,
        max_retries: int = 2,
        max_rate_limit_waits: int = 6,
        window_seconds: float = 10.0,
        backoff_base: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stop: threading.Event | None = None,
    ) -> None:
        if not access_token:
            raise ConfigError("HUBSPOT_ACCESS_TOKEN is not set")
        self.base_url = check_base_url(base_url)
        self.limiter = limiter
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_rate_limit_waits = max_rate_limit_waits
        self.window_seconds = window_seconds
        self.backoff_base = BACKOFF_BASE if backoff_base is None else backoff_base
        self._sleep = sleep
        # set by SIGTERM/SIGINT: a wait for the rate limit or before a retry ends at once with
        # Stopped instead of sending (the push gives back what it had not settled)
        self.stop = stop
        self.stats = CallStats()
        # The one SDK client of the glue. Each API property access builds a new ApiClient (and
        # connection pool): every API the glue uses is taken once, here.
        sdk = HubSpot(access_token=access_token, host=self.base_url, retry=Retry(total=0))
        self.batch_api = sdk.crm.objects.batch_api
        self.basic_api = sdk.crm.objects.basic_api
        self.search_api = sdk.crm.objects.search_api
        self.associations_api = sdk.crm.associations.v4.batch_api
        self.labels_api = sdk.crm.associations.v4.schema.definitions_api
        self.schemas_api = sdk.crm.schemas.core_api
        self.properties_api = sdk.crm.properties.core_api
        self.property_groups_api = sdk.crm.properties.groups_api
        # Models built without a configuration each build (and deep-copy) a new one: share one.
        self.objects_config = self.batch_api.api_client.configuration
        self.associations_config = self.associations_api.api_client.configuration

    @classmethod
    def from_settings(
        cls, settings: Settings, *, host_shared: bool = False, **options: Any
    ) -> HubSpotClient:
        """``host_shared``: without Redis, the rate budget is shared with this host's other
        processes through a file (the worker's: glue.hubspot.ratelimit_host.HostWindow)."""
        token, base_url = check_settings(settings)
        name = limiter_name(token)
        limiter = build_limiter(
            limit=settings.rate_limit_requests,
            window=settings.rate_limit_window_seconds,
            daily=settings.rate_limit_daily,
            redis_url=settings.redis_url,
            name=name,
            host_path=host_limiter_path(name, base_url) if host_shared else None,
        )
        return cls(
            access_token=token,
            base_url=settings.hubspot_base_url,
            limiter=limiter,
            timeout=settings.http_timeout_seconds,
            window_seconds=settings.rate_limit_window_seconds,
            **options,
        )

    @property
    def rate_limit_waits(self) -> int:
        return self.stats.rate_limit_waits + self.limiter.waits

    # ---- the one place a request is sent ---------------------------------------------------
    def call(
        self,
        operation: str,
        fn: Callable[..., Any],
        *args: Any,
        retry: bool = True,
        shape: wire.Shape = wire.ANSWER,
    ) -> tuple[Any, int]:
        """Send one SDK call (``*_with_http_info``) under the limiter, with retries (tenacity):
        a 429 waits Retry-After (or the window) up to ``max_rate_limit_waits`` times; with
        ``retry``, 5xx / timeouts / connection errors are retried ``max_retries`` times with
        exponential backoff and jitter (``retry=False``: a write that is not idempotent). A 2xx
        answer is decoded and typed by ``shape`` (glue.hubspot.wire): the JSON is returned."""
        counts = {"waits": 0, "failures": 0}

        def worth_retrying(state: tenacity.RetryCallState) -> bool:
            err = state.outcome.exception() if state.outcome else None
            if not isinstance(err, HubSpotError) or err.status == 0:
                return False
            if err.rate_limited:
                self.stats.rate_limited += 1
                return counts["waits"] < self.max_rate_limit_waits
            return retry and err.transient and counts["failures"] < self.max_retries

        def delay(state: tenacity.RetryCallState) -> float:
            err = state.outcome.exception() if state.outcome else None
            assert isinstance(err, HubSpotError)
            if err.rate_limited:
                counts["waits"] += 1
                self.stats.rate_limit_waits += 1
                wait = err.retry_after if err.retry_after is not None else self.window_seconds
                wait = min(wait, MAX_RETRY_AFTER)
                log.debug("HubSpot rate limit (%s): waiting %.1f s", operation, wait)
                return wait
            counts["failures"] += 1
            self.stats.retries += 1
            wait = self.backoff_base * 2 ** (counts["failures"] - 1) * (0.5 + random.random() / 2)
            log.debug("HubSpot %s failed (%s); retrying in %.2f s", operation, err, wait)
            return wait

        retrying = tenacity.Retrying(
            retry=worth_retrying,
            wait=delay,
            stop=tenacity.stop_never,
            sleep=self._pause,
            reraise=True,
        )
        return retrying(self._send, operation, fn, shape, *args)

    def _pause(self, seconds: float) -> None:
        """Wait before a retry, or raise Stopped when a stop is asked meanwhile."""
        if self.stop is None:
            self._sleep(seconds)
        elif self.stop.is_set() or self.stop.wait(seconds):
            raise Stopped("stopped before retrying")

    def _send(
        self, operation: str, fn: Callable[..., Any], shape: wire.Shape, *args: Any
    ) -> tuple[Any, int]:
        """One request: a token held until the answer, the answer's bytes decoded and typed
        (glue.hubspot.wire), every failure mapped to one HubSpotError (status 0: an answer the
        SDK could not read)."""
        try:
            # Held until the answer: HubSpot counts the call when it arrives, which may be long
            # after the grant on a loaded machine (glue.hubspot.ratelimit). DailyBudgetExhausted
            # propagates: stop for today.
            if self.stop is not None and self.stop.is_set():
                raise Stopped("stopped before sending")
            with self.limiter.hold(self.stop):
                self.stats.calls += 1
                try:
                    response, raw = lifecycle.bounded(self._request, fn, *args)
                except _SDK_EXCEPTIONS as exc:  # a 429 says how the budget stands too
                    self.limiter.observe(getattr(exc, "headers", None))
                    raise
                except lifecycle.Abandoned as exc:  # a stop: it may still reach HubSpot
                    raise Stopped(f"{operation}: {exc}") from None
                # the rate-limit headers: the budget as HubSpot counts it (HeaderBudget)
                self.limiter.observe(getattr(response, "headers", None))
            return self._decode(raw, response.status, shape, operation), response.status
        except _SDK_EXCEPTIONS as exc:
            raise self._from_api_exception(exc, operation) from exc
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc  # MaxRetryError wraps the cause
            raise HubSpotError(f"{type(reason).__name__}: {reason}", operation=operation) from exc
        except OSError as exc:
            raise HubSpotError(f"{type(exc).__name__}: {exc}", operation=operation) from exc
        except _SDK_CLIENT_ERRORS as exc:  # an answer the SDK could not read
            raise HubSpotError(
                f"unreadable answer: {exc}", status=0, operation=operation
            ) from exc

    @staticmethod
    def _decode(raw: bytes, status: int, shape: wire.Shape, operation: str) -> Any:
        """A 2xx answer as typed JSON (None when empty: a 204), or the HubSpotError saying why
        it is not HubSpot's."""
        try:
            if not raw:
                if status == 204 or shape is wire.ANSWER:
                    return None
                raise wire.Malformed("", "is empty")
            body = wire.loads(raw)
            return shape.check(body, "")
        except wire.Malformed as why:
            raise unreadable(status, raw, why, operation) from None

    def _request(self, fn: Callable[..., Any], *args: Any) -> tuple[Any, bytes]:
        """The request and its whole answer: what a stop's grace ends, unanswered
        (glue.lifecycle.bounded)."""
        response = fn(*args, _request_timeout=self.timeout, _preload_content=False)
        try:
            return response, _read(response, wire.MAX_ANSWER_BYTES)
        finally:
            response.release_conn()

    def _from_api_exception(self, exc: Exception, operation: str) -> HubSpotError:
        status = getattr(exc, "status", None) or None
        body = _error_body(getattr(exc, "body", None))
        headers = getattr(exc, "headers", None)
        message = body.get("message") if isinstance(body, dict) else None
        category = body.get("category") if isinstance(body, dict) else None
        message = message if isinstance(message, str) else None
        category = category if isinstance(category, str) else None
        retry_after = None
        if status == 429:
            retry_after = rate_limit_wait(headers, self.window_seconds)
        return HubSpotError(
            str(message or getattr(exc, "reason", None) or "HubSpot error"),
            status=status,
            body=body,
            category=category,
            retry_after=retry_after,
            operation=operation,
        )

    @staticmethod
    def _batch_result(data: Any, status: int) -> BatchResult:
        """A batch answer typed by glue.hubspot.wire (BATCH or ASSOCIATION_BATCH): its results
        and errors. A result the decoder refused (a property value that is not a string, a
        repeated property) is one more error about its record (by trace id and id), so the
        push fails that record and names the property, never taking it as written."""
        data = data if isinstance(data, dict) else {}
        errors = [
            RecordError(
                message=e.get("message") or "",
                category=e.get("category"),
                status=e.get("status"),
                context={k: [str(x) for x in v or []] for k, v in (e.get("context") or {}).items()},
            )
            for e in data.get("errors") or []
        ]
        results = []
        for r in data.get("results") or []:
            refused = r.get("refused") if isinstance(r, dict) else None
            if refused is None:
                results.append(r)
                continue
            context = {"ids": [str(r["id"])]}
            if r.get("objectWriteTraceId"):
                context["objectWriteTraceId"] = [r["objectWriteTraceId"]]
            errors.append(RecordError(
                message=f"HubSpot's answer about this record is malformed: property "
                        f"{refused['property']} {refused['why']}",
                category="INVALID_ARGUMENT",
                context=context,
            ))
        return BatchResult(status=status, results=results, errors=errors)

    # ---- objects -----------------------------------------------------------------------------
    def upsert(
        self, object_type: str, id_property: str, inputs: Sequence[dict[str, Any]]
    ) -> BatchResult:
        """``batch/upsert``: inputs ``{id (the idProperty value), properties, trace}``; results
        ``{id, properties, new, objectWriteTraceId, ...}``."""
        cfg = self.objects_config
        body = objects.BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                objects.SimplePublicObjectBatchInputUpsert(
                    id=i["id"],
                    id_property=id_property,
                    properties=i["properties"],
                    object_write_trace_id=i.get("trace"),
                    local_vars_configuration=cfg,
                )
                for i in inputs
            ],
            local_vars_configuration=cfg,
        )
        data, status = self.call(
            f"upsert {object_type}", self.batch_api.upsert_with_http_info, object_type, body,
            shape=wire.BATCH,
        )
        return self._batch_result(data, status)

    def update(self, object_type: str, inputs: Sequence[dict[str, Any]]) -> BatchResult:
        """``batch/update`` by HubSpot id: inputs ``{id, properties, trace}``."""
        cfg = self.objects_config
        body = objects.BatchInputSimplePublicObjectBatchInput(
            inputs=[
                objects.SimplePublicObjectBatchInput(
                    id=i["id"],
                    properties=i["properties"],
                    object_write_trace_id=i.get("trace"),
                    local_vars_configuration=cfg,
                )
                for i in inputs
            ],
            local_vars_configuration=cfg,
        )
        data, status = self.call(
            f"update {object_type}", self.batch_api.update_with_http_info, object_type, body,
            shape=wire.BATCH,
        )
        return self._batch_result(data, status)

    def archive(self, object_type: str, ids: Sequence[str]) -> None:
        cfg = self.objects_config
        body = objects.BatchInputSimplePublicObjectId(
            inputs=[objects.SimplePublicObjectId(id=i, local_vars_configuration=cfg) for i in ids],
            local_vars_configuration=cfg,
        )
        archive = self.batch_api.archive_with_http_info
        self.call(f"archive {object_type}", archive, object_type, body)

    # ---- associations v4 ---------------------------------------------------------------------
    def associate(
        self,
        from_type: str,
        to_type: str,
        pairs: Sequence[tuple[str, str]],
        type_id: int = 0,
        category: str = "USER_DEFINED",
    ) -> BatchResult:
        """Associate (from id, to id) pairs: the default type (``batch/associate/default``), or
        the given association type (``batch/create``)."""
        cfg = self.associations_config

        def ref(object_id: str) -> assoc_v4.PublicObjectId:
            return assoc_v4.PublicObjectId(id=object_id, local_vars_configuration=cfg)

        if not type_id:
            body = assoc_v4.BatchInputPublicDefaultAssociationMultiPost(
                inputs=[
                    assoc_v4.PublicDefaultAssociationMultiPost(
                        _from=ref(f), to=ref(t), local_vars_configuration=cfg
                    )
                    for f, t in pairs
                ],
                local_vars_configuration=cfg,
            )
            call = self.associations_api.create_default_with_http_info
        else:
            spec = assoc_v4.AssociationSpec(
                association_category=category,
                association_type_id=type_id,
                local_vars_configuration=cfg,
            )
            body = assoc_v4.BatchInputPublicAssociationMultiPost(
                inputs=[
                    assoc_v4.PublicAssociationMultiPost(
                        _from=ref(f), to=ref(t), types=[spec], local_vars_configuration=cfg
                    )
                    for f, t in pairs
                ],
                local_vars_configuration=cfg,
            )
            call = self.associations_api.create_with_http_info
        data, status = self.call(
            f"associate {from_type}->{to_type}", call, from_type, to_type, body,
            shape=wire.ASSOCIATION_BATCH,
        )
        return self._batch_result(data, status)

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[tuple[str, list[int]]]]:
        """``batch/read`` of v4 associations: {from id: [(to id, [type ids])]} for the given
        records (a record without associations of that type is absent; 1,000 ids a call —
        https://developers.hubspot.com/docs/api/crm/associations, "Retrieve associations")."""
        cfg = self.associations_config
        out: dict[str, list[tuple[str, list[int]]]] = {}
        for start in range(0, len(ids), MAX_ASSOCIATION_READ):
            chunk = list(ids[start : start + MAX_ASSOCIATION_READ])
            body = assoc_v4.BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[
                    assoc_v4.PublicFetchAssociationsBatchRequest(id=i, local_vars_configuration=cfg)
                    for i in chunk
                ],
                local_vars_configuration=cfg,
            )
            data, _ = self.call(
                f"read associations {from_type}->{to_type}",
                self.associations_api.get_page_with_http_info,
                from_type,
                to_type,
                body,
                shape=wire.ASSOCIATIONS,
            )
            for item in (data or {}).get("results") or []:
                fid = str((item.get("from") or {}).get("id"))
                for to in item.get("to") or []:
                    types = [
                        int(t["typeId"])
                        for t in to.get("associationTypes") or []
                        if t.get("typeId") is not None
                    ]
                    out.setdefault(fid, []).append((str(to.get("toObjectId")), types))
        return out

    def dissociate(
        self, from_type: str, to_type: str, removals: Sequence[tuple[str, Sequence[str]]]
    ) -> None:
        """Remove every association (all types, both directions) between each from id and its
        to ids: ``POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive``
        ("Remove associations", HubSpot's associations v4 OpenAPI spec, operation
        ``post-/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive_archive``;
        body ``BatchInputPublicAssociationMultiArchive``: ``{"inputs": [{"from": {"id"}, "to":
        [{"id"}, ...]}]}``; answers 204). 100 inputs a call: HubSpot documents 2,000 for v4
        batch create, not for archive, so the objects' batch cap is used."""
        cfg = self.associations_config

        def ref(object_id: str) -> assoc_v4.PublicObjectId:
            return assoc_v4.PublicObjectId(id=object_id, local_vars_configuration=cfg)

        inputs = [(f, list(to)) for f, to in removals if to]
        for start in range(0, len(inputs), MAX_BATCH):
            body = assoc_v4.BatchInputPublicAssociationMultiArchive(
                inputs=[
                    assoc_v4.PublicAssociationMultiArchive(
                        _from=ref(f), to=[ref(t) for t in to], local_vars_configuration=cfg
                    )
                    for f, to in inputs[start : start + MAX_BATCH]
                ],
                local_vars_configuration=cfg,
            )
            self.call(
                f"remove associations {from_type}->{to_type}",
                self.associations_api.archive_with_http_info,
                from_type,
                to_type,
                body,
            )

    def dissociate_labels(
        self,
        from_type: str,
        to_type: str,
        pairs: Sequence[tuple[str, str]],
        type_id: int,
        category: str = "USER_DEFINED",
    ) -> None:
        """Remove one association type (label) between (from id, to id) pairs, leaving any other
        association between them (``batch/labels/archive``)."""
        cfg = self.associations_config
        spec = assoc_v4.AssociationSpec(
            association_category=category,
            association_type_id=type_id,
            local_vars_configuration=cfg,
        )
        body = assoc_v4.BatchInputPublicAssociationMultiPost(
            inputs=[
                assoc_v4.PublicAssociationMultiPost(
                    _from=assoc_v4.PublicObjectId(id=f, local_vars_configuration=cfg),
                    to=assoc_v4.PublicObjectId(id=t, local_vars_configuration=cfg),
                    types=[spec],
                    local_vars_configuration=cfg,
                )
                for f, t in pairs
            ],
            local_vars_configuration=cfg,
        )
        self.call(
            f"remove associations {from_type}->{to_type}",
            self.associations_api.archive_labels_with_http_info,
            from_type,
            to_type,
            body,
        )

    # ---- schemas -----------------------------------------------------------------------------
    def schema(self, object_type: str) -> dict[str, Any]:
        data, _ = self.call(
            f"schema {object_type}", self.schemas_api.get_by_id_with_http_info, object_type,
            shape=wire.SCHEMA,
        )
        return data if isinstance(data, dict) else {}
