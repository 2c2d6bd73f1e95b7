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
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from glue.redaction import redact_text

FIELDS = "fields"  # the ``extra`` key carrying structured fields
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


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


class RepeatFilter(logging.Filter):
    """Warnings and errors that repeat are summarised: the first of a kind is logged; the same
    kind again within ``window`` seconds is counted, not logged; the first one after the window
    is logged with the count (``(N more like it in the last 60 s)``, field ``repeated``). A kind
    is the logger, the level and the message with its numbers blanked, so "retrying in 1.5 s" and
    "retrying in 3.0 s" are one kind. Info lines (work done) are never held back."""

    MAX_KINDS = 1000

    def __init__(self, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._kinds: dict[tuple[str, int, str], list[float]] = {}  # kind -> [since, held back]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, record.levelno, _NUMBER.sub("#", record.getMessage()))
        now = self.clock()
        with self._lock:
            seen = self._kinds.get(kind)
            if seen is not None and now - seen[0] < self.window:
                seen[1] += 1
                return False
            if len(self._kinds) >= self.MAX_KINDS:
                self._kinds.clear()
            self._kinds[kind] = [now, 0]
        held = int(seen[1]) if seen is not None else 0
        if held:
            record.msg = (f"{record.getMessage()} ({held} more like it in the last "
                          f"{self.window:.0f} s)")
            record.args = ()
            extra = getattr(record, FIELDS, None)
            setattr(record, FIELDS, {**(extra if isinstance(extra, dict) else {}),
                                     "repeated": held})
        return True


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
    handler.addFilter(RepeatFilter())
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
