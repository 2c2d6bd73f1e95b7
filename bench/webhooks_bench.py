"""B9: an exam's capacity edited in HubSpot is visible in Postgres and in the Redis
keys within 5 s p95, through the webhooks.

`mockbook webhooks serve` runs as a subprocess on a database of its own (WEBHOOKS_DB, built
like the bench's) against an in-process Sandbox(conformance=False, rate_limit=100,
rate_window=10) that sends it webhooks (glue/sandbox/webhooks.py: signed v3, batched, retried).
B9_EXAMS exams are created in the sandbox and imported by one pull; then their capacities are
edited in the sandbox (``Sandbox.touch``, as an admin would) at a steady B9_RATE per second,
round-robin, each edit a new value. A poller reads Postgres and Redis every 20 ms; lag = the
first time both show the new value (Redis: ``capacity:{id}`` = capacity - bookings) - the time
of the edit. The target is absolute (≤ 5 s p95, the platform's own design goal for exams), so
there is no reference workload, as for B6. Without REDIS_URL only Postgres is measured (noted).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import fixtures
import psycopg
from common import Figure, admin_url, log, not_measured, percentile, recreate_database

WEBHOOKS_DB = "mockbook_bench_webhooks"
B9_EXAMS = 10
B9_RATE = 2.0  # edits per second
B9_REDIS_DB = 13
TITLE = "exam change in HubSpot -> Postgres and Redis via webhooks, p95"


def _redis_url() -> str | None:
    base = os.environ.get("REDIS_URL")
    if not base:
        return None
    return urlunsplit(urlsplit(base)._replace(path=f"/{B9_REDIS_DB}"))


def b9(quick: bool, schema_source: str) -> list[Figure]:
    try:
        import redis

        from glue.config import Settings
        from glue.db.database import Database
        from glue.hubspot.client import HubSpotClient
        from glue.sandbox import EXAMS, Sandbox
        from glue.sandbox.webhooks import attach
        from glue.sync.pull import pull
    except Exception as exc:
        return [not_measured("B9", "B9", TITLE, f"glue not importable: {exc}", target=5.0,
                             target_op="<=")]
    seconds = 15 if quick else 30
    count = int(B9_RATE * seconds)
    token, secret = "bench-webhooks-token", "bench-webhooks-secret"
    url = recreate_database(WEBHOOKS_DB)
    fixtures.build(url, schema_source)
    redis_url = _redis_url()
    r = redis.Redis.from_url(redis_url, decode_responses=True) if redis_url else None
    if r is not None:
        r.flushdb()
    with psycopg.connect(url, autocommit=True) as conn:
        (day0,) = conn.execute("SELECT hubspot_sync.business_today() + 10").fetchone()
    log(f"B9: `mockbook webhooks serve` on {WEBHOOKS_DB}, {count} capacity edits at "
        f"{B9_RATE:g}/s on {B9_EXAMS} exams, Redis {'on' if r else 'off'}")
    with Sandbox(conformance=False, rate_limit=100, rate_window=10.0, access_token=token,
                 setup=True) as sb:
        exam_ids = sb.seed(EXAMS, [{
            "mock_exam_name": f"webhook exam {k}", "mock_type": "Situational Judgment",
            "exam_date": str(day0 + timedelta(days=k)), "start_time": "09:00",
            "end_time": "12:00", "location": "mississauga", "capacity": "100",
            "is_active": "true", "mock_set": "A"} for k in range(B9_EXAMS)])
        settings = Settings(database_url=url, hubspot_access_token=token,
                            hubspot_base_url=sb.base_url)
        with Database(url) as db:
            pull(db, HubSpotClient.from_settings(settings), settings, only=("exams",))
        env = {k: v for k, v in os.environ.items() if k != "MOCKBOOK_SCHEMA_SOURCE"}
        env.update(DATABASE_URL=url, HUBSPOT_ACCESS_TOKEN=token, HUBSPOT_BASE_URL=sb.base_url,
                   HUBSPOT_CLIENT_SECRET=secret, HUBSPOT_TIMEOUT_SECONDS="10")
        env.pop("REDIS_URL", None)
        if redis_url:
            env["REDIS_URL"] = redis_url
        log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in the finally below)
            "w+", prefix="mockbook-bench-webhooks-", suffix=".log", delete=False)
        proc = subprocess.Popen(
            [sys.executable, "-u", "-c", "from glue.cli import main; main()", "webhooks",
             "serve", "--port", "0"],
            env=env, cwd=str(Path(__file__).resolve().parent.parent), stdout=subprocess.PIPE,
            stderr=log_file, text=True)
        sender = None
        edits: list[tuple[str, int, float]] = []  # (exam, new capacity, time of the edit)
        seen: dict[int, float] = {}
        stop = threading.Event()
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            if "listening on " not in line:
                raise RuntimeError(f"webhooks serve did not start: {line!r} "
                                   f"{Path(log_file.name).read_text()[-800:]}")
            target = line.split("listening on ", 1)[1].strip()
            sender = attach(sb, target, secret)

            def poll() -> None:
                with psycopg.connect(url, autocommit=True) as conn:
                    while not stop.is_set():
                        now = time.time()
                        rows = dict(conn.execute(
                            "SELECT hubspot_id, capacity FROM hubspot_sync.hubspot_mock_exams "
                            "WHERE hubspot_id = ANY(%s)", (exam_ids,)).fetchall())
                        keys = (dict(zip(exam_ids, r.mget([f"capacity:{e}" for e in exam_ids]),
                                         strict=True)) if r is not None else None)
                        for k, (exam_id, capacity, _at) in enumerate(list(edits)):
                            if k in seen or rows.get(exam_id, 0) < capacity:
                                continue
                            if keys is not None and int(keys.get(exam_id) or 0) < capacity:
                                continue
                            seen[k] = now
                        time.sleep(0.02)

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            start = time.monotonic()
            for k in range(count):
                pause = start + k / B9_RATE - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                exam_id = exam_ids[k % B9_EXAMS]
                capacity = 101 + k
                edits.append((exam_id, capacity, time.time()))
                sb.touch(EXAMS, exam_id, capacity=str(capacity))
            deadline = time.monotonic() + 60
            while len(seen) < len(edits) and time.monotonic() < deadline:
                time.sleep(0.1)
            stop.set()
            poller.join(timeout=5)
            stats = {"delivered": sender.delivered, "requests": sender.requests,
                     "failures": sender.failures}
            calls = len(sb.requests)
        finally:
            stop.set()
            if sender is not None:
                sender.stop()
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            log_file.close()
    server_log = Path(log_file.name).read_text()
    os.unlink(log_file.name)
    if r is not None:
        r.flushdb()
        r.close()
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{WEBHOOKS_DB}" WITH (FORCE)')
    lags = [seen[k] - at for k, (_e, _c, at) in enumerate(edits) if k in seen]
    missing = len(edits) - len(lags)
    p = {q: round(percentile(lags, q), 3) for q in (50, 95, 99)} if lags else {}
    fig = Figure(
        id="B9", bench="B9", title=TITLE, value=p.get(95), unit="s p95", target=5.0,
        target_op="<=",
        how=(f"`mockbook webhooks serve` (subprocess) on a database of its own ({WEBHOOKS_DB}) "
             f"against an in-process Sandbox(conformance=False, rate_limit=100, rate_window=10) "
             f"sending it signed webhooks (glue/sandbox/webhooks.py); {B9_EXAMS} exams imported "
             f"by one pull; {count} capacity edits in the sandbox at {B9_RATE:g}/s round-robin. "
             f"Lag = first time Postgres (hubspot_mock_exams.capacity) "
             f"{'and Redis (capacity:{id}) both show' if r is not None else 'shows'} the new "
             f"value (polled every 20 ms) - the time of the edit. No reference workload: the "
             f"target is absolute."),
        note=("" if r is not None else "REDIS_URL not set: Postgres only. ")
        + (f"{missing} edits never seen within 60 s" if missing else ""))
    details: dict[str, Any] = dict(
        edits=len(edits), lag_s=p, lag_max_s=round(max(lags), 3) if lags else None,
        missing=missing, hubspot_calls=calls, sender=stats, redis=r is not None,
        server_exit=proc.returncode, server_log_tail=server_log[-1500:])
    fig.details.update(details)
    if missing or not lags:
        fig.status = "error"
    log(f"  B9: lag p50/95/99 {p} s, {calls} HubSpot calls, {missing} missing")
    return [fig.judge()]
