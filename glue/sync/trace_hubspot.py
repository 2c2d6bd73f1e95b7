"""`mockbook trace`'s HubSpot side: the record as HubSpot holds it now (read by id, with the
glue's reads), beside Postgres' values, field by field as `mockbook reconcile` compares them, each
difference explained by what the story holds: a push pending, a credit jump held, a dead letter,
a conflict, a change made in HubSpot the pull has not applied yet; or HubSpot deleted or merged
the record.
"""

from __future__ import annotations

from typing import Any

from glue.config import Settings
from glue.hubspot.catalogue import MERGED_IDS
from glue.hubspot.reads import HubSpotReader
from glue.sync.pull import targets, to_ms
from glue.sync.reconcile import (
    BOOKING_FIELDS,
    CONTACT_PROFILE,
    CREDIT_FIELDS,
    EXAM_FIELDS,
    _exam_active,
    _text,
    norm,
)
from glue.sync.trace import Difference, HubSpotView, Story, short, ts, when

TARGETS = {"booking": "bookings", "student": "contacts", "exam": "exams"}
# where HubSpot is what is pushed (Postgres owns it): bookings whole, credits, an exam's count
PUSHED = {"booking": set(BOOKING_FIELDS), "student": set(CREDIT_FIELDS),
          "exam": {"total_bookings", "capacity"}}
DELETED_ADVICE = {
    "booking": "`mockbook reconcile --repair` queues it and the push re-creates it",
    "student": "mockbook keeps the student, its bookings and ledger; restore the contact from "
               "HubSpot's recycle bin (the id is kept)",
    "exam": "the pull deactivates it here (its bookings stay; restore it in HubSpot to reopen it)",
}


def compare(reader: HubSpotReader, settings: Settings, story: Story) -> HubSpotView:
    """HubSpot's record of ``story`` beside Postgres' (reads only: one or two batch reads)."""
    target = targets(settings)[TARGETS[story.kind]]
    row = story.record
    hid = row.get("hubspot_id")
    view = HubSpotView("missing", target.object_type, hid)
    if hid:
        found = reader.read(target.object_type, [hid], properties=target.properties)
    elif story.kind == "booking" and row.get("booking_id"):
        found = reader.read(target.object_type, [row["booking_id"]], properties=target.properties,
                            id_property="booking_id")
    elif story.kind == "student" and row.get("email"):
        found = reader.read(target.object_type, [row["email"]], properties=target.properties,
                            id_property="email")
    else:
        found = []
    if not found:
        if hid and (gone := reader.read(target.object_type, [hid], properties=(),
                                        archived=True)):
            view.state, view.at = "deleted", ts(gone[0].get("archivedAt"))
            view.detail = DELETED_ADVICE[story.kind]
        else:
            view.detail = (f"no {TARGETS[story.kind][:-1]} {hid} there (another portal's id, or "
                           "deleted for good)" if hid else "not found there by its key")
        return view
    rec = found[0]
    view.hubspot_id = rec["id"]
    if story.kind == "student" and hid and rec["id"] != hid:
        merged = (rec["properties"].get(MERGED_IDS) or "").split(";")
        view.state, view.merged_into = "merged", rec["id"]
        view.detail = f"{hid} is one of {rec['id']}'s merged ids: {', '.join(merged)}"
        return view
    pairs = list(_pairs(story, rec["properties"]))
    if not hid:
        pairs.append(("hubspot_id", None, rec["id"]))
    view.compared = len(pairs)
    modified = ts_ms(rec["properties"].get(target.lastmod))
    for name, local, remote in pairs:
        if name == "is_active" and story.kind == "exam":
            same = _exam_active(local, row.get("scheduled_activation_datetime")) == \
                _exam_active(remote, rec["properties"].get("scheduled_activation_datetime"))
        else:
            same = name != "hubspot_id" and norm(name, local) == norm(name, remote)
        value = Difference(name, local, remote,
                           "" if same else explain(story, name, remote, modified))
        view.values.append(value)
        if not same:
            view.differences.append(value)
    view.state = "differs" if view.differences else "same"
    return view


def _pairs(story: Story, props: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(property, Postgres' value, HubSpot's value) of each compared property."""
    row = story.record
    if story.kind == "booking":
        contact = (story.data.get("contact") or {}).get("hubspot_id")
        return [(p, (row.get(c) or contact) if p == "associated_contact_id" else row.get(c),
                 props.get(p)) for p, c in BOOKING_FIELDS.items()]
    if story.kind == "student":
        profile = [(f, row.get(f), props.get(f)) for f in CONTACT_PROFILE
                   if not (f == "student_id" and not _text(props.get(f)))]
        return profile + [(f, row.get(f) or 0, props.get(f) or 0) for f in CREDIT_FIELDS]
    return [(f, row.get(f), props.get(f)) for f in EXAM_FIELDS] + [
        ("total_bookings", row.get("total_bookings") or 0, props.get("total_bookings") or 0)]


def explain(story: Story, name: str, remote: Any, modified: float | None) -> str:
    """Why one property differs, from what the story holds (first reason that applies)."""
    for letter in story.held():
        held = ((letter.get("payload") or {}).get("held") or {}).get(name)
        if held:
            return (f"credit jump held: {held['change']:+d} in HubSpot since the last sync "
                    f"(dead letter {letter['id']}; `mockbook dlq retry {letter['id']}` "
                    "confirms it)")
    pending = story.pending()
    # an exam's capacity is HubSpot's, but for a local change (set_exam_capacity) not pushed yet
    pushed = name in PUSHED[story.kind] and (name != "capacity" or bool(pending))
    if pushed and (letters := story.letters("push")):
        return f"dead letter {letters[0]['id']}: the push gave up on it"
    if story.kind == "exam" and name in ("capacity", "total_bookings"):
        cut = [c for c in story.conflicts() if c["rule"] == "capacity_cut"]
        if cut:
            return f"conflict: {short(cut[0]['detail'], 120)}"
    if pushed and pending:
        return f"push pending: outbox row {pending[0]['id']}"
    if story.kind == "student" and name in CREDIT_FIELDS:
        base = ((story.data.get("credit_sync") or {}).get("credits") or {}).get(name)
        if base is not None and norm(name, remote or 0) != norm(name, base):
            return (f"changed in HubSpot after the last pull ({base} then): the next pull merges "
                    "it as a hubspot_adjustment")
    if not pushed:
        if not _text(remote):
            return "empty in HubSpot: Postgres keeps its value"
        last_pull = ts(story.data.get("last_pull"))
        if modified is None or last_pull is None or modified > last_pull.timestamp() * 1000:
            return (f"changed in HubSpot after the last pull ({when(last_pull)}): the next pull "
                    "applies it")
        return "HubSpot's value, not applied although pulled since: see its dead letters"
    return "drift: nothing queued; `mockbook reconcile --repair` queues it"


def ts_ms(value: Any) -> float | None:
    ms = to_ms(value)
    return None if ms is None else float(ms)
