"""Thousands of failures of one kind are one line, not thousands: a count per error kind with a
few examples (a push that dead-lettered 3,366 rows printed ~1,500 warning lines).

The kind of a message is the message with what varies from record to record blanked: every
token holding a digit (ids, booking codes, dates, uuids) and every email address becomes ``#``.
"OBJECT_NOT_FOUND: Object not found: 10005" and "... 10006" are one kind.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

_EMAIL = re.compile(r"[^\s,;:()'\"\[\]{}<>]+@[^\s,;:()'\"\[\]{}<>]+")
_WITH_DIGIT = re.compile(r"[^\s,;:()'\"\[\]{}<>=]*\d[^\s,;:()'\"\[\]{}<>=]*")
MAX_KINDS_SHOWN = 10


def error_kind(message: str) -> str:
    """The message with record-specific tokens replaced by #."""
    return _WITH_DIGIT.sub("#", _EMAIL.sub("#", message)).strip()


class ErrorSummary:
    """Counts per kind, the first ``examples`` messages of each."""

    def __init__(self, examples: int = 3) -> None:
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, list[str]] = {}
        self.max_examples = examples

    def add(self, message: str, count: int = 1) -> None:
        if count <= 0:
            return
        kind = error_kind(message)
        self.counts[kind] += count
        examples = self.samples.setdefault(kind, [])
        if len(examples) < self.max_examples and message not in examples:
            examples.append(message)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)

    def lines(self, what: str) -> list[str]:
        """One line per kind, most frequent first (at most MAX_KINDS_SHOWN, then one line for
        the rest): '<what>: 3,366 x OBJECT_NOT_FOUND: Object not found: # (e.g. ...; ...)'."""
        ranked = self.counts.most_common()
        out = []
        for kind, n in ranked[:MAX_KINDS_SHOWN]:
            examples = "; ".join(self.samples[kind])
            out.append(f"{what}: {n:,} x {kind} (e.g. {examples})")
        rest = ranked[MAX_KINDS_SHOWN:]
        if rest:
            out.append(
                f"{what}: {sum(n for _, n in rest):,} more in {len(rest)} other kind(s) "
                "(see `mockbook dlq list`)"
            )
        return out

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {"kind": kind, "count": n, "examples": self.samples[kind]}
            for kind, n in self.counts.most_common()
        ]
