"""What an empty HubSpot value means is declared once, per property, in the property catalogue
(glue.hubspot.catalogue, ``Prop.empty``), and the database's apply functions follow it for every
kind of record: each case declares one property "unknown" and then "none", applies a record with
that property empty through the glue's database calls (glue.db.pull.PullDatabase, as the pull,
the import, the reconcile and the webhooks call them) on a migrated database, and reads what was
stored: the value Postgres held (its stored value; for a new booking, its exam's or contact's
copy) when unknown, the empty value (a balance of 0, as a ledger row) when none.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import push_helpers
import pytest
from pull_helpers import booking_props, contact_props, exam_props, ledger, one, open_db

from glue.db.pull import PullDatabase
from glue.hubspot import catalogue
from glue.hubspot.catalogue import EMPTY, SYNCED

push_db = push_helpers.push_db

EXAM, CONTACT, STUDENT = "EM1", "EMC1", "EMS1"
LATER = "2031-01-02T00:00:00.000Z"


class Case(NamedTuple):
    kind: str  # a key of SYNCED
    prop: str
    held: Any  # what Postgres holds for it before the record
    none: Any  # what an empty value stores when declared "none"


CASES = [
    Case("exams", "mock_exam_name", "Clinical Skills March", None),
    Case("exams", "location", "mississauga", None),
    Case("contacts", "firstname", f"First{STUDENT}", None),
    Case("contacts", "ndecc_exam_date", "2027-01-15", None),
    Case("contacts", "sj_credits", 4, 0),
    Case("bookings", "start_time", "09:00", None),  # the exam's
    Case("bookings", "email", f"{STUDENT.lower()}@example.com", None),  # the contact's
]


def declare(monkeypatch: pytest.MonkeyPatch, kind: str, prop: str, empty: str) -> None:
    """The catalogue with ``prop`` of ``kind`` declared ``empty`` when empty (nothing else)."""
    synced = SYNCED[kind]
    assert any(p.name == prop for p in synced.props), (kind, prop)
    props = tuple(dataclasses.replace(p, empty=empty) if p.name == prop else p
                  for p in synced.props)
    monkeypatch.setitem(catalogue.SYNCED, kind, dataclasses.replace(synced, props=props))


def record(hid: str, props: dict[str, str]) -> dict[str, Any]:
    return {"id": hid, "properties": props}


def stored(url: str, case: Case) -> Any:
    column = next(p.local for p in SYNCED[case.kind].props if p.name == case.prop)
    table, key = {"exams": ("hubspot_mock_exams", EXAM), "contacts": (
        "hubspot_contact_credits", CONTACT), "bookings": ("hubspot_bookings", "EMB1")}[case.kind]
    return one(url, f"SELECT {column} FROM hubspot_sync.{table} WHERE hubspot_id = %s", (key,))


@pytest.mark.parametrize("empty", EMPTY)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}.{c.prop}")
def test_an_empty_value_means_what_the_catalogue_declares(
    push_db: str, monkeypatch: pytest.MonkeyPatch, case: Case, empty: str
) -> None:
    declare(monkeypatch, case.kind, case.prop, empty)
    exam = exam_props(hs_lastmodifieddate="2031-01-01T00:00:00.000Z")
    contact = contact_props(STUDENT, sj_credits="4", ndecc_exam_date="2027-01-15",
                            lastmodifieddate="2031-01-01T00:00:00.000Z")
    with open_db(push_db) as database:
        db = PullDatabase(database)
        assert db.apply_exams([record(EXAM, exam)], "test")["inserted"] == 1
        assert db.apply_contacts([record(CONTACT, contact)], "test")["inserted"] == 1
        if case.kind == "bookings":  # a new booking: what Postgres holds is its copies
            booking = booking_props("BK-EM-1", EXAM, STUDENT, CONTACT, start_time="10:00")
            result = db.apply_bookings([record("EMB1", {**booking, case.prop: ""})], "test")
        else:
            assert stored(push_db, case) == case.held
            hid, props, apply = {"exams": (EXAM, exam, db.apply_exams),
                                 "contacts": (CONTACT, contact, db.apply_contacts)}[case.kind]
            again = {**props, case.prop: "", SYNCED[case.kind].lastmod: LATER}
            result = apply([record(hid, again)], "test")
    assert result["errors"] == [], result
    assert stored(push_db, case) == (case.held if empty == "unknown" else case.none)
    if case.prop == "sj_credits":
        adjusted = [row for row in ledger(push_db, STUDENT) if row[0] == "hubspot_adjustment"]
        assert adjusted == ([] if empty == "unknown" else [
            ("hubspot_adjustment", "sj_credits", -4, 0)])
