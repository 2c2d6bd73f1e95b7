"""The audit trail in HubSpot: supabase_audit_log rows of bookings and credits become
HubSpot notes, associated to the booking and the contact, and are marked
``synced_to_hubspot_at`` — never twice for one audit row.

``claim_audit_notes`` (db/functions) says which rows get a note (a booking's change together with
the credit change it caused; a balance changed outside a booking) and marks the rest. Each note
has ``hs_note_body`` (one line, e.g. "Booking BK-20260301-AB12CD cancelled by admin@school.ca;
1 Clinical Skills credit refunded"), ``hs_timestamp`` (when it happened) and
``mockbook_audit_id`` (the audit row's id: a note property that must exist in HubSpot, see
docs/hubspot.md), up to 100 per batch create, under the glue's rate limiter.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from glue.clock import SYSTEM, Clock, utcnow
from glue.config import NOTES_SETTLE_SECONDS, Settings
from glue.credit_fields import CREDIT_FIELDS
from glue.db.database import Database
from glue.db.pull import PullDatabase
from glue.hubspot.client import CONTACTS, BatchResult, HubSpotClient, HubSpotError
from glue.hubspot.reads import NOTES, HubSpotReader

# How it works (the detail of the module docstring):
#
# Never twice: a batch create is not idempotent and its answer can be lost (timeout, a killed
# process). So before sending, the batch is written down in sync_metadata ('notes' cursor,
# ``{"inflight": {audit id: {members, booking, contact}}, "at": ...}``); after the notes are
# associated and their rows marked, the cursor is cleared. A run that finds a batch in flight
# (the previous one died, or its create call got no answer) waits until search has caught up
# (``settle_seconds``), searches the notes by ``mockbook_audit_id``, completes the ones that exist
# (associations, marks) and leaves the others to be created again. The create call itself is
# never retried blindly. One writer at a time per database (an advisory lock).
#
# The settling counts from the moment the create can no longer be on its way, not from the moment
# it was written down: a call without an answer (a timeout, a killed writer) may still be handled
# by HubSpot up to the client's timeout after it was sent. The cursor therefore also carries
# ``answer_by`` (written down + HTTP timeout), and a recovery waits until the later of that and
# the end of the failed call, plus ``settle_seconds``. (Counting from "written down" alone let a
# slow create land after the search had found nothing: the rows were then created a second time.)

log = logging.getLogger(__name__)

NOTE_PROPERTY = "mockbook_audit_id"
CURSOR = "notes"
# notes created whose association to their booking or contact failed:
# {note id: {"to": [[object type, id], ...], "attempts": n}}, tried again on every run
ASSOCIATIONS = "notes:associations"
MAX_ASSOCIATION_ATTEMPTS = 10
DEFAULT_SETTLE_SECONDS = NOTES_SETTLE_SECONDS.default
MAX_BODY = 1000

CREDIT_LABELS = {f.name: f.pays_for for f in CREDIT_FIELDS}


# ---- the one-line summaries ----------------------------------------------------------------------
def _credits(entries: list[dict[str, Any]], verb_out: str, verb_in: str) -> str:
    parts = []
    for e in entries:
        n = abs(int(e["delta"]))
        label = CREDIT_LABELS.get(e["credit_field"], e["credit_field"])
        noun = "credit" if n == 1 else "credits"
        parts.append(f"{n} {label} {noun} {verb_out if e['delta'] < 0 else verb_in}")
    return ", ".join(parts)


def _value(v: Any) -> str:
    return "(none)" if v in (None, "") else str(v)


def booking_summary(d: dict[str, Any]) -> str:
    """A booking's audit row in a sentence: created, deleted, or what changed."""
    code = d.get("booking_code") or "(no code)"
    who = d.get("performed_by") or "unknown"
    if d.get("operation") == "INSERT":
        return _booking_created(d, code, who)
    if d.get("operation") == "DELETE":
        return f"Booking {code} deleted by {who}"
    return _booking_changed(d, code, who)


