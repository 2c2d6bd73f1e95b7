"""The demo's building blocks; glue/demo/story.py tells the story.

Everything the demo writes is marked, so a second run (or `mockbook demo` on a database that
holds other data) resets exactly its own rows and nothing else:

- students: student_id ``DEMO`` + 6 digits AND an email at ``demo.mockbook.invalid``;
- exams: mock_exam_name starting with ``[demo] `` (their HubSpot ids are the ones the in-process
  sandbox hands out, because the push must find them there);
- bookings: a demo student's booking of a demo exam (idempotency keys ``demo-…``).
A booking that joins a demo row with a non-demo row stops the reset (nothing is deleted).
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg

from glue.config import ConfigError, Settings
from glue.credit_fields import CREDIT_FIELD_NAMES as CREDIT_PROPERTIES
from glue.db import demo as db
from glue.db.database import Database
from glue.hubspot import portal
from glue.hubspot.catalogue import WAITLIST_CODE_PREFIX, hubspot_date
from glue.hubspot.client import HubSpotClient
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.push import Pusher, PushStats

# How it works (the detail of the module docstring):
#
# Students and exams are loaded as the pull or the import would write them (``mockbook.origin =
# 'hubspot'``: already in HubSpot, so not queued for the push); everything after that goes through
# the RPC functions exactly as PostgREST calls them (role service_role, JWT claims, one
# transaction per call), from a psycopg pool, like an app behind PostgREST's own pool
# (glue/demo/rush.py).
#
# (One module for the data and everything checked against it: the markers, the reset, the load,
# the checks, the push and the dashboard's queries all read the same Plan.)

STUDENT_PATTERN = "^DEMO[0-9]{6}$"
EMAIL_DOMAIN = "demo.mockbook.invalid"
EXAM_PREFIX = "[demo] "
KEY_PREFIX = "demo-"
ACTOR = "mockbook demo"
LOCK_KEY = "mockbook:demo"
# The demo's in-process sandbox is a portal of its own whose record ids start at DEMO_FIRST_ID + 1,
# far from `mockbook sandbox`'s (10,001 on, glue.sandbox.store.FIRST_ID) and from real HubSpot's
# (contact and custom-object ids are below 10^12 today): a pull from another HubSpot never hands
# out an id that a demo row holds. A row outside the demo holding an id of this range stops the
# demo with a message saying so (check_id_range).
DEMO_PORTAL_ID, DEMO_FIRST_ID, DEMO_ID_RANGE = portal.DEMO_PORTAL_ID, portal.DEMO_FIRST_ID, \
    portal.DEMO_ID_RANGE
DEMO_PUSH = "push:demo"  # the sync_metadata row of the demo's push (to its own sandbox)

SJ, CS, MINI, MD = "Situational Judgment", "Clinical Skills", "Mini-mock", "Mock Discussion"
LOCATIONS = ("mississauga", "calgary", "vancouver", "montreal", "richmond_hill")


class DemoError(ConfigError):
    """The demo cannot run on this database (one line for the user, exit 2)."""


@dataclass(frozen=True)
class Scale:
    name: str
    students: int
    rush_exams: tuple[tuple[str, int], ...]  # (mock type, capacity): the few small exams
    large_exams: tuple[tuple[str, int], ...]  # where the week's ordinary bookings go
    regular_bookings: int  # calls spread over the large exams before the rush
    rush_requests: int  # distinct students released together on the small exams
    connections: int  # the pool (PostgREST's db-pool plays this part in production)
    rebooks: int


SCALES = {
    "full": Scale(
        "full",
        students=3000,
        rush_exams=((SJ, 8), (SJ, 12), (CS, 10), (CS, 18), (MINI, 15), (MD, 20)),
        large_exams=(
            (SJ, 300),
            (SJ, 250),
            (CS, 200),
            (CS, 150),
            (MINI, 200),
            (MINI, 120),
            (MD, 150),
            (MD, 100),
        ),
        regular_bookings=1500,
        rush_requests=800,
        connections=40,
        rebooks=20,
    ),
    "small": Scale(
        "small",
        students=400,
        rush_exams=((SJ, 8), (CS, 10), (MD, 12)),
        large_exams=((SJ, 40), (SJ, 30), (CS, 40), (MINI, 30), (MD, 30)),
        regular_bookings=150,
        rush_requests=250,
        connections=16,
        rebooks=5,
    ),
}


# ---- the sample data ----------------------------------------------------------------------------
@dataclass
class Exam:
    name: str
    mock_type: str
    exam_date: date
    capacity: int
    location: str
    rush: bool
    hubspot_id: str = ""


@dataclass
class Student:
    student_id: str
    email: str
    firstname: str
    lastname: str
    credits: dict[str, int]
    hubspot_id: str = ""


@dataclass
class Plan:
    scale: Scale
    exams: list[Exam]
    students: list[Student]

    def start_totals(self) -> dict[str, int]:
        return {f: sum(s.credits[f] for s in self.students) for f in CREDIT_PROPERTIES}


def make_plan(scale: Scale, today: date, rng: random.Random) -> Plan:
    """Exams of all four mock types (the rush ones on days of their own) and students with a
    spread of credits: some have none of a kind, so INSUFFICIENT_CREDITS shows up too."""
    exams = []
    for i, (mock_type, capacity) in enumerate(scale.rush_exams):
        day = today + timedelta(days=10 + i)
        exams.append(Exam("", mock_type, day, capacity, LOCATIONS[i % 5], True))
    for i, (mock_type, capacity) in enumerate(scale.large_exams):
        day = today + timedelta(days=7 + 4 * i)
        exams.append(Exam("", mock_type, day, capacity, LOCATIONS[(i + 2) % 5], False))
    for exam in exams:
        exam.name = f"{EXAM_PREFIX}{exam.mock_type} {exam.exam_date:%b %d} {exam.location}"
    students = []
    for n in range(1, scale.students + 1):
        credits = {
            "sj_credits": rng.choice((0, 1, 2, 3)),
            "cs_credits": rng.choice((0, 1, 2)),
            "sjmini_credits": rng.choice((0, 1, 2)),
            "mock_discussion_token": rng.choice((0, 1, 1)),
            "shared_mock_credits": rng.choice((0, 0, 0, 2)),
        }
        sid = f"DEMO{n:06d}"
        students.append(
            Student(sid, f"{sid.lower()}@{EMAIL_DOMAIN}", "Demo", f"Student {n}", credits)
        )
    return Plan(scale, exams, students)


def take_lock(conn: psycopg.Connection) -> bool:
    """One demo at a time per database (session advisory lock, released when conn closes)."""
    return db.take_lock(conn, LOCK_KEY)


def business_today(conn: psycopg.Connection) -> date:
    return db.business_today(conn)


# ---- reset ---------------------------------------------------------------------------------------
def reset(conn: psycopg.Connection) -> dict[str, int]:
    """Delete the earlier demo's rows and every row about them (ledger, audit, outbox, dead
    letters; contact_credit_sync cascades), in one transaction. Returns counts per table."""
    try:
        return db.reset(conn, STUDENT_PATTERN, EMAIL_DOMAIN, EXAM_PREFIX)
    except db.MixedBookings as mixed:
        codes = ", ".join(mixed.codes) + (", ..." if len(mixed.codes) == 5 else "")
        raise DemoError(
            f"bookings join demo students or exams with other rows ({codes}): the demo "
            "deletes only its own rows, so it cannot reset; delete those bookings first"
        ) from None


# ---- load ----------------------------------------------------------------------------------------
def demo_sandbox() -> Sandbox:
    """The demo's in-process HubSpot: its own portal and id range (see DEMO_FIRST_ID)."""
    return Sandbox(conformance=False, portal_id=DEMO_PORTAL_ID, first_id=DEMO_FIRST_ID, setup=True)


