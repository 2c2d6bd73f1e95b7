"""`mockbook trace`'s HubSpot side: the record as HubSpot holds it now (read by id, with the
glue's reads), beside Postgres' values, field by field as `mockbook reconcile` compares them, each
difference explained by what the story holds: a push pending, a credit jump held, a dead letter,
a conflict, a change made in HubSpot the pull has not applied yet; or HubSpot deleted or merged
the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glue.config import Settings
from glue.hubspot.catalogue import MERGED_IDS
from glue.hubspot.reads import HubSpotReader
from glue.sync.pull import Target, targets, to_ms
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
# the property a record without a HubSpot id is found by there (an exam has none but its id)
KEYS = {"booking": "booking_id", "student": "email"}
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
    hid = story.record.get("hubspot_id")
    view = HubSpotView("missing", target.object_type, hid)
    found = _read(reader, target, story)
    if not found:
        _not_found(reader, target, story, view)
        return view
    rec = found[0]
    view.hubspot_id = rec["id"]
    if story.kind == "student" and hid and rec["id"] != hid:
        merged = (rec["properties"].get(MERGED_IDS) or "").split(";")
        view.state, view.merged_into = "merged", rec["id"]
        view.detail = f"{hid} is one of {rec['id']}'s merged ids: {', '.join(merged)}"
        return view
    _compare_values(story, rec, ts_ms(rec["properties"].get(target.lastmod)), view)
    return view


def _read(reader: HubSpotReader, target: Target, story: Story) -> list[dict[str, Any]]:
    """HubSpot's record by the HubSpot id Postgres has, else by the record's key there (a
    booking's code, a student's email); none when neither is known."""
    row = story.record
    if hid := row.get("hubspot_id"):
        return reader.read(target.object_type, [hid], properties=target.properties)
    key = KEYS.get(story.kind)
    if key is None or not row.get(key):
        return []
    return reader.read(target.object_type, [row[key]], properties=target.properties,
                       id_property=key)


def _not_found(reader: HubSpotReader, target: Target, story: Story, view: HubSpotView) -> None:
    """What ``view`` says when HubSpot has no record: deleted (it is in HubSpot's archive), or
    not there at all."""
    hid = view.hubspot_id
    if hid and (gone := reader.read(target.object_type, [hid], properties=(), archived=True)):
        view.state, view.at = "deleted", ts(gone[0].get("archivedAt"))
        view.detail = DELETED_ADVICE[story.kind]
    elif hid:
        view.detail = (f"no {TARGETS[story.kind][:-1]} {hid} there (another portal's id, or "
                       "deleted for good)")
    else:
        view.detail = "not found there by its key"


def _compare_values(
    story: Story, rec: dict[str, Any], modified: float | None, view: HubSpotView
) -> None:
    """Every compared property into ``view``, a difference explained (:func:`explain`);
    ``modified``: when HubSpot last changed the record (epoch ms)."""
    pairs = PAIRS[story.kind](story, rec["properties"])
    if not story.record.get("hubspot_id"):
        pairs.append(("hubspot_id", None, rec["id"]))
    view.compared = len(pairs)
    for name, local, remote in pairs:
        same = _same(story, rec, name, local, remote)
        value = Difference(name, local, remote,
                           "" if same else explain(story, name, remote, modified))
        view.values.append(value)
        if not same:
            view.differences.append(value)
    view.state = "differs" if view.differences else "same"


def _same(story: Story, rec: dict[str, Any], name: str, local: Any, remote: Any) -> bool:
    """The two values agree, as reconcile compares them (an exam is active alike when a
    scheduled activation has passed); a HubSpot id Postgres lacks never agrees."""
    if name == "is_active" and story.kind == "exam":
        at = "scheduled_activation_datetime"
        return _exam_active(local, story.record.get(at)) == \
            _exam_active(remote, rec["properties"].get(at))
    return name != "hubspot_id" and norm(name, local) == norm(name, remote)


# (property, Postgres' value, HubSpot's value) of each compared property, by kind of record
def _booking_pairs(story: Story, props: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    row = story.record
    contact = (story.data.get("contact") or {}).get("hubspot_id")
    return [(p, (row.get(c) or contact) if p == "associated_contact_id" else row.get(c),
             props.get(p)) for p, c in BOOKING_FIELDS.items()]


def _student_pairs(story: Story, props: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    row = story.record
    profile = [(f, row.get(f), props.get(f)) for f in CONTACT_PROFILE
               if f != "student_id" or _text(props.get(f))]
    return profile + [(f, row.get(f) or 0, props.get(f) or 0) for f in CREDIT_FIELDS]


def _exam_pairs(story: Story, props: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    row = story.record
    return [(f, row.get(f), props.get(f)) for f in EXAM_FIELDS] + [
        ("total_bookings", row.get("total_bookings") or 0, props.get("total_bookings") or 0)]


PAIRS: dict[str, Callable[[Story, dict[str, Any]], list[tuple[str, Any, Any]]]] = {
    "booking": _booking_pairs, "student": _student_pairs, "exam": _exam_pairs,
}


# ---- why a property differs ----------------------------------------------------------------------
@dataclass
class Differing:
    """One property that differs, as :func:`explain` looks at it. ``pushed``: HubSpot's value
    is what the push writes (Postgres owns it); ``pending``: the record's open outbox rows."""

    story: Story
    name: str
    remote: Any
    modified: float | None
    pending: list[dict[str, Any]]
    pushed: bool


def explain(story: Story, name: str, remote: Any, modified: float | None) -> str:
    """Why one property differs, from what the story holds (the first reason that applies)."""
    pending = story.pending()
    # an exam's capacity is HubSpot's, but for a local change (set_exam_capacity) not pushed yet
    pushed = name in PUSHED[story.kind] and (name != "capacity" or bool(pending))
    differing = Differing(story, name, remote, modified, pending, pushed)
    for reason in REASONS:
        if (why := reason(differing)) is not None:
            return why
    return "drift: nothing queued; `mockbook reconcile --repair` queues it"


def _credit_jump_held(d: Differing) -> str | None:
    for letter in d.story.held():
        held = ((letter.get("payload") or {}).get("held") or {}).get(d.name)
        if held:
            return (f"credit jump held: {held['change']:+d} in HubSpot since the last sync "
                    f"(dead letter {letter['id']}; `mockbook dlq retry {letter['id']}` "
                    "confirms it)")
    return None


def _push_gave_up(d: Differing) -> str | None:
    if d.pushed and (letters := d.story.letters("push")):
        return f"dead letter {letters[0]['id']}: the push gave up on it"
    return None


def _capacity_conflict(d: Differing) -> str | None:
    if d.story.kind != "exam" or d.name not in ("capacity", "total_bookings"):
        return None
    cut = [c for c in d.story.conflicts() if c["rule"] == "capacity_cut"]
    return f"conflict: {short(cut[0]['detail'], 120)}" if cut else None


def _push_pending(d: Differing) -> str | None:
    return f"push pending: outbox row {d.pending[0]['id']}" if d.pushed and d.pending else None


def _credit_changed_in_hubspot(d: Differing) -> str | None:
    if d.story.kind != "student" or d.name not in CREDIT_FIELDS:
        return None
    base = ((d.story.data.get("credit_sync") or {}).get("credits") or {}).get(d.name)
    if base is not None and norm(d.name, d.remote or 0) != norm(d.name, base):
        return (f"changed in HubSpot after the last pull ({base} then): the next pull merges "
                "it as a hubspot_adjustment")
    return None


def _hubspot_value(d: Differing) -> str | None:
    """A property HubSpot owns: empty there, changed after the last pull, or not applied."""
    if d.pushed:
        return None
    if not _text(d.remote):
        return "empty in HubSpot: Postgres keeps its value"
    last_pull = ts(d.story.data.get("last_pull"))
    if d.modified is None or last_pull is None or d.modified > last_pull.timestamp() * 1000:
        return (f"changed in HubSpot after the last pull ({when(last_pull)}): the next pull "
                "applies it")
    return "HubSpot's value, not applied although pulled since: see its dead letters"


REASONS: tuple[Callable[[Differing], str | None], ...] = (
    _credit_jump_held, _push_gave_up, _capacity_conflict, _push_pending,
    _credit_changed_in_hubspot, _hubspot_value,
)


def ts_ms(value: Any) -> float | None:
    ms = to_ms(value)
    return None if ms is None else float(ms)
