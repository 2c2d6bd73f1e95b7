"""A HubSpot rate-limit window shared by the processes of one host through a file, for workers
without Redis (glue.hubspot.ratelimit picks it; this builds on glue.hubspot.ratewindow).

Why: a worker started after another one stopped or was killed (a restart, a deploy, a crash loop)
finds HubSpot's window full of that one's calls, since a worker on a backlog spends the whole
budget. In a window of its own they read as other integrations' calls (HeaderBudget), which an
answer says are there but not when they leave, so the new worker waited a whole window after its
start-up check. Recorded here, each call leaves the window a window after its answer, and the new
worker sends as soon as one has. A call in flight in a process that is gone counts as answered
when that is found (HubSpot saw it before), not for a lease.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from glue.hubspot.ratewindow import LocalWindow, poll_wait

log = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    """The process `pid` runs on this host (signal 0: nothing is sent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


class HostWindow:
    """The window in a JSON file under an exclusive lock (``fcntl.flock``), on the wall clock:
    {member: [time, pid]}, the grant time and the process while in flight (pid > 0), the answer
    time once answered (pid 0). ``fallback``: the process-local window used (one warning) when
    the file cannot be."""

    def __init__(
        self,
        path: Path,
        limit: int,
        window: float,
        *,
        fallback: LocalWindow,
        clock: Callable[[], float] = time.time,
        alive: Callable[[int], bool] = pid_alive,
    ) -> None:
        self.path = Path(path)
        self.limit = limit
        self.window = window
        self.local = fallback
        self.clock = clock
        self.alive = alive
        self._lock = threading.Lock()
        self._failed = False

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, list]]:
        """The calls counted now (expired ones dropped, those of processes gone answered now),
        under the lock; written back when the block ends."""
        with self._lock, open(self.path, "a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            text = f.read()
            try:
                calls = json.loads(text or "{}")
            except ValueError:  # a torn write (a process killed mid-write): start afresh
                calls = {}
            now, me, alive = self.clock(), os.getpid(), {}
            for member, (at, pid) in list(calls.items()):
                if pid and pid != me and not alive.setdefault(pid, self.alive(pid)):
                    calls[member] = [now, 0]
                elif not pid and at <= now - self.window:
                    del calls[member]
            yield calls
            new = json.dumps(calls)
            if new != text:  # a read that changed nothing writes nothing
                f.seek(0)
                f.truncate()
                f.write(new)

    def _shared(self, fn: Callable[[dict[str, list]], Any], fallback: Callable[[], Any]) -> Any:
        if not self._failed:
            try:
                with self._state() as calls:
                    return fn(calls)
            except OSError as exc:
                self._failed = True
                log.warning("the rate limiter's file %s is not usable (%s): limiting per process",
                            self.path, exc)
        return fallback()

    def try_acquire(self, member: str, limit: int | None = None) -> float:
        def take(calls: dict[str, list]) -> float:
            now = self.clock()
            if len(calls) < (self.limit if limit is None else limit):
                calls[member] = [now, os.getpid()]
                return 0.0
            answered = [at for at, pid in calls.values() if not pid]
            if not answered:  # every token held by a call in flight: look again soon
                return poll_wait(self.window)
            return max(min(answered) + self.window - now, 0.001)

        return self._shared(take, lambda: self.local.try_acquire(member, limit))

    def answered(self) -> int:
        return self._shared(lambda calls: sum(1 for _, pid in calls.values() if not pid),
                            self.local.answered)

    def release(self, member: str) -> None:
        if self.local.release(member):  # granted while the file was not usable
            return

        def answer(calls: dict[str, list]) -> None:
            if member in calls:
                calls[member] = [self.clock(), 0]

        self._shared(answer, lambda: None)


def host_window_path(name: str) -> Path:
    """The file of the host-shared window of limiter ``name`` (in the temporary directory)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return Path(tempfile.gettempdir()) / f"mockbook-ratelimit-{safe}.json"