def check_id_range(conn: psycopg.Connection) -> None:
    """After the reset no demo row is left, so any row whose HubSpot id lies in the demo's range
    came from elsewhere (another HubSpot, or a pull that met the demo's sandbox ids): stop with
    a message that names them rather than mix the two."""
    found = db.rows_in_id_range(conn, *DEMO_ID_RANGE)
    if found:
        named = ", ".join(f"{t} {hid} ({what})" for t, hid, what in found[:3])
        raise DemoError(
            f"rows that are not the demo's hold HubSpot ids of the demo sandbox's range "
            f"({DEMO_ID_RANGE[0]:,}–{DEMO_ID_RANGE[1]:,}): {named}"
            + (" and more" if len(found) > 3 else "")
            + ". They came from another HubSpot (or sandbox) whose ids meet the demo's; the "
            "demo stops rather than mix them. Run it on the embedded database (DATABASE_URL "
            "unset) or on a database of its own."
        )


def load(conn: psycopg.Connection, plan: Plan, sandbox: Sandbox) -> None:
    """Create the exams and students in the sandbox (HubSpot owns them) and in the database, as
    the import would: one INSERT each, not queued for the push."""
    check_id_range(conn)
    exam_ids = sandbox.seed(
        EXAMS,
        [
            {
                "mock_exam_name": e.name,
                "mock_type": e.mock_type,
                "exam_date": hubspot_date(e.exam_date),
                "location": e.location,
                "capacity": e.capacity,
                "total_bookings": 0,
                "is_active": "true",
            }
            for e in plan.exams
        ],
    )
    contact_ids = sandbox.seed(
        CONTACTS,
        [
            {"email": s.email, "firstname": s.firstname, "lastname": s.lastname, **s.credits}
            for s in plan.students
        ],
    )
    for exam, hid in zip(plan.exams, exam_ids, strict=True):
        exam.hubspot_id = hid
    for student, hid in zip(plan.students, contact_ids, strict=True):
        student.hubspot_id = hid
    exam_columns = ("hubspot_id", "name", "mock_type", "exam_date", "location", "capacity")
    columns = ("hubspot_id", "student_id", "email", "firstname", "lastname")
    try:
        db.load(
            conn,
            ACTOR,
            [[getattr(e, a) for e in plan.exams] for a in exam_columns],
            [[getattr(s, a) for s in plan.students] for a in columns]
            + [[s.credits[f] for s in plan.students] for f in CREDIT_PROPERTIES],
            CREDIT_PROPERTIES,
        )
    except psycopg.errors.UniqueViolation as exc:
        raise DemoError(
            "the demo's sample rows clash with rows already in this database "
            f"({exc.diag.message_detail}); run it on the embedded database (DATABASE_URL unset)"
        ) from None


