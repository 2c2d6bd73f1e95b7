"""A pull never applies a HubSpot read older than what a push already wrote, whatever the glue
hosts' clocks say: the order comes from HubSpot's own clock (the modification time its answer to
the push gives, recorded with the push's write-back; the read's hs_lastmodifieddate), and the
pull's other times from the database's.

The sandbox runs on the test's clock (HubSpot's); the push and the pull each get a clock 90 s
ahead of it or behind it, as two workers on hosts whose clocks drifted. The read the pull applies
is one HubSpot's search still serves from before the push's write (its index trails writes by a
few seconds): once the exam's outbox row is done, nothing else tells the two apart."""

from __future__ import annotations

import push_helpers
import pytest
import sandbox_fixtures
from fakeclock import FakeClock
from pull_helpers import exam, fast, hubspot, one, open_db, seed_exams

from glue.sandbox import EXAMS, Sandbox
from glue.sync.pull import Puller, pull, targets
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
clock = sandbox_fixtures.clock
push_db = push_helpers.push_db


def skewed(seconds: float) -> FakeClock:
    """A glue host's clock ``seconds`` off."""
    host = FakeClock()
    host.offset = seconds
    return host


@pytest.mark.parametrize(("push_skew", "pull_skew"), [(-90, 90), (90, -90), (-90, -90)])
def test_a_pull_never_applies_a_read_older_than_the_push_wrote(
    push_db: str, sandbox: Sandbox, clock, push_skew: float, pull_skew: float
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "3400"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader, clock=skewed(pull_skew))
        assert exam(push_db, exam_id)["capacity"] == 3400
        sandbox.search_lag = sandbox_fixtures.REALISTIC_SEARCH_LAG
        clock.advance(1)
        one(push_db, "SELECT hubspot_sync.set_exam_capacity(%s, 400)", (exam_id,))
        push(db, client, settings, linger=0, clock=skewed(push_skew))
        assert sandbox.get(EXAMS, exam_id)["properties"]["capacity"] == "400"
        # search still serves the exam as it was before the push's write: every record again
        stale = Puller(db, reader, clock=skewed(pull_skew)).run(targets(settings)["exams"],
                                                                full=True)
        assert stale.read == 1
        assert exam(push_db, exam_id)["capacity"] == 400  # the older read is left alone
        clock.advance(sandbox_fixtures.REALISTIC_SEARCH_LAG + 0.1)
        pull(db, client, settings, reader=reader, clock=skewed(pull_skew))
    assert exam(push_db, exam_id)["capacity"] == 400
    assert sandbox.get(EXAMS, exam_id)["properties"]["capacity"] == "400"
