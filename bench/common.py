"""Shared pieces of the benchmarks: the server, the bench databases, figures, small helpers."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict

BENCH_DB = "mockbook_bench"
PGBENCH_DB = "mockbook_bench_pgbench"
# Connections left free for everything else on the server (other sessions, the bench's own
# admin connection, pgbench's extra one) when a benchmark asks for many clients.
CONNECTION_MARGIN = 10


def server_params() -> dict[str, str]:
    """Connection parameters of the server (DATABASE_URL, else the PG* variables, else
    127.0.0.1:5432 as postgres, like tests/conftest.py), without a database name."""
    if url := os.environ.get("DATABASE_URL"):
        params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    else:
        params = {
            "host": os.environ.get("PGHOST", "127.0.0.1"),
            "port": os.environ.get("PGPORT", "5432"),
            "user": os.environ.get("PGUSER", "postgres"),
        }
        if pw := os.environ.get("PGPASSWORD"):
            params["password"] = pw
    params.pop("dbname", None)
    params.setdefault("host", "127.0.0.1")
    params.setdefault("port", "5432")
    params.setdefault("user", "postgres")
    return params


def url_for(dbname: str) -> str:
    """A postgresql:// URL (Alembic needs a URL, not a key=value conninfo); other connection
    parameters of DATABASE_URL (sslmode, ...) go into its query string."""
    params = dict(server_params())
    user = quote(params.pop("user"), safe="")
    password = params.pop("password", None)
    auth = user + (f":{quote(password, safe='')}" if password else "")
    host, port = params.pop("host"), params.pop("port")
    netloc = f"[{host}]" if ":" in host else host
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql://{auth}@{netloc}:{port}/{quote(dbname, safe='')}{query}"


def admin_url() -> str:
    return url_for("postgres")


def recreate_database(name: str) -> str:
    """Drop (forcing other sessions off) and create the database `name`; its URL."""
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url_for(name)


def database_exists(name: str) -> bool:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


def server_info() -> dict[str, Any]:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT version(), current_setting('server_version_num')::int,"
            " current_setting('max_connections')::int,"
            " current_setting('shared_buffers'), current_setting('synchronous_commit'),"
            " current_setting('fsync')").fetchone()
    return {
        "version": row[0],
        "version_num": row[1],
        "max_connections": row[2],
        "shared_buffers": row[3],
        "synchronous_commit": row[4],
        "fsync": row[5],
        "host": server_params()["host"],
        "port": server_params()["port"],
    }


def connection_budget(wanted: int) -> int:
    """How many client connections a benchmark may open now: `wanted`, or fewer when the
    server's max_connections (minus reserved slots, sessions already open and a margin) does
    not allow that many."""
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        max_conn, reserved, used = conn.execute(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int,"
            " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int"
        ).fetchone()
    return max(1, min(wanted, max_conn - reserved - used - CONNECTION_MARGIN))


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """`with timed() as t: ...` then t['seconds']."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Figure:
    """One line of the results: a measured value, its reference from the same run, the ratio,
    the benchmark method target and how it was measured. `status` is 'measured', or 'not
    measured' /
    'error' with the reason in `note` (never a made-up number)."""

    id: str  # "B1@8"
    bench: str  # "B1"
    title: str
    status: str = "measured"
    value: float | None = None
    unit: str = ""
    reference: float | None = None
    reference_unit: str = ""
    reference_name: str = ""
    ratio: float | None = None
    ratio_meaning: str = ""  # what the ratio divides, e.g. "booking tps / TPC-B tps"
    target: float | None = None
    target_op: str = ">="  # ">=" (ratio at least target) or "<=" (value at most target)
    passed: bool | None = None
    how: str = ""
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def judge(self) -> Figure:
        """Set `passed` from the target (a '<=' target applies to the value itself)."""
        if self.status != "measured" or self.target is None:
            return self
        subject = self.value if self.target_op == "<=" else self.ratio
        if subject is None:
            self.passed = None
        elif self.target_op == "<=":
            self.passed = subject <= self.target
        else:
            self.passed = subject >= self.target
        return self

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def not_measured(fig_id: str, bench: str, title: str, reason: str, *,
                 target: float | None = None, target_op: str = ">=",
                 status: str = "not measured") -> Figure:
    return Figure(id=fig_id, bench=bench, title=title, status=status, target=target,
                  target_op=target_op, note=reason)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def script_arguments(doc: str) -> argparse.ArgumentParser:
    """The options of a standalone script: --quick, --schema-source, --keep, --out."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--schema-source", choices=("alembic", "db"), default="alembic")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    return parser


def emit(figures: list[Figure], out: str | None) -> None:
    """A standalone script's figures: printed as JSON, and written to ``out`` when given."""
    text = json.dumps([f.as_dict() for f in figures], indent=2, default=str)
    if out:
        Path(out).write_text(text + "\n")
    print(text)
