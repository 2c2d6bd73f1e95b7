"""A step's result for people: :func:`describe` writes one line about it (the table of `mockbook
run`, the worker's log lines), :func:`level_of` the log level of that line (failures are
warnings, work done is info, idle steps are debug).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from glue.run.cycle import CONFIG, FAILED, OK, PARTIAL, SKIPPED, StepResult


def level_of(result: StepResult) -> int:
    """Failures are warnings; work done is info; idle steps are debug."""
    d = result.detail
    if result.status in (FAILED, PARTIAL, CONFIG):
        return logging.WARNING
    busy = {
        "push": bool(d.get("sent") or d.get("retried")),
        "pull": any(t.get("read") for t in d.values() if isinstance(t, dict)),
        "cache": bool(d.get("rebuilt")),
        "notes": bool(d.get("created") or d.get("recovered")),
        "analytics": result.status == OK,
        "purge": bool(d.get("purged") or d.get("idempotency_keys_purged")),
        "waitlist": bool(d.get("expired") or d.get("offered") or d.get("closed")
                         or d.get("left")),
        "complete": bool(d.get("completed")),
    }
    return logging.INFO if busy.get(result.name) else logging.DEBUG


def _describe_push(d: dict[str, Any]) -> str:
    tables = ", ".join(f"{k} {v}" for k, v in d.get("by_table", {}).items())
    text = (
        f"push: sent {d.get('sent', 0)} record(s)"
        + (f" ({tables})" if tables else "")
        + f", {d.get('calls', 0)} HubSpot call(s)"
    )
    if d.get("retried"):
        text += f", {d['retried']} row(s) to retry"
    if d.get("dead_lettered"):
        text += f", {d['dead_lettered']} dead-lettered"
    if d.get("more"):
        text += "; more to push (time budget spent)"
    return text


def _describe_pull(d: dict[str, Any]) -> str:
    parts = []
    for name, t in d.items():
        bits = [f"read {t.get('read', 0)}"]
        for key in ("inserted", "updated", "deactivated", "activated", "merged", "not_applied"):
            if t.get(key):
                bits.append(f"{key.replace('_', ' ')} {t[key]}")
        parts.append(f"{name} " + ", ".join(bits))
    return "pull: " + "; ".join(parts)


def _describe_cache(d: dict[str, Any]) -> str:
    if d.get("rebuilt") and "changes" not in d:
        return (
            f"cache: rebuilt ({d.get('written', 0)} key(s) written, {d.get('deleted', 0)} "
            "deleted)"
        )
    return (
        f"cache: {d.get('changes', 0)} change(s), {d.get('written', 0)} key(s) "
        f"written, {d.get('deleted', 0)} deleted"
        + (", rebuilt" if d.get("rebuilt") else "")
    )


def _describe_notes(d: dict[str, Any]) -> str:
    text = f"notes: created {d.get('created', 0)}, audit rows marked {d.get('rows_marked', 0)}"
    if d.get("recovered"):
        text += f", recovered {d['recovered']}"
    return text


def _describe_waitlist(d: dict[str, Any]) -> str:
    return (f"waitlist: {d.get('expired', 0)} offer(s) expired, {d.get('offered', 0)} made"
            + (f", {d['closed']} place(s) of past exams closed" if d.get("closed") else "")
            + (f", {d['left']} place(s) of students booked that day closed"
               if d.get("left") else "")
            + (f", {d['exams_busy']} exam(s) busy" if d.get("exams_busy") else ""))


def _describe_purge(d: dict[str, Any]) -> str:
    return (f"purge: {d.get('purged', 0)} done row(s) older than {d.get('retention_days')}"
            f" days, {d.get('idempotency_keys_purged', 0)} idempotency key(s) older than"
            f" {d.get('idempotency_retention_hours')} hours")


def _describe_analytics(result: StepResult) -> str:
    d = result.detail
    if result.status == SKIPPED and "due_in" in d:
        return f"analytics: not due (refreshed {d['refreshed_ago']} s ago, due in {d['due_in']} s)"
    return f"analytics: refreshed {d.get('views', 0)} views in {d.get('refresh_seconds')} s"


# One line of each step's detail, for people (describe)
_DESCRIBE: dict[str, Callable[[dict[str, Any]], str]] = {
    "push": _describe_push,
    "pull": _describe_pull,
    "cache": _describe_cache,
    "notes": _describe_notes,
    "waitlist": _describe_waitlist,
    "complete": lambda d: f"complete: {d.get('completed', 0)} past booking(s) completed",
    "purge": _describe_purge,
}


def describe(result: StepResult) -> str:
    """One line about a step's result, for people."""
    d = result.detail
    if result.status in (SKIPPED, FAILED, CONFIG) and not d:
        return f"{result.name}: {result.status}" + (f" ({result.error})" if result.error else "")
    if result.name == "analytics":
        text = _describe_analytics(result)
    elif result.name in _DESCRIBE:
        text = _DESCRIBE[result.name](d)
    else:
        text = f"{result.name}: {result.status}"
    if result.error and result.error != "not due":
        text += f" [{result.status}: {result.error}]"
    return text
