"""Rules written once (docs/duplicates.md): the credit fields are defined in the
database (mockbook_internal.credit_fields()) and the glue's copy (glue/credit_fields.py, needed
before a connection exists) must be that list exactly; the HubSpot property map of each synced
record (property <-> column, owner, readers and writers) is the portal catalogue's, read by the
push, the pull, the reconcile and setup."""

from __future__ import annotations

import re

import psycopg

from glue.credit_fields import CREDIT_FIELD_NAMES, CREDIT_FIELDS
from glue.db import revision as freeze
from glue.hubspot import catalogue as portal_catalogue
from glue.sync import notes, pull, reconcile
from glue.sync.push import bookings as push_bookings
from glue.sync.push import contacts as push_contacts
from glue.sync.push import exams as push_exams
from glue.sync.push import merge as push_merge
from glue.sync.push import records as push_records


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
        " WHERE c.contypid = 'hubspot_sync.ledger_credit_field'::regtype AND c.contype = 'c'"
        ).fetchone()
    assert all(f"'{name}'" in check for name in CREDIT_FIELD_NAMES), check


def test_glue_modules_read_the_one_list() -> None:
    assert push_contacts.CREDIT_PROPERTIES == pull.CREDIT_FIELDS == CREDIT_FIELD_NAMES
    assert list(notes.CREDIT_LABELS) == list(CREDIT_FIELD_NAMES)
    contact_numbers = [p.name for p in portal_catalogue.CONTACT_PROPS if p.type == "number"]
    assert contact_numbers == list(CREDIT_FIELD_NAMES)


def test_one_booking_property_map(db: psycopg.Connection) -> None:
    columns_of = portal_catalogue.BOOKING_COLUMNS
    assert {p.name: p.local for p in push_bookings.BOOKING_PROPERTIES} == columns_of
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
        path.relative_to(functions).as_posix() for path in functions.rglob("*.sql")
        if "'credits_remaining'" in (text := path.read_text()) and "'mock_exam_id'" in text
    )
    assert shaping == ["internal/booking_json.sql"]
    for caller in ("internal/book.sql", "internal/booking_result.sql", "api/accept_offer.sql"):
        assert "mockbook_internal.booking_json(" in (functions / caller).read_text(), caller


def test_the_pulls_opening_is_written_once() -> None:
    """How a batch of HubSpot records is applied -- each record in a subtransaction of its own, a
    failed one retried or dead-lettered, an applied one's dead letter closed or opened -- is
    written in mockbook_internal.apply_pulled_records only, which the glue's function of each
    kind calls with its one-record function."""
    functions = freeze.DB_DIR / "functions"

    def calling(name: str) -> list[str]:
        call = re.compile(rf"(?<!FUNCTION )mockbook_internal\.{name}\(")
        return sorted(path.relative_to(functions).as_posix() for path in functions.rglob("*.sql")
                      if call.search(path.read_text()))

    assert calling("pull_record_failed") == ["internal/apply_pulled_records.sql"]
    assert calling("note_pull_outcome") == ["internal/apply_pulled_records.sql",
                                            "internal/pull_record_failed.sql"]
    assert calling("apply_pulled_records") == [f"internal/apply_pulled_{kind}.sql"
                                               for kind in ("bookings", "contacts", "exams")]
    for kind in ("booking", "contact", "exam"):
        assert calling(f"apply_pulled_{kind}") == ["internal/apply_pulled_records.sql"], kind


def test_every_catalogue_property_has_its_column(db: psycopg.Connection) -> None:
    for synced in portal_catalogue.SYNCED.values():
        columns = {r[0] for r in db.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'hubspot_sync' AND table_name = %s", (synced.table,))}
        assert columns, synced.table
        assert set(synced.columns.values()) <= columns, synced.key


def test_the_sync_reads_its_property_lists_from_the_catalogue() -> None:
    """What each command asks HubSpot for, writes and compares, derived from the catalogue: the
    lists as they were written out by hand before (a change to them is a change of behaviour,
    to be made in the catalogue)."""
    synced = portal_catalogue.SYNCED
    profile = ("email", "student_id", "firstname", "lastname", "ndecc_exam_date")
    exam_fields = ("mock_exam_name", "mock_type", "exam_date", "start_time", "end_time",
                   "location", "capacity", "total_bookings", "is_active",
                   "scheduled_activation_datetime", "mock_set")
    credits = tuple(CREDIT_FIELD_NAMES)
    found = {
        "pull contacts": pull.CONTACT_PROPERTIES,
        "pull exams": pull.EXAM_PROPERTIES,
        "push merge read": push_merge.CONTACT_READ_PROPERTIES,
        "push profile": push_contacts.PROFILE_PROPERTIES,
        "push exams": tuple(p.name for p in push_exams.EXAM_PROPERTIES),
        "reconcile profile": reconcile.CONTACT_PROFILE,
        "reconcile exams": reconcile.EXAM_FIELDS,
        "reconcile numbers": reconcile.INT_FIELDS,
        "reconcile days": reconcile.DATE_FIELDS,
        "reconcile times": reconcile.TIME_FIELDS,
        "push tables": (push_records.CONTACTS_TABLE, push_records.EXAMS_TABLE,
                        push_records.BOOKINGS_TABLE),
        # setup creates and checks only what HubSpot does not define itself
        "setup contacts": tuple(p.name for p in portal_catalogue.CONTACT_PROPS),
    }
    assert found == {
        "pull contacts": (*profile, *credits, "lastmodifieddate"),
        "pull exams": (*exam_fields, "hs_lastmodifieddate"),
        "push merge read": (*profile, *credits, "lastmodifieddate", "hs_merged_object_ids"),
        "push profile": ("student_id", "firstname", "lastname"),
        "push exams": ("capacity", "total_bookings"),
        "reconcile profile": profile,
        "reconcile exams": tuple(f for f in exam_fields if f != "total_bookings"),
        "reconcile numbers": {"capacity", "total_bookings", *credits},
        "reconcile days": {"exam_date"},
        "reconcile times": {"scheduled_activation_datetime"},
        "push tables": tuple(synced[k].table for k in ("contacts", "exams", "bookings")),
        "setup contacts": ("student_id", "ndecc_exam_date", *credits),
    }
    assert portal_catalogue.EXAMS.props is synced["exams"].props
    assert portal_catalogue.BOOKINGS.props is synced["bookings"].props
