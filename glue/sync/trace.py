"""`mockbook trace`: one booking's, student's or exam's story in time order, from one read-only
snapshot (glue.db.trace): its row and each change with who made it, the ledger rows, the outbox
rows with their attempts, leases and dead letters, HubSpot's webhook deliveries and the pulls,
the adoption's notes and the exam-change conflicts. The line that answers "is it in HubSpot,
and if not, why" is glue.sync.trace_answer's; HubSpot's side, when configured,
glue.sync.trace_hubspot's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from glue.credit_fields import CREDIT_FIELDS
from glue.db import trace as trace_db
from glue.db.database import Database

# how an operator names the kinds of record (and --kind), and their tables
TABLES = {"booking": "hubspot_bookings", "student": "hubspot_contact_credits",
          "exam": "hubspot_mock_exams"}
# the fields an INSERT's audit row is summed up by
CREATED_FIELDS = {
    "booking": ("booking_id", "is_active", "associated_mock_exam", "token_used"),
    "student": ("student_id", "email", *CREDIT_FIELDS),
    "exam": ("mock_exam_name", "mock_type", "exam_date", "capacity", "is_active"),
}
SHORT = 60  # characters of a value shown in a line


class TraceError(Exception):
    """No record, or several, for the key: ``matches`` lists them (empty: none)."""

    def __init__(self, message: str, matches: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.matches = matches


@dataclass
class Event:
    at: datetime | None
    # record, audit, pull (a change HubSpot's pull, webhook or reconcile made), ledger,
    # outbox, dead letter, webhook, refresh, adoption, conflict, sync
    source: str
    text: str
    actor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"at": iso(self.at), "source": self.source, "text": self.text,
                "actor": self.actor}


@dataclass
class Difference:
    field: str
    postgres: Any
    hubspot: Any
    why: str


@dataclass
class HubSpotView:
    """HubSpot's record beside ours. ``state``: same, differs, deleted, merged, missing, error."""

    state: str
    object_type: str = ""
    hubspot_id: str | None = None
    compared: int = 0
    values: list[Difference] = field(default_factory=list)  # every property compared (why: "")
    differences: list[Difference] = field(default_factory=list)  # those that differ
    detail: str = ""
    at: datetime | None = None  # when HubSpot archived it (deleted)
    merged_into: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = iso(self.at)
        return out


@dataclass
class Story:
    kind: str  # booking | student | exam
    matched: str  # what the key matched (booking code, email, HubSpot id ...)
    data: dict[str, Any]  # mockbook_internal.trace_record's answer
    events: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hubspot: HubSpotView | None = None
    # why HubSpot's side was not read when it was not (--no-hubspot, no token); a read that
    # failed says why in ``hubspot`` (state "error")
    unread: str | None = None
    answer: str = ""
    answer_kind: str = ""

    def not_read(self) -> str | None:
        """Why HubSpot's side is not known (None: it was read)."""
        if self.hubspot is not None and self.hubspot.state == "error":
            return self.hubspot.detail.removeprefix("HubSpot not read: ")
        return self.unread if self.hubspot is None else None

    @property
    def record(self) -> dict[str, Any]:
        return self.data["record"]

    @property
    def key(self) -> str:
        column = {"booking": "booking_id", "student": "student_id", "exam": "hubspot_id"}
        return str(self.record.get(column[self.kind]) or self.record["id"])

    def pending(self) -> list[dict[str, Any]]:
        """Open outbox rows, oldest first."""
        rows = [q for q in self.data["outbox"] if not q["done_at"] and not q["dead_at"]]
        return sorted(rows, key=lambda q: q["id"])

    def letters(self, direction: str | None = None) -> list[dict[str, Any]]:
        """Unresolved dead letters, oldest first."""
        return sorted((e for e in self.data["errors"] if not e["resolved"]
                       and direction in (None, e["direction"])), key=lambda e: e["id"])

    def held(self) -> list[dict[str, Any]]:
        return [e for e in self.letters("pull") if e["error"].startswith("CREDIT_JUMP")]

    def conflicts(self) -> list[dict[str, Any]]:
        return [c for c in self.data.get("conflicts", []) if not c["resolved_at"]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "key": self.key, "id": self.record["id"], "matched": self.matched,
            "record": self.record,
            "related": {k: self.data[k] for k in ("contact", "exam", "bookings",
                                                  "bookings_by_status", "credit_sync",
                                                  "exam_sync", "last_pull") if k in self.data},
            "events": [e.as_dict() for e in self.events], "notes": self.notes,
            "hubspot": None if self.hubspot is None else self.hubspot.as_dict(),
            "hubspot_not_read": self.not_read(),
            "answer": {"kind": self.answer_kind, "line": self.answer},
        }


