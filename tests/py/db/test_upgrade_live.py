"""Every release upgrades to this code while students book.

For each release db/migrations/releases.json lists (so the next release is tested against this
code as soon as it is cut): a database at that release's revision, bookings and cancellations
made through that release's own functions by three threads calling as the apps do
(upgrade_load.py: one PostgREST-style transaction a call, service_role, statement_timeout 8 s),
and `mockbook migrate`'s upgrade to head in the middle of it. The upgrade takes its tables in
the lock order by one bounded statement and tries again when it cannot
(db/migrations/steps.py); before, 1.0 -> 1.1 deadlocked with a single booking thread in three
runs of three. Afterwards: the database is at head, no caller saw anything but a result or a
documented error (PTnnn: BUSY when a wait ran out), every answered booking and cancellation is
there, and the invariants (tests/py/invariants.py) hold from a snapshot taken before it."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from invariants import check_invariants, snapshot
from upgrade_load import SEED, Load, nothing_lost, releases
from waiting import wait_until

from glue.db import migrations

MakeDatabase = Callable[[str], str]


@pytest.mark.parametrize("release", releases())
def test_a_release_upgrades_to_head_while_students_book(
        fresh_database: MakeDatabase, release: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # three threads calling back to back: the lock step needs a moment when no call holds one
    # of its tables while it waits for another (a booking touches its contact first, a
    # cancellation its booking): tried again at once, as often as that takes
    monkeypatch.setenv("MOCKBOOK_MIGRATE_ATTEMPTS", "100")
    monkeypatch.setenv("MOCKBOOK_MIGRATE_RETRY_WAIT", "0.02")
    url = fresh_database("upgrade_live")
    migrations.upgrade(url, release)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
        snap = snapshot(conn)
    load = Load(url).start()
    try:
        wait_until("bookings through the release's functions", lambda: load.calls() >= 30)
        took: dict = {}
        migrations.upgrade(url, "head", migration=took)
        during = load.calls()
        wait_until("bookings through head's functions", lambda: load.calls() >= during + 30)
        load.pause()
        assert load.raw() == {}, load.outcomes
        with psycopg.connect(url, autocommit=True) as conn:
            check_invariants(conn, snap)
    finally:
        load.stop()
    assert migrations.current(url) == migrations.head()
    assert took["attempts"] >= 1 and took["locked_s"] > 0, took
    assert load.outcomes["ok"] > 60, load.outcomes
    nothing_lost(url, load)
