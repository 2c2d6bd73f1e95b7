"""Rules written once (docs/duplicates.md): the credit fields are defined in the
database (mockbook_internal.credit_fields()) and the glue's copy (glue/credit_fields.py, needed
before a connection exists) must be that list exactly; the HubSpot booking property map is the
portal catalogue's, read by the push and the pull."""

from __future__ import annotations

import psycopg

from glue.credit_fields import CREDIT_FIELD_NAMES, CREDIT_FIELDS
from glue.db import revision as freeze
from glue.hubspot import catalogue as portal_catalogue
from glue.sync import notes, pull, push, reconcile


def test_glue_list_is_the_database_list(db: psycopg.Connection) -> None:
    rows = db.execute(
        "SELECT credit_field, label, pays_for FROM mockbook_internal.credit_fields()"
        ' ORDER BY "position"'
    ).fetchall()
    assert [(f.name, f.label, f.pays_for) for f in CREDIT_FIELDS] == rows


def test_every_credit_field_is_a_contact_column_and_a_ledger_value(db: psycopg.Connection) -> None:
    columns = {r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'hubspot_sync'"
        " AND table_name = 'hubspot_contact_credits' AND data_type = 'integer'")}
    assert set(CREDIT_FIELD_NAMES) <= columns
    (check,) = db.execute(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
        " WHERE c.conrelid = 'hubspot_sync.credit_ledger'::regclass AND c.contype = 'c'"
        " AND pg_get_constraintdef(c.oid) LIKE '%credit_field%'").fetchone()
    assert all(f"'{name}'" in check for name in CREDIT_FIELD_NAMES), check


def test_glue_modules_read_the_one_list() -> None:
    assert push.CREDIT_PROPERTIES == pull.CREDIT_FIELDS == CREDIT_FIELD_NAMES
    assert list(notes.CREDIT_LABELS) == list(CREDIT_FIELD_NAMES)
    contact_numbers = [p.name for p in portal_catalogue.CONTACT_PROPS if p.type == "number"]
    assert contact_numbers == list(CREDIT_FIELD_NAMES)


def test_one_booking_property_map(db: psycopg.Connection) -> None:
    columns_of = portal_catalogue.BOOKING_COLUMNS
    assert push.BOOKING_PROPERTIES is columns_of
    assert (*columns_of, "hs_lastmodifieddate") == pull.BOOKING_PROPERTIES
    assert set(reconcile.BOOKING_FIELDS) == set(columns_of) - {"booking_id"}
    assert [p.name for p in portal_catalogue.BOOKING_PROPS] == list(columns_of)
    columns = {r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'hubspot_sync' AND table_name = 'hubspot_bookings'")}
    assert set(columns_of.values()) <= columns
    assert columns_of["email"] == "student_email"


def test_the_booking_result_is_shaped_in_one_place() -> None:
    """The booking result's keys are written only in mockbook_internal.booking_json: every
    function that answers with a booking (the pipeline `book`, the replay `booking_result`,
    the waitlist's `accept_offer`) calls it instead of building the object again."""
    functions = freeze.DB_DIR / "functions"
    shaping = sorted(
        path.name for path in functions.glob("*.sql")
        if "'credits_remaining'" in (text := path.read_text()) and "'mock_exam_id'" in text
    )
    assert shaping == ["booking_json.sql"]
    for caller in ("book.sql", "booking_result.sql", "accept_offer.sql"):
        assert "mockbook_internal.booking_json(" in (functions / caller).read_text(), caller
