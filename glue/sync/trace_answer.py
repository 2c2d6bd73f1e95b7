"""`mockbook trace`'s last line: the one answer to "is this record in HubSpot, and if not, why",
from its story (glue.sync.trace) and HubSpot's side when it was read (glue.sync.trace_hubspot):
the first that applies of held, dead letter, conflict, waiting, deleted, merged, missing, not in
HubSpot, pull pending, drift, in HubSpot."""

from __future__ import annotations

from datetime import datetime

from glue.sync.trace import Story, pending_text, short, ts, when


def answer(story: Story) -> tuple[str, str]:
    """(kind, the one line): held, dead letter, conflict, waiting, deleted, merged, missing,
    not in HubSpot, pull pending, drift, in HubSpot."""
    if held := story.held():
        letter = held[0]
        jumps = ", ".join(
            f"{name} {value['change']:+d} ({value['synced']} synced, {value['hubspot']} in HubSpot)"
            for name, value in sorted(((letter.get("payload") or {}).get("held") or {}).items()))
        return "held", (f"held: credit jump of {jumps or letter['error']} since "
                        f"{when(ts(letter['created_at']))}; confirm it with `mockbook dlq retry "
                        f"{letter['id']}` or correct the value in HubSpot")
    if letters := story.letters():
        letter = letters[0]
        if letter["direction"] == "push":
            advice = f"retry with `mockbook dlq retry {letter['id']}`"
        else:
            advice = (f"fix it in HubSpot (the next pull closes it) or `mockbook dlq discard "
                      f"{letter['id']}`")
        return "dead letter", (f"dead letter: {short(letter['error'], 200)} (letter "
                               f"{letter['id']}, since {when(ts(letter['created_at']))}); {advice}")
    if conflicts := story.conflicts():
        first = conflicts[0]
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        return "conflict", (f"conflict: {first['rule']}: {first['detail']}{more}; an admin "
                            "decides (mockbook status lists it)")
    if pending := story.pending():
        return "waiting", (f"waiting: outbox row {pending[0]['id']}, "
                           f"{pending_text(pending[0], ts(story.data.get('read_at')))}")
    hubspot, hid = story.hubspot, story.record.get("hubspot_id")
    if hubspot is not None and hubspot.state == "deleted":
        return "deleted", f"deleted in HubSpot at {when(hubspot.at)}: {hubspot.detail}"
    if hubspot is not None and hubspot.state == "merged":
        return "merged", (f"merged in HubSpot into {hubspot.merged_into}: the next pull links "
                          "this student to it")
    if hubspot is not None and hubspot.state == "missing":
        return "missing", f"missing in HubSpot: {hubspot.detail}"
    if not hid:
        return "not in HubSpot", ("not in HubSpot, and no push is queued: `mockbook reconcile "
                                  "--repair` queues it")
    if hubspot is not None and hubspot.differences:
        pulls = [d.field for d in hubspot.differences if d.why.startswith("changed in HubSpot")]
        if len(pulls) == len(hubspot.differences):
            return "pull pending", (f"pull pending: HubSpot changed {', '.join(pulls)} after the "
                                    "last pull; the next pull applies it")
        fields = ", ".join(d.field for d in hubspot.differences)
        return "drift", (f"drift: {fields} differ from HubSpot (id {hid}) with nothing queued; "
                         "`mockbook reconcile --repair` queues the fix")
    return "in HubSpot", f"in HubSpot since {when(in_hubspot_since(story))} (id {hid})"


def in_hubspot_since(story: Story) -> datetime | None:
    """When the record got its HubSpot id: the audit row that wrote it, else its first outbox
    row done, else its creation (it came with one: imported, adopted)."""
    for a in sorted(story.data["audit"], key=lambda a: a["id"]):
        if (a.get("new_values") or {}).get("hubspot_id"):
            return ts(a["performed_at"])
    done = sorted(ts(q["done_at"]) for q in story.data["outbox"] if q["done_at"])
    return done[0] if done else ts(story.record.get("created_at"))
