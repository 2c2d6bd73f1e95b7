"""The outbox's wake-up signal: one pg_notify per table per committing transaction (SPEC §6),
none for a rolled-back transaction, none for bookkeeping-only updates."""

from __future__ import annotations

import psycopg


def drain(listener: psycopg.Connection, timeout: float = 1.0) -> list[str]:
    return [n.payload for n in listener.notifies(timeout=timeout, stop_after=None)]


def test_one_notification_per_table_per_transaction(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as listener, \
            psycopg.connect(database_url) as writer:
        listener.execute("LISTEN mockbook_sync")
        with writer.transaction():
            exam = writer.execute("SELECT tests.make_exam()").fetchone()[0]
            for _ in range(3):
                writer.execute("SELECT tests.make_student(p_sj := 1)")
            writer.execute(
                "UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 20 WHERE hubspot_id = %s",
                (exam,))
        payloads = drain(listener)
        assert sorted(payloads) == ["hubspot_contact_credits", "hubspot_mock_exams"]

        writer.execute("SELECT tests.make_student(p_sj := 1)")
        writer.rollback()
        assert drain(listener) == []

        with writer.transaction():
            writer.execute(
                "UPDATE hubspot_sync.hubspot_mock_exams SET hubspot_last_sync_at = now() "
                "WHERE hubspot_id = %s", (exam,))
        assert drain(listener) == []