# ---- reading -------------------------------------------------------------------------------------
def read_story(db: Database, key: str, *, kind: str | None = None, limit: int = 200) -> Story:
    """The story of the one record ``key`` names (of ``kind`` only, when given), from one
    snapshot; TraceError when none or several match."""
    key = key.strip()
    if not key:
        raise TraceError("give a booking code, booking id, student id, email, exam id or "
                         "HubSpot id", [])
    what = f"{kind} " if kind else "booking, student or exam "
    if not _utf8(key):  # (bytes that are not text: no key holds them, nothing matches)
        raise TraceError(f"no {what}matches {key!r}", [])
    with db.pool.connection() as conn, trace_db.snapshot(conn):
        found = [m for m in trace_db.lookup(conn, key) if kind in (None, m["kind"])]
        records = {(m["kind"], m["id"]): m for m in reversed(found)}  # first match kept
        matches = [{**m, "id": str(m["id"])} for m in found if records[(m["kind"], m["id"])] is m]
        if len(matches) != 1:
            raise TraceError(
                f"no {what}matches {key!r}" if not matches else
                f"{key!r} matches {len(matches)} records: pick one with --kind or name it by "
                "its own id", matches)
        match = matches[0]
        data = trace_db.trace_record(conn, TABLES[match["kind"]], match["id"], limit)
    if data is None:  # deleted between the two reads: impossible in one snapshot
        raise TraceError(f"no {match['kind']} matches {key!r}", [])
    story = Story(match["kind"], match["matched"], data)
    story.events = sorted(events_of(story), key=lambda e: (e.at is None, e.at or datetime.min))
    story.notes = notes_of(story)
    return story


def _utf8(key: str) -> bool:
    """Whether the key is text (an argument that is not UTF-8 reaches Python as surrogates)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---- the story -----------------------------------------------------------------------------------
def events_of(story: Story) -> list[Event]:
    """Every event of the story (sorted by the caller: by time, ties in this order, each list
    oldest first as its rows were written)."""
    data = story.data
    out = created_event(story)
    out += [audit_event(story.kind, a) for a in _rows(data, "audit")]
    # a student's story names the booking a ledger row was for
    codes = {b["id"]: b["booking_id"] for b in data.get("bookings", [])}
    out += [ledger_event(entry, codes if story.kind == "student" else {})
            for entry in _rows(data, "ledger")]
    for q in _rows(data, "outbox"):
        out += outbox_events(q, ts(data.get("read_at")))
    for e in _rows(data, "errors"):
        out += letter_events(e)
    out += [webhook_event(w) for w in _rows(data, "webhook_events")]
    out += [refresh_event(r) for r in _rows(data, "refreshes")]
    out += [adoption_event(r) for r in _rows(data, "adoption")]
    for c in _rows(data, "conflicts"):
        out += conflict_events(c)
    return out + sync_events(data)


def _rows(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """One of trace_record's lists, oldest first (it lists them newest first), to the limit."""
    return list(reversed(data.get(name, [])[: data["limit"]]))


def created_event(story: Story) -> list[Event]:
    """The row's creation when no audit row tells it (written before mockbook, or by the
    import), and the audit rows are all there."""
    audit, limit = story.data["audit"], story.data["limit"]
    if any(a["operation"] == "INSERT" for a in audit) or len(audit) > limit:
        return []
    return [Event(ts(story.record.get("created_at")), "record",
                  "row created (no audit row: written before mockbook or by the import)")]


