"""Shared pieces of the pull, import, reconcile and notes tests (test_pull.py, test_import.py,
test_reconcile.py, test_notes.py): HubSpot records shaped as admins create them, clients with
fast local limiters, and readers of both sides.

The database of each test comes from push_helpers.push_db (a copy of a template built once per
run); the sandbox from sandbox_fixtures.sandbox (conformance-checked, asserted at teardown).
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import push_helpers
from glue_role import glue_url
from push_helpers import client_for, settings_for

from glue.config import Settings
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient, HubSpotError
from glue.hubspot.ratelimit import build_limiter
from glue.hubspot.reads import HubSpotReader
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (for the big in-process sandbox runs)."""
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def fast(sb: Sandbox) -> None:
    """Lift the sandbox's rate limits (for tests about something else than rate limits)."""
    sb.limiter.configure(rate_limit=None, search_rate=None)


def hubspot(
    url: str, sb: Sandbox, **overrides: Any
) -> tuple[Settings, HubSpotClient, HubSpotReader]:
    """Settings, client and reader for the sandbox; the reader's search limiter allows
    ``search_rate`` (default 50) searches per second."""
    search_rate = overrides.pop("search_rate", 50)
    settings = settings_for(url, sb, **overrides)
    client = client_for(settings)
    limiter = build_limiter(limit=search_rate, window=1.0, daily=10**9, redis_url=None, margin=0.0)
    return settings, client, HubSpotReader(client, limiter)


def exam_props(**values: Any) -> dict[str, str]:
    base = {
        "mock_exam_name": "Clinical Skills March",
        "mock_type": "Clinical Skills",
        "exam_date": "2031-03-01",
        "start_time": "09:00",
        "end_time": "12:00",
        "location": "mississauga",
        "capacity": "10",
        "is_active": "true",
        "mock_set": "A",
    }
    base.update({k: "" if v is None else str(v) for k, v in values.items()})
    return base


def contact_props(student_id: str, **values: Any) -> dict[str, str]:
    base = {
        "email": f"{student_id.lower()}@example.com",
        "student_id": student_id,
        "firstname": "First" + student_id,
        "lastname": "Last" + student_id,
        "sj_credits": "0",
        "cs_credits": "0",
        "sjmini_credits": "0",
        "mock_discussion_token": "0",
        "shared_mock_credits": "0",
    }
    base.update({k: "" if v is None else str(v) for k, v in values.items()})
    return base


def seed_exams(sb: Sandbox, rows: list[dict[str, Any]]) -> list[str]:
    return sb.seed(EXAMS, [exam_props(**r) for r in rows])


def seed_contacts(sb: Sandbox, rows: list[dict[str, Any]]) -> list[str]:
    return sb.seed(CONTACTS, [contact_props(**r) for r in rows])