def _booking_created(d: dict[str, Any], code: str, who: str) -> str:
    """A new booking: its exam, and the credits it used (or none, by an admin's override)."""
    new = d.get("new_values") or {}
    ledger = d.get("ledger") or []
    exam = (new.get("mock_type") or d.get("mock_type"), "on", new.get("exam_date"))
    what = " ".join(str(x) for x in exam if x)
    text = f"Booking {code} created by {who}" + (f" for {what}" if what else "")
    if ledger:
        return text + "; " + _credits(ledger, "used", "added")
    if (new.get("token_used") or d.get("token_used")) == "Admin Override":
        return text + "; no credit used (Admin Override)"
    return text


def _booking_changed(d: dict[str, Any], code: str, who: str) -> str:
    """A booking changed: moved, cancelled (with the credits refunded), its attendance or
    status, or its fields; and the credits the change moved."""
    old, new = d.get("old_values") or {}, d.get("new_values") or {}
    changed = [f for f in d.get("changed_fields") or [] if f != "hubspot_id"]
    ledger = d.get("ledger") or []
    if "associated_mock_exam" not in changed and new.get("is_active") == "Cancelled":
        refund = _credits(ledger, "taken", "refunded") if ledger else "no credit refunded"
        return f"Booking {code} cancelled by {who}; {refund}"
    text = _booking_change(code, who, old, new, changed)
    return text + ("; " + _credits(ledger, "used", "refunded") if ledger else "")


def _booking_change(
    code: str, who: str, old: dict[str, Any], new: dict[str, Any], changed: list[str]
) -> str:
    if "associated_mock_exam" in changed:
        return (f"Booking {code} moved from exam {_value(old.get('associated_mock_exam'))} to "
                f"exam {_value(new.get('associated_mock_exam'))} by {who}")
    status_old, status_new = old.get("is_active"), new.get("is_active")
    if new.get("attendance") and ("attendance" in changed or status_new in ("Completed", "Active")):
        return f"Booking {code} marked attended: {new['attendance']} by {who}"
    if "attendance" in changed:
        return f"Booking {code} attendance cleared (back to {_value(status_new)}) by {who}"
    if status_new in ("Completed", "Active"):
        return (f"Booking {code} is {_value(status_new)} again (was {_value(status_old)}), "
                f"by {who}")
    fields = ", ".join(f"{f} {_value(old.get(f))} → {_value(new.get(f))}" for f in changed[:6])
    return f"Booking {code} changed by {who}: {fields}"


def credit_summary(d: dict[str, Any]) -> str:
    """A contact's credit change in a sentence: each credit before and after, with its ledger
    row's delta and reason."""
    who = d.get("performed_by") or "unknown"
    old = d.get("old_values") or {}
    new = d.get("new_values") or {}
    ledger = {e["credit_field"]: e for e in d.get("ledger") or []}
    parts = [
        _credit_line(f, old.get(f), new.get(f), ledger.get(f))
        for f in d.get("changed_fields") or []
        if f in CREDIT_LABELS
    ]
    merged = any(e.get("reason") == "hubspot_adjustment" for e in ledger.values())
    head = "Credits merged from a HubSpot change" if merged else "Credits changed"
    return f"{head} by {who} for {d.get('student_id') or 'student'}: " + "; ".join(parts)


def _credit_line(field: str, before: Any, after: Any, entry: dict[str, Any] | None) -> str:
    line = f"{CREDIT_LABELS[field]} {_value(before)} → {_value(after)}"
    if not entry:
        return line
    delta = int(entry["delta"])
    why = entry.get("reason") or ""
    if entry.get("note"):
        why += f": {entry['note']}"
    return line + f" ({'+' if delta > 0 else ''}{delta}, {why})"


def note_body(group: dict[str, Any]) -> str:
    detail = group["detail"] or {}
    text = booking_summary(detail) if group["kind"] == "booking" else credit_summary(detail)
    text = " ".join(text.split())
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 1] + "…"


