"""A pull (or a webhook-driven apply) running while a push is sending a contact's credits
(the sync design: the credit merge; glue.sync.push ``_push_contacts``, db/functions/
apply_pulled_contacts.sql). Real concurrency: the push (worker B, its own Database pool, in a
thread) is paused at one point of its contact write; meanwhile, from the main thread, the
student's balance changes locally (an admin's ``adjust_credits`` -1), optionally an admin
changes the credits in HubSpot (+3), and a pull or a webhook apply runs (another pool). Then B
goes on, the next cycles run, and both sides must hold base + every local change + every
HubSpot change, with one ``hubspot_adjustment`` total of exactly the admin's change (none
without one), and the invariants.

The points where B is paused ("order"):
- ``read``: in its batch read of HubSpot, before its own merge and ``record_credit_push``;
- ``write``: after ``record_credit_push(sent => false)`` (contact_credit_sync.pushing = what it
  sends), before HubSpot's ``batch/update``;
- ``written``: after HubSpot took the write, before the write-back (``complete_sync_batch``,
  whose trigger credit_push_done makes ``pushing`` the merge's base).
(After the write-back nothing is in flight: that is test_sync_merge's push-then-pull.)

What went wrong (the ``written`` order, before the fix): the pull saw HubSpot holding B's
values, took them for B's own write (right), made them the base and cleared ``pushing``
(pushing <@ credits). B's write-back then found no ``pushing`` and took the current local
balances, which by then included the deduction, for what HubSpot held: the next merge read
HubSpot's value minus that base as an admin's change, a phantom +1 ``hubspot_adjustment`` that
undid the deduction. With an admin's edit after B's write, the pull merged it against the base
of before B's write (the wrong delta), and the write-back's base made the next merge count it
again. No single field of contact_credit_sync can tell a pull, while a write is in flight,
whether HubSpot's value is before or after that write.

The rule now (apply_pulled_contacts): a contact whose outbox row a push holds under a live lease
is not merged by a pull or a webhook apply: it is BUSY, as a locked contact is, tried again a
few times, then left to the next pass (its pull dead letter is read again by id). Why each order
is then safe:
- ``read``: the pull is deferred; B's merge reads HubSpot after the admin's edit and merges it;
  B sends the balances read after its merge (the deduction may land after: it is queued behind
  B's lease and pushed next, against the base B's write-back recorded = what B sent).
- ``write``: deferred; B's write replaces an admin's edit made just before it, which the next
  pull finds in the property history (overwritten_credit_change) and merges.
- ``written``: deferred; B's write-back makes what it sent the base; the next pull (or push)
  merges an admin's later edit against that base.
"""

from __future__ import annotations

import threading
import time

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

from glue.config import PushSettings
from glue.hubspot.client import CONTACTS as CONTACTS_TYPE
from glue.hubspot.client import HubSpotClient
from glue.sandbox import CONTACTS, Sandbox
from glue.sync.pull import pull
from glue.sync.push import Pusher, push
from glue.sync.webhook_apply import WebhookProcessor

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

ORDERS = ("read", "write", "written")


