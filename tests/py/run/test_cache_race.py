"""Two keepers of the Redis contract keys at once (the recommended deployment: `mockbook
worker` plus
`mockbook run` from cron as the safety net; the webhook processor too): a keeper that read the
database before a commit must not write its older values over the newer ones another keeper
wrote after it.

Redis: REDIS_URL's server (default 127.0.0.1:6379), database 13, flushed before each test (no
other test uses it).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from glue.cache import CacheKeeper, changes_since, start_position

TEST_REDIS_DB = 13


def _redis_url() -> str:
    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit(base._replace(path=f"/{TEST_REDIS_DB}"))


@pytest.fixture
def r() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(_redis_url(), decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def one(conn: psycopg.Connection, query: str, params: tuple = ()):
    return conn.execute(query, params).fetchone()[0]


def test_full_rebuild_read_before_a_commit_does_not_overwrite_the_worker(
    database_url: str, glue_database_url: str, r: redis.Redis
) -> None:
    """`mockbook run` reads its snapshot; a booking commits; the worker applies it (capacity 4);
    only then does the run write its snapshot (capacity 5). Before the fix the keys stayed at 5
    until the exam changed again (or the next run, 15 minutes later): a free seat shown that is
    not there. The keepers now take turns (snapshot and write under one advisory lock), so the
    worker's read follows the run's write."""
    with psycopg.connect(database_url, autocommit=True) as app, \
            psycopg.connect(glue_database_url, autocommit=True) as run_conn, \
            psycopg.connect(glue_database_url, autocommit=True) as worker_conn:
        app.execute("SET mockbook.lock_timeout = '10s'")
        exam = one(app, "SELECT tests.make_exam(p_capacity := %s)", (5,))
        student = one(app, "SELECT tests.make_student(p_sj := %s)", (5,))
        run_keeper = CacheKeeper(_redis_url(), probe_interval=0)
        worker_keeper = CacheKeeper(_redis_url(), probe_interval=0)
        try:
            worker_keeper.rebuild_all(worker_conn)
            position = start_position(worker_conn)
            assert r.get(f"capacity:{exam}") == "5"

            def worker_applies() -> None:
                _, changes = changes_since(worker_conn, position)
                worker_keeper.apply_changes(worker_conn, changes)

            worker = threading.Thread(target=worker_applies)
            snapshot = run_keeper._snapshot

            def late_snapshot(*args, **kwargs):
                result = snapshot(*args, **kwargs)  # the run has read: seats 5
                if not worker.is_alive() and worker.ident is None:
                    one(app, "SELECT tests.book(%s, %s, %s)", (student, exam, str(uuid.uuid4())))
                    worker.start()
                    worker.join(1.0)  # the worker keeps the keys within 100 ms of the commit
                return result

            run_keeper._snapshot = late_snapshot  # type: ignore[method-assign]
            run_keeper.rebuild_all(run_conn)
            worker.join(10)
            assert not worker.is_alive()
            remaining = one(app, "SELECT capacity - total_bookings FROM "
                                 "hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (exam,))
            assert remaining == 4
            assert r.get(f"capacity:{exam}") == "4"
            assert r.get(f"exam:{exam}:bookings") == "1"
        finally:
            run_keeper.close()
            worker_keeper.close()
