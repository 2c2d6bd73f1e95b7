"""What mockbook needs in a HubSpot portal and how it maps to the database: the custom objects,
every property the push, the pull, the import, the reconcile and the notes use (its HubSpot type
and options, its local column, who owns its value, which commands read or write it: ``SYNCED``
per kind of record), and the association label of exam prerequisites. glue/hubspot/setup.py
creates and checks it; the sandbox's ready portal (glue/sandbox/schema.py) is built from it.

Property types and field types as HubSpot's properties API defines them
(https://developers.hubspot.com/docs/api/crm/properties#property-type-and-fieldtype-values);
a date property holds a day (midnight UTC), a unique property (``hasUniqueValue``) is what the
push upserts bookings by (https://developers.hubspot.com/docs/api/crm/properties#create-unique-identifier-properties).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from glue.credit_fields import CREDIT_FIELDS
from glue.hubspot.client import CONTACTS

NOTES = "0-46"
GROUP = "mockbook"  # the property group setup creates for the properties it adds
# HubSpot's field types per property type (properties API: "type" and "fieldType").
FIELD_TYPES = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}
MOCK_TYPES = ("Situational Judgment", "Clinical Skills", "Mini-mock", "Mock Discussion")
# The commands that use the portal, as each property below names its readers and writers (the
# start-up check, glue.hubspot.setup.require, holds a command back only for what it uses); run
# and the worker use what their steps use (CYCLE).
COMMANDS = ("push", "pull", "import", "reconcile", "notes")
CYCLE = ("pull", "push", "notes")


@dataclass(frozen=True)
class Prop:
    """One property mockbook reads or writes."""

    name: str
    label: str
    type: str = "string"
    options: tuple[str, ...] = ()
    unique: bool = False
    column: str | None = None  # the database column, where it is not the property's name
    reads: tuple[str, ...] = ()  # the commands that read it (COMMANDS)
    writes: tuple[str, ...] = ()  # the commands that write it
    # who wins where the two sides differ (OWNERS): HubSpot's value is applied here, or
    # Postgres' value is pushed (the credits: merged, then pushed)
    owner: str = "hubspot"
    standard: bool = False  # one of HubSpot's own properties: setup neither creates nor checks it
    # what an empty value (none, "" or blanks) read from HubSpot means: "none" (the value is
    # cleared, or refused where the property is required) or "unknown" (the value Postgres holds
    # is kept: the stored one, or a new booking's copy of its exam's or contact's). Declared here
    # only: the glue names the column in the record's ``unknown`` list (Synced.unknown,
    # glue.db.pull), which the database's apply functions follow
    empty: str = "none"

    @property
    def local(self) -> str:
        """The database column of the property."""
        return self.column or self.name

    @property
    def field_type(self) -> str:
        return FIELD_TYPES[self.type]

    def to_hubspot(self, value: Any) -> str:
        """A local value as this property's HubSpot value."""
        return hubspot_date(value) if self.type == "date" else hubspot_value(value)

    def definition(self, group: str | None = GROUP) -> dict[str, Any]:
        """The properties API (and schema ``properties``) body of this property."""
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "hasUniqueValue": self.unique,
        }
        if group:
            body["groupName"] = group
        if self.options:
            body["options"] = [
                {"label": o, "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(self.options)
            ]
        return body


OWNERS = ("hubspot", "postgres")
EMPTY = ("none", "unknown")  # Prop.empty


# ---- HubSpot property values -----------------------------------------------------------------
def hubspot_date(value: Any) -> str:
    """A HubSpot date property: midnight UTC of the day, in epoch milliseconds ("" for none)."""
    if value in (None, ""):
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return str(int(midnight.timestamp()) * 1000)


def hubspot_value(value: Any) -> str:
    """Property values are strings; None clears ("")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _s(name: str, label: str, **kw: Any) -> Prop:
    return Prop(name, label, **kw)


# Who uses what (glue/sync): the push writes every booking property (glue.sync.push.bookings),
# an exam's total_bookings and capacity, a contact's credits and, on a contact it creates, its
# profile (student_id, names); before writing credits it reads the contact (the merge). The pull
# reads exams and contacts; the import and the reconcile read exams, contacts and bookings. The
# notes write and search mockbook_audit_id. Postgres owns the bookings, an exam's total_bookings
# and a contact's credits; HubSpot owns the rest.
def _booking(name: str, label: str, **kw: Any) -> Prop:
    return Prop(
        name, label, reads=("import", "reconcile"), writes=("push",), owner="postgres", **kw
    )


def _exam(name: str, label: str, **kw: Any) -> Prop:
    return Prop(name, label, reads=("pull", "import", "reconcile"), **kw)


def _contact(name: str, label: str, **kw: Any) -> Prop:
    return Prop(name, label, reads=("push", "pull", "import", "reconcile"), **kw)


# is_active of a waitlist place pushed as a booking object (push_state maps the place's status)
WAITLIST_STATUSES = ("Waitlisted", "Offered", "Accepted", "Expired", "Left", "Closed")

BOOKING_PROPS = (
    _booking("booking_id", "Booking ID", unique=True),
    _booking(
        "is_active",
        "Status",
        type="enumeration",
        # the four booking statuses, then the waitlist places' (the push shows each
        # place as a booking object with booking code WL-<place id>; docs/apps.md,
        # "Waitlist in HubSpot")
        options=("Active", "Cancelled", "Completed", "Failed", *WAITLIST_STATUSES),
    ),
    _booking("token_used", "Token used"),
    _booking("attendance", "Attendance", type="enumeration", options=("Yes", "No")),
    _booking("idempotency_key", "Idempotency key"),
    # a booking's copies of its exam's and its contact's values: empty, the copy Postgres holds
    _booking("mock_type", "Mock type", type="enumeration", options=MOCK_TYPES, empty="unknown"),
    _booking("exam_date", "Exam date", type="date", empty="unknown"),
    _booking("start_time", "Start time", empty="unknown"),
    _booking("end_time", "End time", empty="unknown"),
    _booking("associated_mock_exam", "Mock exam (HubSpot id)"),
    _booking("associated_contact_id", "Contact (HubSpot id)"),
    _booking("student_id", "Student ID", empty="unknown"),
    _booking("name", "Name"),
    _booking("email", "Email", column="student_email", empty="unknown"),
    _booking("attending_location", "Attending location"),
    _booking("dominant_hand", "Dominant hand"),
)
# The one booking property map: HubSpot booking property -> hubspot_bookings column;
# the push writes these, the pull, import and reconcile read them.
BOOKING_COLUMNS = {p.name: p.column or p.name for p in BOOKING_PROPS}
EXAM_PROPS = (
    _exam("mock_exam_name", "Mock exam name", empty="unknown"),
    _exam("mock_type", "Mock type", type="enumeration", options=MOCK_TYPES),
    _exam("exam_date", "Exam date", type="date"),
    _exam("start_time", "Start time"),
    _exam("end_time", "End time"),
    _exam("location", "Location"),
    _exam("capacity", "Capacity", type="number", writes=("push",)),
    _exam("total_bookings", "Total bookings", type="number", writes=("push",), owner="postgres"),
    _exam("is_active", "Active"),
    _exam("scheduled_activation_datetime", "Scheduled activation", type="datetime"),
    _exam("mock_set", "Mock set", type="enumeration", options=tuple("ABCDEFGH")),
    # no command reads or writes it: prerequisites travel as exam -> exam associations
    _s("prerequisite_exam_ids", "Prerequisite exam ids"),
)
# Every contact property mockbook maps (a contact it creates is given its profile: the
# properties HubSpot owns that the push writes); CONTACT_PROPS: those setup creates.
CONTACT_FIELDS = (
    _contact("email", "Email", standard=True),
    _contact("student_id", "Student ID", writes=("push",), empty="unknown"),
    _contact("firstname", "First name", writes=("push",), standard=True, empty="unknown"),
    _contact("lastname", "Last name", writes=("push",), standard=True, empty="unknown"),
    _contact("ndecc_exam_date", "NDECC exam date"),
    *(
        _contact(f.name, f.label, type="number", writes=("push",), owner="postgres",
                 empty="unknown")
        for f in CREDIT_FIELDS
    ),
)
CONTACT_PROPS = tuple(p for p in CONTACT_FIELDS if not p.standard)
NOTE_PROPS = (_s("mockbook_audit_id", "mockbook audit row", reads=("notes",), writes=("notes",)),)


@dataclass(frozen=True)
class CustomObject:
    key: str  # bookings | exams
    name: str  # the schema's name
    singular: str
    plural: str
    primary: str
    props: tuple[Prop, ...]
    setting: str  # the environment variable holding its object type id

    def schema_body(self) -> dict[str, Any]:
        """``POST /crm-object-schemas/v3/schemas``: the object with all its properties, and the
        association with contacts defined by ``associatedObjects``."""
        return {
            "name": self.name,
            "labels": {"singular": self.singular, "plural": self.plural},
            "primaryDisplayProperty": self.primary,
            "requiredProperties": [self.primary],
            "searchableProperties": [self.primary],
            "secondaryDisplayProperties": [],
            "properties": [p.definition(group=None) for p in self.props],
            "associatedObjects": ["CONTACT"],
        }


BOOKINGS = CustomObject(
    "bookings",
    "bookings",
    "Booking",
    "Bookings",
    "booking_id",
    BOOKING_PROPS,
    "HUBSPOT_BOOKINGS_OBJECT_TYPE",
)
EXAMS = CustomObject(
    "exams",
    "mock_exams",
    "Mock Exam",
    "Mock Exams",
    "mock_exam_name",
    EXAM_PROPS,
    "HUBSPOT_EXAMS_OBJECT_TYPE",
)
CATALOGUE = {"bookings": BOOKINGS, "exams": EXAMS}
STANDARD_PROPS = {CONTACTS: ("contacts", CONTACT_PROPS), NOTES: ("notes", NOTE_PROPS)}
PREREQUISITE_LABEL = "requires attendance at"  # the original admin app's label (1340)
PREREQUISITE_INVERSE = "is required by"


# ---- the records synced: HubSpot properties <-> local columns ----------------------------------
MERGED_IDS = "hs_merged_object_ids"  # a contact's: the ids of the contacts merged into it
# Waitlist places are pushed as HubSpot booking objects: push_state shapes a place as a booking
# (booking code WL-<place id>, is_active one of WAITLIST_STATUSES), upserted and associated
# exactly like a booking (docs/apps.md, "Waitlist in HubSpot").
WAITLIST_TABLE = "waitlist_entries"
WAITLIST_CODE_PREFIX = "WL-"


@dataclass(frozen=True)
class Synced:
    """One kind of record kept in both places: its table (hubspot_sync), HubSpot's
    last-modification property of it, and its properties with their columns."""

    key: str  # contacts | exams | bookings
    table: str
    lastmod: str
    props: tuple[Prop, ...]

    @property
    def columns(self) -> dict[str, str]:
        """{HubSpot property: local column}."""
        return {p.name: p.local for p in self.props}

    @property
    def read(self) -> tuple[str, ...]:
        """What a read of these records asks HubSpot for: every property a command reads, and
        the last-modification date."""
        return (*(p.name for p in self.props if p.reads), self.lastmod)

    def select(
        self, *, owner: str | None = None, reads: str | None = None, writes: str | None = None
    ) -> tuple[Prop, ...]:
        """The properties owned by ``owner``, read by the command ``reads``, written by
        ``writes`` (each None: any), in catalogue order."""
        return tuple(
            p
            for p in self.props
            if (owner is None or p.owner == owner)
            and (reads is None or reads in p.reads)
            and (writes is None or writes in p.writes)
        )

    def names(self, **kw: str | None) -> tuple[str, ...]:
        return tuple(p.name for p in self.select(**kw))

    def unknown(self, properties: dict[str, Any]) -> list[str]:
        """The columns of the properties of a record read from HubSpot whose value is empty
        (absent, null or blank) and declared unknown when empty (``Prop.empty``): the record's
        ``unknown`` list, whose values the apply functions keep."""
        return [p.local for p in self.props if p.empty == "unknown"
                and not str(properties.get(p.name) or "").strip()]


SYNCED = {
    "contacts": Synced("contacts", "hubspot_contact_credits", "lastmodifieddate", CONTACT_FIELDS),
    "exams": Synced("exams", "hubspot_mock_exams", "hs_lastmodifieddate", EXAM_PROPS),
    "bookings": Synced("bookings", "hubspot_bookings", "hs_lastmodifieddate", BOOKING_PROPS),
}
SYNCED_PROPS = tuple(p for s in SYNCED.values() for p in s.props)
