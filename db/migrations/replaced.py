"""Frozen files the runner (env.py) runs in place of, each pinned by two hashes: the frozen
file's (as revisions.lock pins it) and the file run instead (under replaced/, at the frozen
file's path less `versions/`). A released revision never changes; what a later release changes
about how its files run is written here, so that it is read, reviewed and pinned like the
revisions themselves (docs/dba.md, "How migrations are built"). The runner replaces a statement
group only when it is that frozen file byte for byte, and refuses to run a replacement whose
hash is not its pin. It lives beside the revisions, as dependents.py does: env.py and `mockbook
adoption list` load it without importing mockbook.

- versions/0002_mockbook_1_0/downgrade/0000_preamble.sql and 0004_schema_changes.sql: the way
  down to the production schema takes the old app's duplicate bookings (two Active or Completed
  of one student, mock type and day) as production held them. The frozen 0004 built a
  one-booking-a-day index that production's schema never had (0020_constraints.sql drops it a
  few steps later), so the frozen preamble refused those pairs; the replacements drop the index
  at once and check only what production's schema refuses (ndecc_exam_date must be a date).
"""

import hashlib
from pathlib import Path

HERE = Path(__file__).parent

# frozen file (relative to db/migrations) -> (its sha256, the sha256 of the file run instead)
REPLACED = {
    "versions/0002_mockbook_1_0/downgrade/0000_preamble.sql": (
        "33749c01a7f629355f63ceea6c5edb7380f525ce4e1110f1d9cfb28dc0118216",
        "b8eb5a15cb75c10aa89e67e1353eb5e30bbbce392129357b8b69634df1f58489"),
    "versions/0002_mockbook_1_0/downgrade/0004_schema_changes.sql": (
        "55582da2bf63f7bbd920f89e5476f7cf5d8ab0454c387bb33bb1449756008ec0",
        "2b1a2fd37227278d3e03afbbc342c91bac55224906be30adc6f11395822ae962"),
}
_BY_HASH = {frozen_sha: frozen for frozen, (frozen_sha, _) in REPLACED.items()}

# The way down to the production schema checks first what production's schema would refuse
# (1.0's downgrade preamble, as replaced): env.py runs it before any lock, from whatever
# revision the database steps down (a later release's way down changes no row it reads), and
# `mockbook adoption list` runs it read-only.
ROLLBACK_CHECK = "versions/0002_mockbook_1_0/downgrade/0000_preamble.sql"


def replacement(frozen: str) -> Path:
    """The file run in place of `frozen` (a path relative to db/migrations)."""
    return HERE / "replaced" / frozen.removeprefix("versions/")


def running(frozen: str) -> str:
    """The text the runner runs for the frozen file `frozen`: its replacement (checked against
    its pin), or the file itself."""
    if frozen not in REPLACED:
        return (HERE / frozen).read_text(encoding="utf-8")
    data = replacement(frozen).read_bytes()
    if hashlib.sha256(data).hexdigest() != REPLACED[frozen][1]:
        raise RuntimeError(f"{replacement(frozen)} is not the file pinned to run in place of "
                           f"{frozen} (db/migrations/replaced.py)")
    return data.decode("utf-8")


def substitute(sql: str) -> str:
    """A statement group a revision's runner passes to its _execute (a frozen file whole): the
    pinned replacement when it is one of REPLACED's frozen files byte for byte, else itself."""
    frozen = _BY_HASH.get(hashlib.sha256(sql.encode("utf-8")).hexdigest())
    return sql if frozen is None else running(frozen)