# ---- checks --------------------------------------------------------------------------------------
def capacity_rows(conn: psycopg.Connection, plan: Plan) -> list[dict[str, Any]]:
    """Per demo exam: capacity, total_bookings, Active and Cancelled bookings counted."""
    return db.capacity_rows(conn, [e.hubspot_id for e in plan.exams])


@dataclass
class CreditCheck:
    fields: list[dict[str, Any]]  # field, start, spent, refunded, rebooked, other, now, ok
    students_checked: int
    mismatches: list[str] = field(default_factory=list)  # "DEMO000123 sj_credits: ..."

    @property
    def ok(self) -> bool:
        return not self.mismatches and all(f["ok"] for f in self.fields)


def credit_check(conn: psycopg.Connection, plan: Plan) -> CreditCheck:
    """start − spent + refunded (+ rebook pairs, net 0) = now, per field from the ledger; and
    the database's invariant check (mockbook_internal.check_invariants, the data model) with the
    demo
    students' starting balances: per student and field, balance = start + sum of its ledger
    rows, the ledger chains up, every exam's total_bookings = its Active bookings."""
    sids = [s.student_id for s in plan.students]
    ledger = db.ledger_sums(conn, sids)
    sums = {(f, r): n for f, r, n in ledger}
    start = {s.student_id: s.credits for s in plan.students}
    totals, violations = db.balances_and_violations(conn, sids, start)
    now: Counter[str] = Counter({name: total for name, total, _ in totals})
    check = CreditCheck([], max((n for _, _, n in totals), default=0))
    check.mismatches.extend(violations)
    for name, total in plan.start_totals().items():
        spent = -sums.get((name, "booking"), 0)
        refunded = sums.get((name, "cancellation"), 0)
        rebooked = sums.get((name, "rebook"), 0)
        other = sum(n for (f, r), n in sums.items() if f == name) + spent - refunded - rebooked
        check.fields.append(
            {
                "field": name,
                "start": total,
                "spent": spent,
                "refunded": refunded,
                "rebooked": rebooked,
                "other": other,
                "now": now[name],
                "ok": total - spent + refunded + rebooked + other == now[name],
            }
        )
    if check.students_checked != len(plan.students):
        check.mismatches.append(
            f"{len(plan.students) - check.students_checked} students missing from the database"
        )
    return check


def other_pending(conn: psycopg.Connection, plan: Plan) -> int:
    """Pending outbox rows of records that are not the demo's (the demo's push would claim them
    too and send them to its sandbox instead of HubSpot: then it does not push at all)."""
    return db.other_pending(
        conn, [s.student_id for s in plan.students], [e.hubspot_id for e in plan.exams]
    )


# ---- the push ------------------------------------------------------------------------------------
@dataclass
class PushReport:
    stats: PushStats
    calls: Counter[str]  # "bookings: batch upsert" -> n
    rate_limit_waits: int
    bookings: int  # the demo's bookings in the database
    with_hubspot_id: int
    in_hubspot: int  # live booking records in the sandbox (waitlist places left out)
    places_in_hubspot: int  # live waitlist places (booking objects with a WL- code)
    samples: list[dict[str, Any]]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def _call_kind(request: dict[str, Any]) -> str:
    path = request["path"]
    names = {CONTACTS: "contacts", BOOKINGS: "bookings", EXAMS: "exams"}
    if "/associations/" in path:
        return "associations: batch create"
    if "/schemas/" in path:
        return "schema check"
    for type_id, name in names.items():
        if f"/objects/{type_id}/" in path:
            return f"{name}: {path.rsplit('/', 2)[-2]} {path.rsplit('/', 1)[-1]}"
    return f"{request['method']} {path}"


