"""``mockbook sandbox``: one sandbox in the foreground (:func:`serve`), until a stop, with the
webhooks it sends when asked for.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from .sandbox import Sandbox
from .webhooks import attach


def serve(
    port: int, host: str = "127.0.0.1", *, stop: threading.Event | None = None, **options: Any
) -> None:
    """Run a sandbox in the foreground until ``stop`` is set (``mockbook sandbox``: SIGTERM,
    SIGINT or SIGHUP, glue.lifecycle), else until SIGINT/SIGTERM.

    ``options`` are :class:`Sandbox` keyword arguments; ``conformance`` defaults to False here.
    ``webhook_url`` and ``webhook_secret``: also send webhooks there (glue/sandbox/webhooks.py).
    """
    options.setdefault("conformance", False)
    webhook_url = options.pop("webhook_url", None)
    webhook_secret = options.pop("webhook_secret", None)
    sandbox = Sandbox(port, host=host, **options)
    done = stop or threading.Event()
    # SIGTERM leaves a mark and takes no lock: Event.set would take the lock the main thread
    # holds inside done.wait when the signal lands there, and wait on itself for ever
    terminated: list[int] = []
    if stop is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, _frame: terminated.append(signum))
    sandbox.start()
    sender = attach(sandbox, webhook_url, webhook_secret or "") if webhook_url else None
    print(f"HubSpot sandbox listening on {sandbox.base_url}", flush=True)
    try:
        while not terminated and not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if sender is not None:
            sender.stop()
        sandbox.stop()