def refresh_event(r: dict[str, Any]) -> Event:
    """A read from HubSpot an app asked for (request_refresh) and its outcome."""
    if r["outcome"] is None:
        state = f"waiting for the worker ({r['attempts']} attempts)"
    else:
        state = f"{r['outcome']} {when(ts(r['finished_at']))}"
        if r.get("detail"):
            state += f": {short(r['detail'], 160)}"
    return Event(ts(r["requested_at"]), "refresh",
                 f"refresh from HubSpot asked (request {r['id']}): {state}", r["requested_by"])


def adoption_event(r: dict[str, Any]) -> Event:
    change = " → ".join(short(v) for v in (r["old_value"], r["new_value"]) if v is not None)
    return Event(ts(r["created_at"]), "adoption",
                 f"{r['action']} ({r['object']}{': ' + change if change else ''})", r["revision"])


def conflict_events(c: dict[str, Any]) -> list[Event]:
    code = f"booking {c['booking_code']}: " if c.get("booking_code") else ""
    out = [Event(ts(c["detected_at"]), "conflict", f"{code}{c['rule']}: {c['detail']}")]
    if c["resolved_at"]:
        out.append(Event(ts(c["resolved_at"]), "conflict", f"{code}{c['rule']} resolved"))
    return out


def ledger_event(entry: dict[str, Any], codes: dict[str, str]) -> Event:
    """A ledger row; ``codes``: {booking id: its code} of a student's story (which names the
    booking a row was for)."""
    text = (f"{entry['credit_field']} {entry['delta']:+d} → {entry['balance_after']} "
            f"({entry['reason']})")
    if codes and entry.get("booking_id"):
        text += f" for booking {codes.get(entry['booking_id'], entry['booking_id'])}"
    if entry.get("note"):
        text += f": {short(entry['note'], 120)}"
    return Event(ts(entry["created_at"]), "ledger", text, entry.get("actor"))


def letter_events(e: dict[str, Any]) -> list[Event]:
    what = f"dead letter {e['id']} ({e['direction']}, {e['attempts']} attempts): {e['error']}"
    out = [Event(ts(e["created_at"]), "dead letter", what)]
    if e["resolved"]:
        out.append(Event(ts(e["resolved_at"]), "dead letter",
                         f"dead letter {e['id']} resolved: {e['resolution']}",
                         e.get("resolved_by")))
    return out


def sync_events(data: dict[str, Any]) -> list[Event]:
    """What the record's syncs left beside it: the credit merge's base, the exam's last applied
    read, the last sync time."""
    out = []
    if sync := data.get("credit_sync"):
        text = f"credits agreed with HubSpot by the {sync['source']}: {credits(sync['credits'])}"
        if sync.get("pushing"):
            text += f"; being pushed: {credits(sync['pushing'])}"
        out.append(Event(ts(sync["updated_at"]), "sync", text))
    if sync := data.get("exam_sync"):
        out.append(Event(ts(sync["updated_at"]), "sync",
                         "HubSpot's exam applied as modified there at "
                         f"{when(ts(sync['hubspot_modified_at']))}"))
    if data["record"].get("hubspot_last_sync_at"):
        out.append(Event(ts(data["record"]["hubspot_last_sync_at"]), "record",
                         "last synced with HubSpot"))
    return out


def audit_event(kind: str, a: dict[str, Any]) -> Event:
    actor = a.get("performed_by")
    # a change HubSpot's pull, webhook or reconcile made (the push's own write-back is ours)
    pulled = str(actor or "").startswith("hubspot:") and actor != "hubspot:push"
    text = audit_text(kind, a)
    if a["operation"] != "DELETE" and kind != "exam":
        # the notes step writes a booking's and a credit's changes as HubSpot notes (the others
        # it marks done without one)
        text += " (notes step: done)" if a.get("note_written_at") else " (notes step: pending)"
    return Event(ts(a["performed_at"]), "pull" if pulled else "audit", text, actor)


def audit_text(kind: str, a: dict[str, Any]) -> str:
    """What an audit row changed: the fields a creation is summed up by, a deletion, each
    field's old and new value (a HubSpot id written back in words of its own)."""
    if a["operation"] == "INSERT":
        new = a.get("new_values") or {}
        shown = [f"{f} {short(new[f])}" for f in CREATED_FIELDS[kind] if new.get(f) is not None]
        return "created" + (f": {', '.join(shown)}" if shown else "")
    if a["operation"] == "DELETE":
        return "deleted"
    old, new = a.get("old_values") or {}, a.get("new_values") or {}
    fields = a.get("changed_fields") or sorted(new)
    if fields == ["hubspot_id"] and not old.get("hubspot_id"):
        return f"HubSpot id {new.get('hubspot_id')} written back (it reached HubSpot)"
    return ", ".join(f"{f} {short(old.get(f))} → {short(new.get(f))}" for f in fields)