def push(url: str, settings: Settings, sandbox: Sandbox, plan: Plan) -> PushReport:
    """One push of the outbox to the sandbox, with the glue's own Pusher (default rate limit,
    100 records per call). Recorded in sync_metadata as 'push:demo' (sync_health reads push and
    push:* rows), so `mockbook status` shows it as the last push, like the worker's."""
    demo_settings = Settings(
        database_url=url,
        hubspot_access_token="demo-token",
        hubspot_base_url=sandbox.base_url,
    )
    client = HubSpotClient.from_settings(demo_settings)
    before = len(sandbox.requests)
    with Database(url, application_name="mockbook demo") as database:
        worker = f"mockbook-demo-{uuid.uuid4().hex[:6]}"
        pusher = Pusher(database, client, demo_settings, worker=worker)
        pusher.preflight()
        stats = pusher.run(linger=5.0)
        dead = f"{stats.dead_lettered} outbox row(s) dead-lettered" if stats.dead_lettered else None
        database.record_sync_run(
            DEMO_PUSH, "failed" if stats.stopped else "success", stats.sent, stats.stopped or dead
        )
    calls = Counter(_call_kind(r) for r in sandbox.requests[before:])
    rows = db.bookings_of(
        url, [s.student_id for s in plan.students], [e.hubspot_id for e in plan.exams]
    )
    samples = []
    contacts = {s.student_id: s.hubspot_id for s in plan.students}
    for row in rows[:: max(1, len(rows) // 3)][:3]:
        linked = (
            {a["to_type"]: a["to_id"] for a in sandbox.associations(BOOKINGS, row["hubspot_id"])}
            if row["hubspot_id"]
            else {}
        )
        samples.append(
            {
                **row,
                "contact_hubspot_id": contacts[row["student_id"]],
                "hubspot_contact": linked.get(CONTACTS, ""),
                "hubspot_exam": linked.get(EXAMS, ""),
            }
        )
    live = [o for o in sandbox.objects(BOOKINGS) if not o["archived"]]
    return PushReport(
        stats=stats,
        calls=calls,
        rate_limit_waits=client.rate_limit_waits,
        bookings=len(rows),
        with_hubspot_id=sum(1 for r in rows if r["hubspot_id"]),
        in_hubspot=sum(1 for o in live if not _is_place(o)),
        places_in_hubspot=sum(1 for o in live if _is_place(o)),
        samples=samples,
    )


def _is_place(obj: dict[str, Any]) -> bool:
    """A waitlist place the push shows as a booking object (docs/apps.md, "Waitlist in HubSpot")."""
    return str(obj["properties"].get("booking_id") or "").startswith(WAITLIST_CODE_PREFIX)


# ---- analytics -----------------------------------------------------------------------------------
@dataclass
class WaitlistRun:
    """What the demo's waitlist scene did: a student waits on a full exam, a booking of it is
    cancelled, the seat is offered to the student, who accepts it."""

    exam: str
    exam_name: str
    capacity_lowered: bool
    student: str
    joined: dict[str, Any]
    cancelled: str
    offer_expires_at: Any
    accepted: dict[str, Any]
    seats: tuple[int, int, int, int]  # capacity, total_bookings, Active, held offers

    @property
    def ok(self) -> bool:
        capacity, total, active, held = self.seats
        return (self.joined.get("status") == "waiting" and self.offer_expires_at is not None
                and self.accepted.get("status") == "Active"
                and total == active and active + held <= capacity)


def waitlist_scene(conn: psycopg.Connection, plan: Plan) -> WaitlistRun | None:
    """The waitlist moving in three calls, on the fullest rush exam. None when no demo student
    is left who could book it."""
    ids = [e.hubspot_id for e in plan.exams if e.rush]
    exam, name, mock_type, day, capacity, total = db.fullest_exam(conn, ids)
    student = db.student_who_could_book(conn, STUDENT_PATTERN, mock_type, day)
    if student is None:
        return None
    lowered = total < capacity
    if lowered:  # the rush left seats: the admin closes them, so the exam is full
        db.set_exam_capacity(conn, exam, total)
    joined = db.join_waitlist(conn, student[0], student[1], exam)
    booking, owner = db.first_active_booking(conn, exam)
    db.cancel_booking(conn, booking, owner)
    expires = db.offer_expires_at(conn, joined["waitlist_id"])
    accepted = db.accept_offer(conn, student[0], student[1], exam)
    seats = db.exam_seats(conn, exam)
    return WaitlistRun(exam, name, lowered, student[0], joined, booking, expires, accepted, seats)


def refresh_and_read(conn: psycopg.Connection, plan: Plan) -> dict[str, Any]:
    """refresh_analytics(), then what the dashboard shows, read from the views."""
    return db.refresh_and_read(conn, [e.hubspot_id for e in plan.exams])