class Gated(HubSpotClient):
    """A client that stops once at ``at`` of its first contact write (see the module
    docstring), says it arrived, and waits until released."""

    def __init__(self, *args, at: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.at = at
        self.arrived = threading.Event()
        self.release = threading.Event()

    def _gate(self, point: str) -> None:
        if point == self.at and not self.arrived.is_set():
            self.arrived.set()
            assert self.release.wait(60), "never released"

    def call(self, operation, fn, *args, **kwargs):
        if operation == f"read {CONTACTS_TYPE}":  # the push's batch read before its merge
            self._gate("read")
        return super().call(operation, fn, *args, **kwargs)

    def update(self, object_type, inputs):
        if object_type == CONTACTS_TYPE:
            self._gate("write")
        result = super().update(object_type, inputs)
        if object_type == CONTACTS_TYPE:
            self._gate("written")
        return result


def hubspot_cs(sb: Sandbox, contact_id: str) -> int:
    return int(sb.get(CONTACTS, contact_id)["properties"]["cs_credits"])


def contact_event(event_id: int, contact_id: str) -> dict:
    """A HubSpot webhook event: the contact's properties changed."""
    return {
        "eventId": event_id,
        "subscriptionId": 5,
        "portalId": 4242424,
        "appId": 1,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "object.propertyChange",
        "objectTypeId": CONTACTS_TYPE,
        "attemptNumber": 0,
        "objectId": int(contact_id),
        "propertyName": "cs_credits",
    }


@pytest.mark.parametrize(
    ("order", "admin", "via"),
    [(o, a, "pull") for o in ORDERS for a in (False, True)]
    + [("written", a, "webhook") for a in (False, True)],
)
def test_a_pull_during_a_push_loses_no_credit_change(
    push_db: str, sandbox: Sandbox, order: str, admin: bool, via: str
) -> None:
    fast(sandbox)
    student = f"PPR{ORDERS.index(order)}{int(admin)}{via[0].upper()}"
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "20"}])
    [contact_id] = seed_contacts(sandbox, [{"student_id": student, "cs_credits": "5"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)  # the baseline: 5 on both sides
    assert contact(push_db, student)["cs_credits"] == 5
    with psycopg.connect(push_db, autocommit=True) as conn:
        snap = snapshot(conn)
    book(push_db, student, exam_id)  # 5 -> 4 locally, the contact queued
    gated = Gated(
        access_token=settings.hubspot_access_token,
        base_url=settings.hubspot_base_url,
        limiter=client.limiter,
        backoff_base=0.05,
        at=order,
    )
    with open_db(push_db) as db_b, open_db(push_db) as db_p:
        failed: list[BaseException] = []

        def run_b() -> None:
            try:
                Pusher(db_b, gated, settings, worker="worker-B",
                       push_settings=PushSettings(lease_seconds=600)).push_batch()
            except BaseException as exc:  # re-raised below
                failed.append(exc)

        thread = threading.Thread(target=run_b, name="pusher-B")
        thread.start()
        try:
            assert gated.arrived.wait(60), f"B never reached {order}"
            # the student's balance changes locally while B is sending: 4 -> 3
            q(
                push_db,
                "SELECT hubspot_sync.adjust_credits(p_student_id := %s, "
                "p_credit_field := 'cs_credits', p_delta := -1, p_reason := 'test', "
                "p_actor := 'admin:test')",
                (student,),
            )
            if admin:  # an admin adds 3 in HubSpot (to whatever HubSpot holds now)
                next_millisecond(sandbox.clock)  # a distinct moment in HubSpot's history
                sandbox.touch(
                    CONTACTS, contact_id, cs_credits=str(hubspot_cs(sandbox, contact_id) + 3)
                )
                next_millisecond(sandbox.clock)
            if via == "pull":
                pull(
                    db_p, client, settings, reader=reader, only=("contacts",), sleep=lambda s: None
                )
            else:
                db_p.store_webhook_events([contact_event(1, contact_id)])
                WebhookProcessor(db_p, reader, settings, sleep=lambda s: None).process_once()
        finally:
            gated.release.set()
            thread.join(60)
        assert not thread.is_alive() and not failed, failed
        # the next cycles: a pull (it reads a contact it deferred again), the push of what is
        # left (the deduction, queued behind B's lease), a pull that finds nothing new
        pull(db_p, client, settings, reader=reader, only=("contacts",))
        push(db_p, client, settings, linger=0)
        again = pull(db_p, client, settings, reader=reader, only=("contacts",))
    expected = 5 - 1 - 1 + (3 if admin else 0)
    adjustments = [
        (delta, balance_after)
        for reason, _field, delta, balance_after in ledger(push_db, student)
        if reason == "hubspot_adjustment"
    ]
    assert sum(d for d, _ in adjustments) == (3 if admin else 0), ledger(push_db, student)
    assert contact(push_db, student)["cs_credits"] == expected, ledger(push_db, student)
    assert hubspot_cs(sandbox, contact_id) == expected
    assert again.targets["contacts"].merged == 0
    assert pending(push_db) == 0
    assert (
        q(
            push_db,
            "SELECT count(*) AS n FROM hubspot_sync.sync_errors "
            "WHERE direction = 'pull' AND NOT resolved",
        )[0]["n"]
        == 0
    )
    assert ledger_mismatches(push_db) == []
    with psycopg.connect(push_db, autocommit=True) as conn:
        check_invariants(conn, snap)
