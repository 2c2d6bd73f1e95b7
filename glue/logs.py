"""Logging for the long-running and cron commands: human-readable lines on a terminal,
JSON lines with --json or when stderr is not a terminal (cron, systemd, a pipe).

A JSON line is one object: ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``,
``msg`` (the formatted message), ``exc`` when an exception is attached, and the fields given as
``extra={"fields": {...}}`` (e.g. ``{"event": "push", "sent": 12}``), so a log shipper can
filter on them. A human line is the time, the level and the message.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from glue.redaction import redact_text

FIELDS = "fields"  # the ``extra`` key carrying structured fields


def fields(**values: Any) -> dict[str, dict[str, Any]]:
    """``log.info("...", extra=fields(event="push", sent=3))``."""
    return {FIELDS: values}


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact_text(record.getMessage()),
        }
        extra = getattr(record, FIELDS, None)
        if isinstance(extra, dict):
            for key, value in extra.items():
                if value is not None:
                    entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class HumanFormatter(logging.Formatter):
    """``12:04:05 INFO    push: sent 12 record(s) ...``: the message says it all; the structured
    fields are for the JSON lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def wants_json(flag: bool, stream: TextIO | None = None) -> bool:
    """JSON logs when asked, or when the stream is not a terminal."""
    stream = stream or sys.stderr
    return flag or not (hasattr(stream, "isatty") and stream.isatty())


@contextmanager
def configured(
    *, json_lines: bool, level: int = logging.INFO, stream: TextIO | None = None
) -> Iterator[None]:
    """For the block: one handler on ``stream`` (stderr) in the chosen format, the glue at
    ``level``, libraries at WARNING; the previous handlers and levels come back afterwards (a
    command run inside a test leaves no handler behind). Handlers of other kinds than a plain
    StreamHandler (pytest's capture, a file) are kept."""
    root, glue = logging.getLogger(), logging.getLogger("glue")
    saved = (list(root.handlers), root.level, glue.level)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else HumanFormatter())
    for old in saved[0]:
        if type(old) is logging.StreamHandler:  # basicConfig's: replaced by ours
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    glue.setLevel(level)
    try:
        yield
    finally:
        handler.flush()
        root.removeHandler(handler)
        for old in saved[0]:
            if old not in root.handlers:
                root.addHandler(old)
        root.setLevel(saved[1])
        glue.setLevel(saved[2])
