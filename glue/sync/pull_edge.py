"""The records at the pull cursor's edge: what a pass read within the overlap before its newest
modification, so that the next pass reads what changed instead of that window again (how it
works: below; docs/operations.md "How the pull's cursor advances").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# How it works (the detail of the module docstring):
#
# HubSpot's search reads an index that trails writes (https://developers.hubspot.com/docs/api/crm/search),
# so a record modified just before the newest one a pass saw may show in search only after the
# pass went by; the pull looks again ``overlap`` (MOCKBOOK_PULL_OVERLAP_SECONDS) before its
# cursor for it. Reading that window again costs what it holds: after a first import whose
# records all changed within a minute, the whole import, on every run of an unchanged portal.
#
# A pass that ends normally remembers the (id, modification time) of every record it read within
# the overlap before its newest modification: the edge. The next pass asks HubSpot first how
# many records the window holds now (one search, ``total``), then reads only the records
# modified after the newest one. A record that moved out of the window (modified again) is among
# those; if the window holds exactly the records remembered less those, no record appeared in it
# late, and it is not read again; otherwise the pass reads it again, as before. Every time
# compared is HubSpot's (the records' modification times), never a glue host's clock.

KEY = "edge"


@dataclass
class Edge:
    """The newest modification applied (``until_ms``, HubSpot's epoch ms) and the records read
    within ``overlap_ms`` before it, {id: modification ms}."""

    until_ms: int
    overlap_ms: int
    seen: dict[str, int] = field(default_factory=dict)

    @property
    def since_ms(self) -> int:
        """The window's start: the overlap before the newest modification."""
        return max(0, self.until_ms - self.overlap_ms)

    @classmethod
    def from_cursor(cls, cursor: dict[str, Any], overlap_ms: int) -> Edge | None:
        """The edge a pass that ended normally saved (None: an older cursor, a pass that
        stopped, or another overlap: the window is read again)."""
        saved = cursor.get(KEY)
        if not isinstance(saved, dict) or saved.get("overlap_ms") != overlap_ms:
            return None
        try:
            seen = {str(i): int(ms) for i, ms in saved.get("seen") or []}
            return cls(int(saved["until_ms"]), overlap_ms, seen)
        except (KeyError, TypeError, ValueError):
            return None

    def as_cursor(self) -> dict[str, Any]:
        return {"until_ms": self.until_ms, "overlap_ms": self.overlap_ms,
                "seen": sorted([i, ms] for i, ms in self.seen.items())}

    def unchanged(self, total: int, newer: Iterable[str]) -> bool:
        """Whether a window that holds ``total`` records now holds exactly the ones remembered,
        less those read since as modified after the newest (``newer``: their ids)."""
        moved = set(newer) & self.seen.keys()
        return total == len(self.seen) - len(moved)

    def advanced(self, read: dict[str, int]) -> Edge:
        """The edge after a pass that read ``read`` ({id: modification ms}) and ended normally:
        the newest modification, and every record known within the overlap before it."""
        until = max([self.until_ms, *read.values()])
        seen = {**self.seen, **read}
        low = max(0, until - self.overlap_ms)
        return Edge(until, self.overlap_ms, {i: ms for i, ms in seen.items() if ms >= low})
