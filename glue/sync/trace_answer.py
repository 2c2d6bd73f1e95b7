"""`mockbook trace`'s last line: the one answer to "is this record in HubSpot, and if not, why",
from its story (glue.sync.trace) and HubSpot's side when it was read (glue.sync.trace_hubspot):
the first that applies of held, dead letter, conflict, waiting, deleted, merged, missing, not in
HubSpot, pull pending, drift, in HubSpot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from glue.sync.trace import Story, pending_text, short, ts, when


def answer(story: Story) -> tuple[str, str]:
    """(kind, the one line): held, dead letter, conflict, waiting, deleted, merged, missing,
    not in HubSpot, pull pending, drift, in HubSpot."""
    for step in ANSWERS:
        if (found := step(story)) is not None:
            return found
    hid = story.record.get("hubspot_id")
    since = when(in_hubspot_since(story))
    if (why := story.not_read()) is not None:  # Postgres' side only: say so
        return "not read", (f"pushed to HubSpot at {since} (id {hid}); HubSpot was not read "
                            f"({why}): whether it still holds it as Postgres does is not known")
    return "in HubSpot", f"in HubSpot since {since} (id {hid})"


def _held(story: Story) -> tuple[str, str] | None:
    if not (held := story.held()):
        return None
    letter = held[0]
    jumps = ", ".join(
        f"{name} {value['change']:+d} ({value['synced']} synced, {value['hubspot']} in HubSpot)"
        for name, value in sorted(((letter.get("payload") or {}).get("held") or {}).items()))
    return "held", (f"held: credit jump of {jumps or letter['error']} since "
                    f"{when(ts(letter['created_at']))}; confirm it with `mockbook dlq retry "
                    f"{letter['id']}` or correct the value in HubSpot")


def _dead_letter(story: Story) -> tuple[str, str] | None:
    if not (letters := story.letters()):
        return None
    letter = letters[0]
    if letter["direction"] == "push":
        advice = f"retry with `mockbook dlq retry {letter['id']}`"
    elif letter["error"].startswith("MERGED:"):  # no pull can link it: a person merges them
        advice = f"then `mockbook dlq discard {letter['id']}`"
    else:
        advice = (f"fix it in HubSpot (the next pull closes it) or `mockbook dlq discard "
                  f"{letter['id']}`")
    return "dead letter", (f"dead letter: {short(letter['error'], 200)} (letter "
                           f"{letter['id']}, since {when(ts(letter['created_at']))}); {advice}")


def _conflict(story: Story) -> tuple[str, str] | None:
    if not (conflicts := story.conflicts()):
        return None
    first = conflicts[0]
    more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
    return "conflict", (f"conflict: {first['rule']}: {first['detail']}{more}; an admin "
                        "decides (mockbook status lists it)")


def _waiting(story: Story) -> tuple[str, str] | None:
    if not (pending := story.pending()):
        return None
    return "waiting", (f"waiting: outbox row {pending[0]['id']}, "
                       f"{pending_text(pending[0], ts(story.data.get('read_at')))}")


def _not_there(story: Story) -> tuple[str, str] | None:
    """HubSpot's side read, and the record not there as ours: deleted, merged, missing."""
    hubspot = story.hubspot
    if hubspot is None:
        return None
    if hubspot.state == "deleted":
        return "deleted", f"deleted in HubSpot at {when(hubspot.at)}: {hubspot.detail}"
    if hubspot.state == "merged":
        return "merged", (f"merged in HubSpot into {hubspot.merged_into}: the next pull links "
                          "this student to it")
    if hubspot.state == "missing":
        return "missing", f"missing in HubSpot: {hubspot.detail}"
    return None


def _never_pushed(story: Story) -> tuple[str, str] | None:
    if story.record.get("hubspot_id"):
        return None
    if (why := story.not_read()) is not None:
        return "not in HubSpot", ("never pushed (no HubSpot id), and no push is queued; HubSpot "
                                  f"was not read ({why}): `mockbook reconcile --repair` queues "
                                  "it")
    return "not in HubSpot", ("not in HubSpot, and no push is queued: `mockbook reconcile "
                              "--repair` queues it")


def _differs(story: Story) -> tuple[str, str] | None:
    """HubSpot's values differ: all changed there since the last pull, or drift."""
    if story.hubspot is None or not story.hubspot.differences:
        return None
    differences = story.hubspot.differences
    pulls = [d.field for d in differences if d.why.startswith("changed in HubSpot")]
    if len(pulls) == len(differences):
        return "pull pending", (f"pull pending: HubSpot changed {', '.join(pulls)} after the "
                                "last pull; the next pull applies it")
    fields = ", ".join(d.field for d in differences)
    return "drift", (f"drift: {fields} differ from HubSpot (id {story.record.get('hubspot_id')}) "
                     "with nothing queued; `mockbook reconcile --repair` queues the fix")


# the answers in the order they are tried: the first that applies is the line
ANSWERS: tuple[Callable[[Story], tuple[str, str] | None], ...] = (
    _held, _dead_letter, _conflict, _waiting, _not_there, _never_pushed, _differs,
)


def in_hubspot_since(story: Story) -> datetime | None:
    """When the record got its HubSpot id: the audit row that wrote it, else its first outbox
    row done, else its creation (it came with one: imported, adopted)."""
    for a in sorted(story.data["audit"], key=lambda a: a["id"]):
        if (a.get("new_values") or {}).get("hubspot_id"):
            return ts(a["performed_at"])
    done = sorted(ts(q["done_at"]) for q in story.data["outbox"] if q["done_at"])
    return done[0] if done else ts(story.record.get("created_at"))
