"""A contact push whose write reached HubSpot but whose answer was lost, then retried.

The sequence, for real: the student books (5 -> 4, the contact queued); push A sends 4 and
HubSpot applies it, but every answer to that ``batch/update`` is lost (the sandbox's
``lost_response`` fault: applied, then the connection dropped, the client's own retries
included), so A gives the row back for a later attempt; the student books again (4 -> 3, a
real ``create_booking``); optionally an admin adds 3 in HubSpot (4 -> 7) and, in the ``pull``
variant, a pull runs before the retry; then the retry push and a pull that must find nothing.
Both sides must end at 5 - 1 - 1 (+ 3), with one ``hubspot_adjustment`` total of exactly the
admin's change (none without one), and the invariants.

What went wrong without the fix (exact figures on that code): the retry's claim (the
credit_push_claimed trigger) replaced contact_credit_sync.pushing, the values A had sent (4),
with the current balances (3). The retry's merge then read HubSpot's 4 as neither the push's
own write nor the base (5): an admin's change of -1, a phantom ``hubspot_adjustment`` that
counted the second booking twice (both sides ended at 2, not 3). With the admin's +3, HubSpot's
7 was merged against the base of before A's write (5): +2 instead of +3 (both sides ended at 5,
not 6), in the ``push`` variant and in the ``pull`` one (a search result has no property
history to tell that A's write had landed).

The rule now: a claim keeps a ``pushing`` already recorded (an attempt of unknown outcome);
the merge (apply_pulled_contacts) takes a value it sent that HubSpot's property history shows
written after the base was read as HubSpot's base, as a write-back would have made it, and
settles ``pushing``; a pull's search result for such a contact whose values are not all what
was sent is read again with its history (``recheck``).
"""

from __future__ import annotations

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from invariants import check_invariants, snapshot
from pull_helpers import (
    book,
    contact,
    fast,
    hubspot,
    ledger,
    ledger_mismatches,
    open_db,
    q,
    seed_contacts,
    seed_exams,
)
from push_helpers import pending
from waiting import next_millisecond

from glue.hubspot.client import CONTACTS as CONTACTS_TYPE
from glue.hubspot.client import HubSpotClient
from glue.sandbox import CONTACTS, Sandbox
from glue.sync.pull import pull
from glue.sync.push import Pusher, push

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


class LosingAnswers(HubSpotClient):
    """A client whose first contact ``batch/update`` is applied by the sandbox with every
    answer lost (the client's own retries included): HubSpot has the write, the push sees a
    failure."""

    def __init__(self, *args, sandbox: Sandbox, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sandbox = sandbox
        self.lost: BaseException | None = None

    def update(self, object_type, inputs):
        if object_type != CONTACTS_TYPE or self.lost is not None:
            return super().update(object_type, inputs)
        self.sandbox.faults.lost_response_rate = 1.0
        try:
            return super().update(object_type, inputs)
        except BaseException as exc:
            self.lost = exc
            raise
        finally:
            self.sandbox.faults.lost_response_rate = 0.0


def hubspot_cs(sb: Sandbox, contact_id: str) -> int:
    return int(sb.get(CONTACTS, contact_id)["properties"]["cs_credits"])


@pytest.mark.parametrize(
    ("admin", "via"), [(a, v) for v in ("push", "pull") for a in (False, True)]
)
def test_a_retried_push_after_a_lost_answer_counts_each_change_once(
    push_db: str, sandbox: Sandbox, admin: bool, via: str
) -> None:
    fast(sandbox)
    student = f"PLA{int(admin)}{via[1].upper()}"
    settings, client, reader = hubspot(push_db, sandbox)
    exam_a, exam_b = seed_exams(
        sandbox, [{"capacity": "20"}, {"capacity": "20", "exam_date": "2031-03-08"}]
    )
    [contact_id] = seed_contacts(sandbox, [{"student_id": student, "cs_credits": "5"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)  # the baseline: 5 on both sides
    assert contact(push_db, student)["cs_credits"] == 5
    with psycopg.connect(push_db, autocommit=True) as conn:
        snap = snapshot(conn)
    book(push_db, student, exam_a)  # 5 -> 4 locally, the contact queued
    losing = LosingAnswers(
        access_token=settings.hubspot_access_token,
        base_url=settings.hubspot_base_url,
        limiter=client.limiter,
        timeout=settings.http_timeout_seconds,
        backoff_base=0.05,
        sandbox=sandbox,
    )
    with open_db(push_db) as db:
        first = Pusher(db, losing, settings, worker="worker-A").push_batch()
        assert first > 0
        # The lost-answer path for real: HubSpot applied A's write, A saw only a failure and
        # gave the contact's row back for a later attempt.
        assert losing.lost is not None
        lost = [
            r
            for r in sandbox.requests
            if r["path"].endswith(f"/objects/{CONTACTS_TYPE}/batch/update")
        ]
        assert lost and all(r["fault"] == "lost_response" and r["status"] == 200 for r in lost)
        assert hubspot_cs(sandbox, contact_id) == 4
        [row] = q(
            push_db,
            "SELECT q.attempts, q.last_error, q.lease_owner FROM hubspot_sync.sync_queue AS q "
            "JOIN hubspot_sync.hubspot_contact_credits AS c ON c.id = q.record_id "
            "WHERE c.student_id = %s AND q.done_at IS NULL AND q.dead_at IS NULL",
            (student,),
        )
        assert row["attempts"] == 1 and row["last_error"] and row["lease_owner"] is None, row

        book(push_db, student, exam_b)  # between the attempts: 4 -> 3 locally
        if admin:  # an admin adds 3 in HubSpot, to the 4 that A's write left there
            next_millisecond(sandbox.clock)  # a distinct moment in HubSpot's history
            sandbox.touch(CONTACTS, contact_id, cs_credits=str(hubspot_cs(sandbox, contact_id) + 3))
            next_millisecond(sandbox.clock)
        if via == "pull":
            pull(db, client, settings, reader=reader, only=("contacts",), sleep=lambda s: None)
        # the retry, due now rather than after its backoff
        q(
            push_db,
            "UPDATE hubspot_sync.sync_queue SET next_attempt_at = now() "
            "WHERE done_at IS NULL AND dead_at IS NULL",
        )
        push(db, client, settings, linger=0)
        again = pull(db, client, settings, reader=reader, only=("contacts",))
    expected = 5 - 1 - 1 + (3 if admin else 0)
    adjustments = [
        d for reason, _f, d, _b in ledger(push_db, student) if reason == "hubspot_adjustment"
    ]
    assert sum(adjustments) == (3 if admin else 0), ledger(push_db, student)
    assert contact(push_db, student)["cs_credits"] == expected, ledger(push_db, student)
    assert hubspot_cs(sandbox, contact_id) == expected
    assert again.targets["contacts"].merged == 0
    assert pending(push_db) == 0
    assert ledger_mismatches(push_db) == []
    with psycopg.connect(push_db, autocommit=True) as conn:
        check_invariants(conn, snap)
