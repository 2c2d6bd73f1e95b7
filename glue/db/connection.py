"""How the glue opens a database connection: the one place that knows the connection may pass
through a pooler.

Supabase's "Connect" dialog offers three URLs for one database: the direct connection, Supavisor
in session mode (port 5432 of the pooler host) and Supavisor in transaction mode (port 6543).
In transaction mode a client's connection is served by whichever server connection is free for
each transaction, so nothing may live on a server connection from one transaction to the next:
no server-side prepared statement (Supabase, "Disabling prepared statements":
https://supabase.com/docs/guides/troubleshooting/disabling-prepared-statements-qL8lEL; psycopg
prepares a statement after its fifth execution unless ``prepare_threshold`` is None), no session
``SET``, no ``LISTEN``, no session advisory lock (PgBouncer's feature map of its pooling modes:
https://www.pgbouncer.org/features.html). Every connection of the glue is opened here, with
prepared statements off; the glue sets only transaction-local settings (``SET LOCAL``,
``set_config(..., true)``), holds its one-at-a-time work with leases (glue.db.lease) and follows
the outbox by polling (glue.cache.OutboxWatch), so it works the same through every URL.
"""

from __future__ import annotations

from typing import Any

import psycopg

# psycopg's option: never prepare a statement on the server (docs/operations.md, "Which URL")
NO_PREPARE: dict[str, Any] = {"prepare_threshold": None}


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """``psycopg.connect(url, **kwargs)`` without server-side prepared statements."""
    return psycopg.connect(url, **(NO_PREPARE | kwargs))


def pool_kwargs(**kwargs: Any) -> dict[str, Any]:
    """The ``kwargs`` of a psycopg_pool pool's connections: ``kwargs`` without server-side
    prepared statements."""
    return NO_PREPARE | kwargs