def _ms(value: Any) -> str:
    if isinstance(value, datetime):
        at = value
    else:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return str(int(at.timestamp() * 1000))


# ---- the writer ----------------------------------------------------------------------------------
@dataclass
class NotesStats:
    created: int = 0  # notes created in HubSpot
    rows_marked: int = 0  # audit rows marked synced (notes' rows)
    recovered: int = 0  # notes of an earlier, interrupted batch found and completed
    batches: int = 0
    locked_out: bool = False  # another process was writing notes
    stopped: bool = False  # a stop was asked before the backlog was done
    # notes whose association to their booking or contact has not landed: failed, tried again
    unassociated: int = 0
    failed: str | None = None
    transient: bool = False  # failed because HubSpot did not answer properly (exit 75)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class NoteWriter:
    def __init__(
        self,
        db: Database,
        client: HubSpotClient,
        settings: Settings,
        *,
        reader: HubSpotReader | None = None,
        batch_size: int = 100,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        clock: Clock = SYSTEM,
    ) -> None:
        self.store = PullDatabase(db)
        self.client = client
        self.reader = reader or HubSpotReader.from_settings(client, settings)
        self.bookings_type = settings.bookings_object_type
        self.batch_size = min(max(batch_size, 1), 100)
        self.settle_seconds = settle_seconds
        self.clock = clock  # when a batch was sent, and the wait before searching for it
        self.stats = NotesStats()
        self.stop: threading.Event | None = None  # set by run(): a stop ends a recovery's wait

    def run(
        self, *, max_batches: int | None = None, stop: threading.Event | None = None
    ) -> NotesStats:
        """Write notes batch after batch until none is left, ``max_batches`` are written or
        ``stop`` is set (checked before each batch: a stop waits for one HubSpot call)."""
        self.stop = stop
        with self.store.notes_lock() as mine:
            if not mine:
                self.stats.locked_out = True
                return self.stats
            try:
                if not self._recover():
                    self.stats.stopped = True
                    return self.stats
                self._associate_again()
                while max_batches is None or self.stats.batches < max_batches:
                    if stop is not None and stop.is_set():
                        self.stats.stopped = True
                        break
                    if not self._batch():
                        break
            except HubSpotError as exc:
                self.stats.failed = str(exc)
                self.stats.transient = exc.transient
                log.warning("audit notes stopped: %s (the next run carries on)", exc)
        return self.stats

    # ---- one batch ----------------------------------------------------------------------------
    def _batch(self) -> bool:
        groups = self.store.claim_audit_notes(self.batch_size)
        if not groups:
            return False
        self.stats.batches += 1
        inflight = {
            str(g["audit_id"]): {
                "members": list(g["member_ids"]),
                "booking": g["booking_hubspot_id"],
                "contact": g["contact_hubspot_id"],
            }
            for g in groups
        }
        at = utcnow(self.clock)
        answer_by = at + timedelta(seconds=self._timeout())
        self.store.save_cursor(
            CURSOR,
            {"inflight": inflight, "at": at.isoformat(), "answer_by": answer_by.isoformat()},
        )
        inputs = [
            {
                "properties": {
                    "hs_note_body": note_body(g),
                    "hs_timestamp": _ms(g["detail"].get("performed_at")),
                    NOTE_PROPERTY: str(g["audit_id"]),
                },
                "trace": str(g["audit_id"]),
            }
            for g in groups
        ]
        result = self._create(inputs)
        if result is None:  # no clear answer: what exists was found and completed
            return True
        created: dict[str, str] = {}
        for r in result.results:
            aid = r.get("objectWriteTraceId") or (r.get("properties") or {}).get(NOTE_PROPERTY)
            if aid in inflight:
                created[str(aid)] = str(r["id"])
        for err in result.errors:
            self.stats.errors.append(str(err))
        self.stats.created += len(created)
        self._complete(inflight, created)
        self.store.save_cursor(CURSOR, {})
        if not created and result.errors:  # HubSpot refuses these rows: stop, say why
            raise HubSpotError(f"HubSpot refused every note of the batch: {result.errors[0]}")
        return True

    def _create(self, inputs: list[dict[str, Any]]) -> BatchResult | None:
        """The batch create's answer; None when it got no clear one (then the notes that exist
        are found and completed: :meth:`_recover`). A refusal of the whole batch is raised."""
        try:
            return self.reader.create_notes(inputs)
        except HubSpotError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and not exc.rate_limited:
                self.store.save_cursor(CURSOR, {})  # refused whole: nothing was created
                raise
            log.info("note creation got no clear answer (%s): checking what exists", exc)
            # a 2xx that is not HubSpot's JSON: HubSpot has handled the create by now (it
            # answered), so its notes are searched for without waiting out the timeout
            answered = exc.status is not None and 200 <= exc.status < 300
            self._recover(call_ended=utcnow(self.clock), answered=answered)
            return None

    def _complete(self, inflight: dict[str, dict[str, Any]], notes: dict[str, str]) -> None:
        """Associate existing notes with their booking and contact, then mark their rows."""
        if not notes:
            return
        to_contact = [
            (n, inflight[a]["contact"]) for a, n in notes.items() if inflight[a]["contact"]
        ]
        to_booking = [
            (n, inflight[a]["booking"]) for a, n in notes.items() if inflight[a]["booking"]
        ]
        failed: dict[str, list[list[str]]] = {}
        for to_type, pairs in ((CONTACTS, to_contact), (self.bookings_type, to_booking)):
            for note, target in self._associate(to_type, pairs):
                failed.setdefault(note, []).append([to_type, target])
        members = [m for a in notes for m in inflight[a]["members"]]
        self.stats.rows_marked += self.store.mark_audit_notes(members)
        if failed:  # the notes exist: only their associations are tried again
            pending = self.store.get_cursor(ASSOCIATIONS) or {}
            for note, to in failed.items():
                pending[note] = {"to": to, "attempts": 1}
            self.store.save_cursor(ASSOCIATIONS, pending)
            self.stats.unassociated += len(failed)

    def _associate(self, to_type: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Associate (note, record) pairs; the pairs HubSpot did not associate (an error
        naming the note or the record, e.g. OBJECT_NOT_FOUND for a booking archived in
        HubSpot; an error naming neither: every pair of the call)."""
        if not pairs:
            return []
        result = self.client.associate(NOTES, to_type, pairs)
        failed: set[tuple[str, str]] = set()
        for err in result.errors:
            self.stats.errors.append(f"association {to_type}: {err}")
            named = err.mentioned_ids()
            hit = {(n, t) for n, t in pairs if n in named or t in named}
            failed |= hit or set(pairs)
        return sorted(failed)

    def _associate_again(self) -> None:
        """Try again the associations that did not land; a note stays counted as failed
        (``unassociated``) until they do, and is given up after MAX_ASSOCIATION_ATTEMPTS runs
        (logged as an error: its record is gone from HubSpot)."""
        pending: dict[str, dict[str, Any]] = self.store.get_cursor(ASSOCIATIONS) or {}
        if not pending:
            return
        left: dict[str, dict[str, Any]] = {}
        by_type: dict[str, list[tuple[str, str]]] = {}
        for note, entry in pending.items():
            for to_type, target in entry["to"]:
                by_type.setdefault(to_type, []).append((note, target))
        failed: dict[str, list[list[str]]] = {}
        for to_type, pairs in by_type.items():
            for note, target in self._associate(to_type, pairs):
                failed.setdefault(note, []).append([to_type, target])
        for note, to in failed.items():
            attempts = int(pending[note].get("attempts", 1)) + 1
            if attempts > MAX_ASSOCIATION_ATTEMPTS:
                log.error("note %s: its association to %s never landed after %d attempts; "
                          "given up", note, to, attempts - 1)
                continue
            left[note] = {"to": to, "attempts": attempts}
        self.store.save_cursor(ASSOCIATIONS, left)
        self.stats.unassociated += len(left)

    def _timeout(self) -> float:
        """How long after sending a create HubSpot may still be handling it: the HTTP timeout."""
        return float(getattr(self.reader.client, "timeout", 0) or 0)

    def _recover(self, *, call_ended: datetime | None = None, answered: bool = False) -> bool:
        """Finish a batch whose outcome is unknown: find its notes, complete them. Searches
        only once the create can no longer land (answer_by, or the end of the failed call;
        ``answered``: the call ended with HubSpot's 2xx, so it cannot land later than that)
        and search has caught up (settle_seconds). False when a stop came during that wait (the
        batch stays written down for the next run)."""
        cursor = self.store.get_cursor(CURSOR) or {}
        inflight: dict[str, dict[str, Any]] = cursor.get("inflight") or {}
        if not inflight:
            return True
        if not self._settled(cursor, call_ended, answered):
            return False
        found = self._find_notes(inflight)
        self.stats.recovered += len(found)
        self._complete(inflight, found)
        self.store.save_cursor(CURSOR, {})
        return True

    def _settled(self, cursor: dict[str, Any], call_ended: datetime | None,
                 answered: bool = False) -> bool:
        """Wait until the batch's create can no longer land and search has caught up; False
        when a stop came meanwhile."""
        landed_by = [
            datetime.fromisoformat(cursor[k]) for k in ("at", "answer_by") if cursor.get(k)
        ]
        if call_ended is not None:
            landed_by = [call_ended] if answered else [*landed_by, call_ended]
        if not landed_by:
            return True
        wait = (
            max(landed_by) + timedelta(seconds=self.settle_seconds) - utcnow(self.clock)
        ).total_seconds()
        return not (wait > 0 and self.clock.wait(self.stop or threading.Event(), wait))

    def _find_notes(self, inflight: dict[str, dict[str, Any]]) -> dict[str, str]:
        """{audit row id: its note's HubSpot id} of the rows in flight that have a note (a
        search by the note property, 100 rows a search)."""
        found: dict[str, str] = {}
        ids = sorted(inflight, key=int)
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            after = "0"
            while True:
                page = self.reader.search(
                    NOTES,
                    [[{"propertyName": NOTE_PROPERTY, "operator": "IN", "values": chunk}]],
                    properties=[NOTE_PROPERTY],
                    sorts=["hs_object_id"],
                    limit=100,
                    after=after,
                )
                for r in page.results:
                    aid = str(r["properties"].get(NOTE_PROPERTY) or "")
                    if aid in inflight:
                        # Two notes for one row would be this very bug: keep the first, say so.
                        if aid in found:
                            log.error("audit row %s has two HubSpot notes", aid)
                        found.setdefault(aid, r["id"])
                if not page.after:
                    break
                after = page.after
        return found


def push_audit_notes(
    db: Database,
    client: HubSpotClient,
    settings: Settings,
    *,
    reader: HubSpotReader | None = None,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    batch_size: int = 100,
    max_batches: int | None = None,
    clock: Clock = SYSTEM,
    stop: threading.Event | None = None,
) -> NotesStats:
    """The notes step of `mockbook run` (after the push, so new bookings have HubSpot ids), and
    `mockbook notes`. Records the run in sync_metadata ('notes'; not 'push:...', which
    sync_health reads as the push of the outbox)."""
    writer = NoteWriter(
        db,
        client,
        settings,
        reader=reader,
        batch_size=batch_size,
        settle_seconds=settle_seconds,
        clock=clock,
    )
    stats = writer.run(max_batches=max_batches, stop=stop)
    if not stats.locked_out:
        writer.store.record_run(
            "notes", "failed" if stats.failed else "success", stats.created, stats.failed
        )
    return stats