def outbox_events(q: dict[str, Any], now: datetime | None) -> list[Event]:
    row = f"outbox row {q['id']}"
    text = f"{row} queued ({q['operation']})"
    if not q["done_at"] and not q["dead_at"]:
        text += "; " + pending_text(q, now)
    out = [Event(ts(q["created_at"]), "outbox", text)]
    if q["done_at"]:
        out.append(Event(ts(q["done_at"]), "outbox", f"{row} sent to HubSpot"
                         + (f" at attempt {q['attempts']}" if q["attempts"] > 1 else "")))
    if q["dead_at"]:
        out.append(Event(ts(q["dead_at"]), "outbox",
                         f"{row} dead-lettered after {q['attempts']} attempts: "
                         f"{short(q['last_error'], 200)}"))
    return out


def pending_text(q: dict[str, Any], now: datetime | None) -> str:
    """Where an open outbox row stands: its attempt (``attempts`` counts the claims, the one in
    hand included), its next try or its lease, its last error."""
    lease = ts(q.get("lease_expires_at"))
    if q.get("lease_owner") and lease is not None and (now is None or lease > now):
        text = (f"attempt {q['attempts']}, leased by {q['lease_owner']} until {when(lease)} "
                "(being pushed)")
    else:
        due = ts(q["next_attempt_at"])
        text = f"attempt {q['attempts'] + 1}, next try at {when(due)}"
        if now is not None and due is not None and due <= now:
            text += " (due now)"
    if q.get("last_error"):
        text += f"; last error: {short(q['last_error'], 200)}"
    return text


def webhook_event(w: dict[str, Any]) -> Event:
    what = w["subscription_type"]
    if w.get("property_name"):
        what += f" {w['property_name']}={short(w.get('property_value'))}"
    if w["processed_at"] and w.get("last_error"):
        state = f"given up after {w['attempts']} attempts: {short(w['last_error'], 120)}"
    elif w["processed_at"]:
        state = f"applied {when(ts(w['processed_at']))}"
    else:
        state = f"pending ({w['attempts']} attempts)"
    return Event(ts(w["occurred_at"]), "webhook",
                 f"HubSpot webhook {what} (event {w['event_id']}), received "
                 f"{when(ts(w['received_at']))}: {state}")


def notes_of(story: Story) -> list[str]:
    """What the adoption left on the row and what the story leaves out."""
    row, data, notes = story.record, story.data, []
    if row.get("legacy_booking_id"):
        notes.append(f"legacy: the original app's code {row['legacy_booking_id']} was repeated; "
                     f"the adoption gave this booking the code {row.get('booking_id')}")
    if row.get("legacy_issue"):
        notes.append(f"legacy: {row['legacy_issue']} (resolve it: mockbook adoption resolve)")
    if row.get("time_problem"):
        notes.append(f"exam time: {row['time_problem']} (fix it in HubSpot)")
    if data.get("last_pull"):
        notes.append(f"last pull of {'contacts' if story.kind == 'student' else 'exams'}: "
                     f"{when(ts(data['last_pull']))}")
    for name in ("audit", "ledger", "outbox", "errors", "webhook_events", "refreshes", "adoption",
                 "conflicts", "bookings"):
        if len(data.get(name, [])) > data["limit"]:
            notes.append(f"{name}: only the newest {data['limit']} shown (--limit)")
    return notes


# ---- values --------------------------------------------------------------------------------------
def ts(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def when(value: datetime | None) -> str:
    """A time as the story prints it: UTC, to the second."""
    if value is None:
        return "an unknown time"
    from datetime import UTC

    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short(value: Any, limit: int = SHORT) -> str:
    """A value in a line, as JSON writes its null and booleans, at most ``limit`` characters."""
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else \
        str(value) or "(empty)"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def credits(values: dict[str, Any] | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted((values or {}).items())) or "none"
