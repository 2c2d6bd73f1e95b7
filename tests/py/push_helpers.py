"""Shared pieces of the push tests (test_push*.py, test_cli_sync.py): a fresh database per test
(a copy of the run's template, tests/conftest.py, which is much faster than building each one), a
small world of exams and students that exist both in the database and in the HubSpot sandbox,
and readers of both sides for assertions.

Bind the fixtures in a test module with plain assignments, as sandbox_fixtures does:

    push_db = push_helpers.push_db
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from glue_role import glue_url
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from sandbox_fixtures import TOKEN

from glue.clock import SystemClock
from glue.config import Settings
from glue.db.database import Database
from glue.hubspot import client as client_module
from glue.hubspot.client import HubSpotClient
from glue.hubspot.ratelimit import build_limiter
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox

ROOT = Path(__file__).resolve().parents[2]
# The glue's HubSpot timeout in tests: production's default, far beyond what any call to the
# sandbox takes even on a loaded machine, so no test's outcome depends on how fast the machine
# answers. A test about calls that get no answer makes the sandbox drop them (its faults), or
# moves a fake clock; it never races a short timeout against the machine's load.
HTTP_TIMEOUT = 30.0


@pytest.fixture
def push_db(fresh_database) -> str:
    """A fresh database of its own for one test: a copy of the run's migrated template (schema,
    functions, tests helpers, the glue's login role), dropped when the test ends."""
    return fresh_database("push", migrated=True)


def settings_for(url: str, sb: Sandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": glue_url(url),  # the glue runs as mockbook_glue, as in production
        "hubspot_access_token": TOKEN,
        "hubspot_base_url": sb.base_url,
        "http_timeout_seconds": HTTP_TIMEOUT,
    }
    values.update(overrides)
    return Settings(**values)


def client_for(settings: Settings, **options: Any) -> HubSpotClient:
    """An in-process client with a private (process-local) limiter."""
    limiter = build_limiter(
        limit=settings.rate_limit_requests,
        window=settings.rate_limit_window_seconds,
        daily=settings.rate_limit_daily,
        redis_url=None,
        margin=0.05,
    )
    options.setdefault("backoff_base", 0.05)
    return HubSpotClient(
        access_token=settings.hubspot_access_token or "",
        base_url=settings.hubspot_base_url,
        limiter=limiter,
        timeout=settings.http_timeout_seconds,
        window_seconds=settings.rate_limit_window_seconds,
        **options,
    )


@dataclass
class World:
    """Exams and students present in the database and in the sandbox."""

    url: str
    exams: list[str] = field(default_factory=list)  # HubSpot ids
    students: list[str] = field(default_factory=list)  # student ids
    contact_ids: dict[str, str | None] = field(default_factory=dict)  # student -> HubSpot id


def make_world(
    url: str,
    sb: Sandbox,
    *,
    students: int,
    exams: int = 1,
    credits: int = 3,
    capacity: int = 1000,
    without_hubspot_id: int = 0,
    in_hubspot: bool = True,
) -> World:
    """``exams`` SJ exams and ``students`` students with ``credits`` SJ credits; the last
    ``without_hubspot_id`` students have no hubspot_id locally (their HubSpot contact exists,
    matched by email, unless ``in_hubspot`` is False)."""
    world = World(url)
    tag = uuid.uuid4().hex[:6].upper()
    exam_ids = sb.seed(
        EXAMS, [{"mock_exam_name": f"exam {i}", "total_bookings": "0"} for i in range(exams)]
    )
    sids = [f"P{tag}{i}" for i in range(students)]
    contact_rows = [{"email": f"{s.lower()}@example.com", "firstname": s} for s in sids]
    contact_ids = sb.seed(CONTACTS, contact_rows) if in_hubspot else [None] * len(sids)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for hid in exam_ids:
            conn.execute(
                "SELECT tests.make_exam(p_hubspot_id := %s, p_capacity := %s)", (hid, capacity)
            )
        for i, (sid, cid) in enumerate(zip(sids, contact_ids, strict=True)):
            local = None if i >= students - without_hubspot_id else cid
            conn.execute(
                "SELECT tests.make_student(p_sj := %s, p_student_id := %s, p_hubspot_id := %s)",
                (credits, sid, local or f"tmp-{sid}"),
            )
            if local is None:
                conn.execute(
                    "UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL "
                    "WHERE student_id = %s",
                    (sid,),
                )
            world.contact_ids[sid] = cid
    world.exams = exam_ids
    world.students = sids
    return world


def book(url: str, pairs: list[tuple[str, str]]) -> list[dict]:
    """create_booking for each (student, exam) in one transaction; the results."""
    out = []
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for sid, exam in pairs:
            out.append(
                conn.execute(
                    "SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s, "
                    "p_mock_exam_id := %s, p_idempotency_key := %s, "
                    "p_attending_location := 'mississauga')",
                    (sid, f"{sid.lower()}@example.com", exam, uuid.uuid4().hex),
                ).fetchone()[0]
            )
    return out


# execute()'s connections, one per thread, database and libpq environment, kept open: a test's
# checks and polls (thousands a run) each started a server process of their own
_kept = threading.local()
_LIBPQ_ENV = ("PGOPTIONS", "PGTZ", "PGAPPNAME")


