"""The pull's steady state: a pass reads what changed since the newest record it applied, not the
overlap window before it again, while a record that reached HubSpot's search late inside that
window is still read (glue/sync/pull_edge.py).

A portal whose records all changed within the overlap (a first import's) used to be read whole on
every run until some record changed; these passes are on the sandbox's clock and count the search
calls each makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import push_helpers
import sandbox_fixtures
from pull_helpers import contact, contact_props, fast, hubspot, open_db, seed_contacts

from glue.sandbox import CONTACTS, Sandbox
from glue.sync.pull import pull

sandbox = sandbox_fixtures.sandbox
clock = sandbox_fixtures.clock
push_db = push_helpers.push_db


def contact_searches(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if r["path"] == f"/crm/v3/objects/{CONTACTS}/search")


def test_a_pass_on_an_unchanged_portal_reads_nothing_again(
    push_db: str, sandbox: Sandbox, clock
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    # 450 contacts changed within a second: three pages, all inside the overlap window
    ids = seed_contacts(sandbox, [{"student_id": f"EDG{i}"} for i in range(450)])
    with open_db(push_db) as db:
        first = pull(db, client, settings, reader=reader, only=("contacts",))
        assert first.targets["contacts"].inserted == 450
        for _ in range(3):
            before = contact_searches(sandbox)
            again = pull(db, client, settings, reader=reader, only=("contacts",))
            assert again.targets["contacts"].read == 0, again.as_dict()
            # how many the window holds, and what changed after it: nothing
            assert contact_searches(sandbox) - before == 2
            clock.advance(30)
        sandbox.touch(CONTACTS, ids[7], firstname="Edited")
        clock.advance(0.01)
        changed = pull(db, client, settings, reader=reader, only=("contacts",))
    assert changed.targets["contacts"].read == 1
    assert contact(push_db, "EDG7")["firstname"] == "Edited"


def test_a_record_searchable_late_inside_the_window_is_read(
    push_db: str, sandbox: Sandbox, clock
) -> None:
    """A contact edited just before a newer one, but searchable only after the pass that read
    the newer one went by: the next pass finds the window holding one record more than it
    remembers and reads the window again (without that, the edit is never read: it is older
    than the cursor)."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    # LATE1 last changed a month ago (outside the window); five others changed just now
    [late] = sandbox.seed(CONTACTS, [contact_props("LATE1")],
                          at=datetime.now(UTC) - timedelta(days=30))
    seed_contacts(sandbox, [{"student_id": f"WIN{i}"} for i in range(5)])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader, only=("contacts",))
        lag = sandbox_fixtures.REALISTIC_SEARCH_LAG
        sandbox.search_lag = lag
        clock.advance(1)
        sandbox.touch(CONTACTS, late, firstname="Late")  # searchable only in `lag` s
        clock.advance(0.01)
        seed_contacts(sandbox, [{"student_id": "NEWER"}])  # searchable at once, and newer
        first = pull(db, client, settings, reader=reader, only=("contacts",))
        assert first.targets["contacts"].inserted == 1  # NEWER; LATE1's change not visible yet
        assert contact(push_db, "LATE1")["firstname"] == "FirstLATE1"
        clock.advance(lag + 0.1)  # LATE1's change is searchable now, older than NEWER
        second = pull(db, client, settings, reader=reader, only=("contacts",))
    assert contact(push_db, "LATE1")["firstname"] == "Late"
    assert second.targets["contacts"].read >= 1
