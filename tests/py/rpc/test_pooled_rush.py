"""The API through a transaction-mode pooler (Supabase's Supavisor on port 6543, played by
PgBouncer with ``pool_mode = transaction``), as an app's server-side client calls it there:
prepared statements off, each call one transaction as PostgREST makes it (role, JWT claims and
method set with ``set_config(..., true)``). B3's rush, 2,000 students for 20 seats, from 40
client connections that 6 server connections serve in turn: exactly 20 bookings, every loser
told EXAM_FULL and charged nothing, every credit accounted for in the ledger, the database's
invariants hold. Every server connection then holds nothing an earlier transaction left (no
session setting, prepared statement, temporary table, advisory lock or LISTEN): no answer can
depend on which client's transaction ran there before.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import pytest
from conftest import url_for
from invariants import check_invariants, snapshot
from pooler_fixtures import PgBouncer, leftovers
from test_concurrency import (
    BusyRetries,
    Outcome,
    balances,
    book,
    ledger_rows,
    make_exams,
    make_students,
    retrying_busy,
    scalar,
    undocumented,
)

STUDENTS, SEATS = 2000, 20  # bench B3's rush
CLIENTS, SERVER_CONNECTIONS = 40, 6


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PgBouncer]:
    with PgBouncer("transaction", url_for("postgres"), pool_size=SERVER_CONNECTIONS) as running:
        yield running


def through_the_pooler(url: str, tasks: Sequence[Callable[[psycopg.Connection], Any]],
                       clients: int) -> list[Outcome]:
    """Every task on ``clients`` client connections at once (opened first, then released
    together at a barrier), each connection as a server-side app opens it for a transaction
    pooler: autocommit, no server-side prepared statements."""
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(tasks)):
        todo.put(i)
    outcomes: list[Outcome | None] = [None] * len(tasks)
    barrier = threading.Barrier(clients)
    errors: list[BaseException] = []

    def client() -> None:
        try:
            conn = psycopg.connect(url, autocommit=True, prepare_threshold=None)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
            return
        with conn:
            try:
                barrier.wait(timeout=120)
            except threading.BrokenBarrierError:
                return
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcomes[i] = Outcome(value=tasks[i](conn))
                except Exception as exc:  # every outcome is asserted on
                    outcomes[i] = Outcome(error=exc)

    threads = [threading.Thread(target=client, name=f"mb-client-{n}") for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


def test_the_rush_through_a_transaction_pooler_books_exactly_the_seats(
    bouncer: PgBouncer, db: psycopg.Connection, database_url: str
) -> None:
    (exam,) = make_exams(db, 1, capacity=SEATS)
    students = make_students(db, STUDENTS, p_sj=1)
    snap = snapshot(db)
    pooled = bouncer.url(database_url)

    outcomes = through_the_pooler(
        pooled, [retrying_busy(book(s, exam), BusyRetries()) for s in students], CLIENTS)

    assert undocumented(outcomes) == []
    winners = [s for s, o in zip(students, outcomes, strict=True) if o.error is None]
    losers = [s for s, o in zip(students, outcomes, strict=True) if o.error is not None]
    assert len(winners) == SEATS
    assert Counter(o.code for o in outcomes if o.error is not None) == {
        "EXAM_FULL": STUDENTS - SEATS}
    results = [o.value for o in outcomes if o.error is None]
    assert sorted(r["total_bookings"] for r in results) == list(range(1, SEATS + 1))
    assert len({r["booking_id"] for r in results}) == SEATS
    assert scalar(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (exam,)) == SEATS
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                      " WHERE associated_mock_exam = %s AND is_active = 'Active'", (exam,)) == SEATS
    assert balances(db, winners, "sj_credits") == dict.fromkeys(winners, 0)
    assert balances(db, losers, "sj_credits") == dict.fromkeys(losers, 1)
    assert ledger_rows(db, students) == Counter(dict.fromkeys(winners, 1))
    check_invariants(db, snap)
    # the server connections served 40 clients' transactions in turn: none kept anything
    assert leftovers(bouncer, pooled) == []
