"""The push's database lanes: background threads running database calls beside the HubSpot
calls (the contacts' merges on the "prep" lane, the outcomes and the next claim on the "settle"
lane: glue/sync/push/pusher.py says how a batch uses them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Lane:
    """Background threads running database calls (a ThreadPoolExecutor; with one worker, in
    the order they were given). A call's error is raised in the caller's thread by the
    next ``submit``/``check``/``drain``, as if the caller had made the call itself."""

    def __init__(self, name: str, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"mockbook-push-{name}"
        )
        self._futures: list[Future] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any, track: bool = True) -> Future:
        """Queue a call. ``track=False``: the caller reads the future itself (its error is
        not raised again by check/drain)."""
        self.check()
        with self._lock:
            future = self._pool.submit(fn, *args)
            if track:
                self._futures.append(future)
        return future

    def check(self) -> None:
        """Raise the error of a call that has finished with one."""
        with self._lock:
            failed = [f for f in self._futures if f.done() and not f.cancelled() and f.exception()]
            self._futures = [f for f in self._futures if not f.done()]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]

    def drain(self) -> None:
        """Wait for every call given so far; raise the first error."""
        while True:
            with self._lock:
                if not self._futures:
                    return
                future = self._futures.pop(0)
            future.result()

    def close(self, *, finish: bool) -> None:
        """Stop: with ``finish``, run what is queued first (stopping at the first error, which
        is raised); otherwise cancel what has not started. The running call is always waited
        for, so the thread is gone when this returns."""
        try:
            if finish:
                self.drain()
        finally:
            with self._lock:
                for future in self._futures:
                    future.cancel()
            self._pool.shutdown(wait=True, cancel_futures=True)