def q(url: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur = push_helpers.execute(url, sql, params)  # a kept connection
    return cur.fetchall() if cur.description else []


def one(url: str, sql: str, params: Any = None) -> Any:
    rows = q(url, sql, params)
    return next(iter(rows[0].values())) if rows else None


def contact(url: str, student_id: str) -> dict[str, Any]:
    return q(
        url,
        "SELECT * FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s",
        (student_id,),
    )[0]


def exam(url: str, hubspot_id: str) -> dict[str, Any]:
    return q(
        url, "SELECT * FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (hubspot_id,)
    )[0]


def ledger(url: str, student_id: str) -> list[tuple[str, str, int, int]]:
    """(reason, field, delta, balance after) of a student's ledger rows, in order."""
    rows = q(
        url,
        "SELECT reason, credit_field, delta, balance_after FROM hubspot_sync.credit_ledger "
        "WHERE student_id = %s ORDER BY id",
        (student_id,),
    )
    return [(r["reason"], r["credit_field"], r["delta"], r["balance_after"]) for r in rows]


def ledger_mismatches(url: str) -> list[str]:
    """Contacts whose balance is not 0 + the sum of their ledger rows (every contact of these
    tests starts from 0: imported balances are 'import' ledger rows), one line each: the data
    model's
    ledger invariants as the database checks them (mockbook_internal.check_invariants, every
    contact's every field starting from 0 before the first ledger row)."""
    return [r["v"] for r in q(
        url,
        """
        SELECT i.invariant || ': ' || i.subject || ': ' || i.detail AS v
        FROM mockbook_internal.check_invariants(
            (SELECT coalesce(jsonb_object_agg(c.id, z.zeros), '{}'::jsonb)
             FROM hubspot_sync.hubspot_contact_credits AS c,
                  (SELECT jsonb_object_agg(f, 0) AS zeros
                   FROM unnest(mockbook_internal.credit_field_names()) AS f) AS z),
            0) AS i
        WHERE i.invariant IN ('ledger_balance', 'ledger_chain')
        """,
    )]


def invariant_violations(url: str) -> list[str]:
    return [r["v"] for r in q(url, "SELECT tests.invariant_violations() AS v")]


def book(url: str, student_id: str, exam_id: str, **extra: Any) -> dict[str, Any]:
    """create_booking for a student of tests (email student_id@example.com)."""
    args = {"p_dominant_hand": "right", "p_attending_location": "mississauga", **extra}
    named = ", ".join(f"{k} := %({k})s" for k in args)
    return one(
        url,
        "SELECT hubspot_sync.create_booking(p_student_id := %(sid)s, p_email := %(email)s, "
        f"p_mock_exam_id := %(exam)s, p_idempotency_key := %(key)s, {named})",
        {
            "sid": student_id,
            "email": f"{student_id.lower()}@example.com",
            "exam": exam_id,
            "key": uuid.uuid4().hex,
            **args,
        },
    )


def open_db(url: str) -> Database:
    """The glue's database seam on ``url``'s database, as the glue's role."""
    return Database(glue_url(url))


class FailingReader(HubSpotReader):
    """A reader whose searches start failing (HubSpot down) after ``ok`` of them."""

    def __init__(self, base: HubSpotReader, ok: int) -> None:
        self.__dict__.update(base.__dict__)
        self.ok = ok

    def search(self, *args, **kwargs):
        if self.ok <= 0:
            raise HubSpotError("Service unavailable", status=503, operation="search")
        self.ok -= 1
        return super().search(*args, **kwargs)


def booking_props(code: str, exam_id: str, student: str, contact_id: str, **values: str) -> dict:
    base = {
        "booking_id": code,
        "idempotency_key": f"key-{code}",
        "associated_mock_exam": exam_id,
        "associated_contact_id": contact_id,
        "student_id": student,
        "name": f"Student {student}",
        "email": f"{student.lower()}@example.com",
        "is_active": "Active",
        "token_used": "Clinical Skills Token",
        "dominant_hand": "right",
        "mock_type": "Clinical Skills",
        "exam_date": "1930780800000",  # 2031-03-09, as the push sends dates (midnight UTC, ms)
    }
    base.update(values)
    return base


def seed_account(sb: Sandbox, *, malformed: bool = True) -> dict:
    """Two exams, three students, five bookings (Active, Cancelled, Completed) and, with
    ``malformed``, one booking without a booking code."""
    exams = seed_exams(sb, [{"capacity": "4"}, {"mock_type": "Situational Judgment"}])
    contacts = seed_contacts(
        sb,
        [
            {"student_id": "IMP1", "cs_credits": "3", "shared_mock_credits": "1"},
            {"student_id": "IMP2", "sj_credits": "2"},
            {"student_id": "IMP3"},
        ],
    )
    e1, e2 = exams
    c1, c2, c3 = contacts
    bookings = sb.seed(
        BOOKINGS,
        [
            booking_props("BK-20310309-AAAAAA", e1, "IMP1", c1),
            booking_props("BK-20310309-BBBBBB", e1, "IMP2", c2),
            booking_props("BK-20310309-CCCCCC", e1, "IMP3", c3, is_active="Cancelled"),
            booking_props(
                "BK-20310309-DDDDDD",
                e2,
                "IMP1",
                c1,
                is_active="Completed",
                attendance="Yes",
                mock_type="Situational Judgment",
                token_used="Shared Token",
            ),
            booking_props(
                "BK-20310309-EEEEEE",
                e2,
                "IMP2",
                c2,
                mock_type="Situational Judgment",
                token_used="Situational Judgment Token",
            ),
            *(
                [booking_props("", e2, "IMP3", c3, mock_type="Situational Judgment")]
                if malformed
                else []
            ),
        ],
    )
    return {"exams": exams, "contacts": contacts, "bookings": bookings}
