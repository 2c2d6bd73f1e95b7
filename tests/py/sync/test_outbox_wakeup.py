"""The outbox's wake-up signal without NOTIFY: no transaction sends a notification
(a NOTIFY commits under PostgreSQL's one cluster-wide lock, serialising every booking), and the
worker's OutboxWatch sees every committed change through the outbox's high-water mark: once per
committed row, nothing for a rolled-back transaction or a bookkeeping-only update."""

from __future__ import annotations

import uuid

import psycopg

from glue.cache import OutboxWatch


def drain(listener: psycopg.Connection, timeout: float = 0.5) -> list[str]:
    return [n.payload for n in listener.notifies(timeout=timeout, stop_after=None)]


def test_no_notification_and_the_watch_sees_each_commit(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as listener, \
            psycopg.connect(database_url, autocommit=True) as watcher, \
            psycopg.connect(database_url) as writer:
        listener.execute("LISTEN mockbook_sync")
        watch = OutboxWatch(watcher)
        with writer.transaction():
            exam = writer.execute("SELECT tests.make_exam()").fetchone()[0]
            students = [writer.execute("SELECT tests.make_student(p_sj := 1)").fetchone()[0]
                        for _ in range(3)]
            writer.execute(
                "UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 20 WHERE hubspot_id = %s",
                (exam,))
        queued = writer.execute(
            "SELECT count(*) FROM hubspot_sync.sync_queue WHERE id > %s",
            (watch.position.last_id,)).fetchone()[0]
        writer.commit()
        assert queued >= 5  # the exam twice, three students
        assert watch.poll() == queued

        # a booking through the RPC: outbox rows, and still no notification
        writer.execute("SELECT tests.book(%s, %s, %s)", (students[0], exam, str(uuid.uuid4())))
        writer.commit()
        assert watch.poll() >= 3  # the booking, the credit, the exam's total

        writer.execute("SELECT tests.make_student(p_sj := 1)")
        writer.rollback()
        assert watch.poll() == 0

        with writer.transaction():
            writer.execute(
                "UPDATE hubspot_sync.hubspot_mock_exams SET hubspot_last_sync_at = now() "
                "WHERE hubspot_id = %s", (exam,))
        assert watch.poll() == 0
        assert drain(listener) == []
