"""HubSpot's error and batch response shapes, and the parsed request handed to endpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from .store import iso, now_ms

VALIDATION_ERROR = "VALIDATION_ERROR"
OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"
CONFLICT = "CONFLICT"
RATE_LIMITS = "RATE_LIMITS"
INVALID_AUTHENTICATION = "INVALID_AUTHENTICATION"
INTERNAL_ERROR = "INTERNAL_ERROR"


def correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(
    message: str, category: str, context: dict[str, list[str]] | None = None, **extra: Any
) -> dict:
    """A top-level HubSpot error: ``{status, message, correlationId, category, context?}``."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
    }
    if context:
        body["context"] = context
    body.update(extra)
    return body


class ApiError(Exception):
    """An error answer: HTTP status plus HubSpot's category and optional context."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str = VALIDATION_ERROR,
        context: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.context = context

    def body(self) -> dict:
        return error_body(self.message, self.category, self.context)

    def record_error(self, trace: str | None = None) -> dict:
        """The same error as one entry of a batch response's ``errors`` (StandardError)."""
        context = dict(self.context or {})
        if trace:
            context.setdefault("objectWriteTraceId", [trace])
        return record_error(self.message, self.category, context)


def record_error(message: str, category: str, context: dict[str, list[str]]) -> dict:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [{"message": message, "code": category}],
        "links": {},
    }


def batch_body(results: list[dict], errors: list[dict], started_ms: int) -> dict:
    """``{status: COMPLETE, results, startedAt, completedAt}`` plus ``errors``/``numErrors``."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(started_ms),
        "completedAt": iso(now_ms()),
    }
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
    return body


@dataclass
class Req:
    """One parsed request as the endpoints see it."""

    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None
    raw_chars: int = 0

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def qlist(self, name: str) -> list[str]:
        """A repeated or comma-separated query parameter."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v)
        return out

    def qbool(self, name: str) -> bool:
        """A boolean query parameter: ``true`` or ``false`` as the OpenAPI specs declare it
        (``type: boolean``); anything else (Python's ``True``) is 400 VALIDATION_ERROR."""
        value = self.q(name)
        if value is None or value == "":
            return False
        if value not in ("true", "false"):
            raise ApiError(
                400,
                f"Invalid value {value!r} for query parameter {name!r}: expected true or false",
                VALIDATION_ERROR,
                {name: [value]},
            )
        return value == "true"

    def obj(self) -> dict:
        if not isinstance(self.body, dict):
            raise ApiError(400, "Invalid input JSON: expected a JSON object body.")
        return self.body

    def inputs(self, limit: int) -> list:
        body = self.obj()
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise ApiError(400, "Invalid input JSON: 'inputs' must be a list.")
        if len(inputs) > limit:
            raise ApiError(
                400,
                f"The maximum number of inputs supported in a batch request is "
                f"{limit}. Please reduce the number of items and try again "
                f"(got {len(inputs)}).",
                context={"limit": [str(limit)], "count": [str(len(inputs))]},
            )
        return inputs


def parse_properties(value: Any) -> dict[str, str]:
    """Property values as HubSpot stores them: strings ("" clears; booleans lower-case)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, "Invalid input JSON: 'properties' must be an object.")
    out = {}
    for key, val in value.items():
        if val is None:
            out[str(key)] = ""
        elif isinstance(val, bool):
            out[str(key)] = "true" if val else "false"
        else:
            out[str(key)] = str(val)
    return out
