"""Repeated warnings are summarised: while HubSpot is down the worker once logged 2-4 warnings a
second (about 9,000 lines an hour); now each kind of warning is logged once per minute, the next
one carrying the count of those held back."""

from __future__ import annotations

import io
import json
import logging

from glue.logs import RepeatFilter, configured


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_repeated_warning_is_logged_once_a_window_with_the_count_held_back() -> None:
    clock = Clock()
    log = logging.getLogger("glue.test_logs")
    stream = io.StringIO()
    with configured(json_lines=True, stream=stream):
        handler = logging.getLogger().handlers[-1]
        handler.filters = [RepeatFilter(window=60.0, clock=clock)]
        for second in range(0, 150):  # HubSpot down for 150 s: a warning every 0.5 s
            for half in (0.0, 0.5):
                clock.now = second + half
                log.warning("HubSpot not answering (HTTP %d); retrying in %.1f s", 503,
                            1.0 + half)
        log.warning("another kind of warning")
        log.info("push: sent 3 record(s)")
        log.info("push: sent 3 record(s)")  # work done is never held back
    lines = _lines(stream)
    retries = [e for e in lines if e["msg"].startswith("HubSpot not answering")]
    # at 0 s, 60 s and 120 s: 3 lines instead of 300, each later one with what it held back
    assert [e.get("repeated") for e in retries] == [None, 119, 119]
    assert retries[1]["msg"].endswith("(119 more like it in the last 60 s)")
    assert [e["msg"] for e in lines[3:]] == [
        "another kind of warning", "push: sent 3 record(s)", "push: sent 3 record(s)"]


def test_every_command_log_summarises_repeats() -> None:
    stream = io.StringIO()
    log = logging.getLogger("glue.test_logs")
    with configured(json_lines=False, stream=stream):
        for _ in range(5):
            log.warning("Redis unavailable")
    assert stream.getvalue().count("Redis unavailable") == 1