def _conns() -> dict[tuple, psycopg.Connection]:
    """This thread's kept connections: (url, *libpq environment) -> connection."""
    return _kept.__dict__.setdefault("conns", {})


def execute(url: str, sql: str, params: Any = None) -> psycopg.Cursor[dict]:
    """``sql`` run in autocommit on this thread's connection to ``url`` (a new one when the last
    was closed, or when PGOPTIONS/PGTZ/PGAPPNAME changed: a test that moves the clock through
    PGOPTIONS reads with its new setting); its cursor, rows as dicts."""
    kept = _conns()
    key = (url, *(os.environ.get(name) for name in _LIBPQ_ENV))
    conn = kept.get(key)
    if conn is not None and not (conn.closed or conn.broken):
        try:
            return conn.execute(sql, params)
        except psycopg.OperationalError:
            if not conn.broken:
                raise
            # the server ended the session (database dropped, closed, restarted): the
            # statement ran in no transaction that committed; once more on a new connection
        conn.close()
    conn = kept[key] = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    return conn.execute(sql, params)


def query(url: str, sql: str, params: Any = None) -> list[dict]:
    """``sql``'s rows (execute())."""
    return execute(url, sql, params).fetchall()


def close_kept(database: str | None = None) -> None:
    """Closes this thread's execute() connections: to ``database`` (its name), or all (at the
    end of each test module). What waits for a database to have no connection left calls it."""
    kept = _conns()
    for key in [k for k in kept
                if database is None or conninfo_to_dict(k[0]).get("dbname") == database]:
        kept.pop(key).close()


def pending(url: str) -> int:
    """Outbox rows still to push (dead letters excluded)."""
    return query(
        url,
        "SELECT count(*) AS n FROM hubspot_sync.sync_queue "
        "WHERE done_at IS NULL AND dead_at IS NULL",
    )[0]["n"]


def bookings(url: str) -> list[dict]:
    return query(url, "SELECT * FROM hubspot_sync.hubspot_bookings ORDER BY booking_id")


def contacts(url: str) -> list[dict]:
    return query(url, "SELECT * FROM hubspot_sync.hubspot_contact_credits ORDER BY student_id")


def hubspot_bookings(sb: Sandbox) -> dict[str, dict]:
    """Live HubSpot bookings by booking code (asserting there is one per code)."""
    out: dict[str, dict] = {}
    for obj in sb.objects(BOOKINGS):
        if obj["archived"]:
            continue
        code = obj["properties"]["booking_id"]
        assert code not in out, f"two HubSpot bookings for {code}"
        out[code] = obj
    return out


def calls(sb: Sandbox, suffix: str, type_id: str | None = None) -> list[dict]:
    """Requests whose path ends with ``suffix`` (e.g. '/batch/upsert'), of one object type."""
    return [
        r
        for r in sb.requests
        if r["path"].endswith(suffix) and (type_id is None or f"/{type_id}/" in r["path"])
    ]


def mockbook(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen:
    """Start ``mockbook ARGS`` as a subprocess with the given environment (added to ours)."""
    full = {**os.environ, **env}
    full.pop("MOCKBOOK_SCHEMA_SOURCE", None)
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **kwargs}
    return subprocess.Popen(
        [sys.executable, "-c", "from glue.cli import main; main()", *args],
        env=full,
        cwd=ROOT,
        **options,
    )


# the most a wait lasts with run_main(waits=False): the thread yields, no loop spins
INSTANT = 0.01


def _no_sleep(self: SystemClock, seconds: float) -> None:
    time.sleep(min(seconds, INSTANT))


def _no_wait(self: SystemClock, event: threading.Event, seconds: float) -> bool:
    return event.wait(min(seconds, INSTANT))


def run_main(args: list[str], env: dict[str, str], monkeypatch, capsys, *,
             waits: bool = True) -> tuple[int, str, str]:
    """`mockbook ARGS` in this process, through the console-script entry (exit-code mapping
    included), with ``env`` set for this call only: (exit code, stdout, stderr). Quicker than a
    subprocess (no interpreter start-up).

    ``waits=False``: the command's own waits pass at once (the backoff before a failed HubSpot
    call is tried again, the client's and the pull's; the notes' wait for a create that could
    still land), for a test about what the command does once its tries are spent: each try is
    still made, in order, a stop still ends a wait, and a 429's wait is HubSpot's (kept)."""
    from glue.cli import main

    capsys.readouterr()
    with monkeypatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        if not waits:
            patch.setattr(SystemClock, "sleep", _no_sleep)
            patch.setattr(SystemClock, "wait", _no_wait)
            patch.setattr(client_module, "BACKOFF_BASE", 0.0)
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def env_for(url: str, sb: Sandbox, **extra: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": glue_url(url),  # the glue runs as mockbook_glue, as in production
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HUBSPOT_BASE_URL": sb.base_url,
        "HUBSPOT_TIMEOUT_SECONDS": str(HTTP_TIMEOUT),
    }
    env.update(extra)
    return env


def open_db(url: str) -> Database:
    """The glue's database seam on ``url``'s database, as the glue's role."""
    return Database(glue_url(url))
