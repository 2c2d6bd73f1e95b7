"""The credit merge of one field (mockbook_internal.credit_merge: values in, the decision out, no
I/O), case by case. Each row: HubSpot's value, the synced base, the local balance, what a push
sent and not yet confirmed, HubSpot's property history, whether the base was the push's write, the
jump limit, whether an admin confirmed the jump; then the base, whether the push's write landed,
the admin change it replaced, HubSpot's change, what is applied locally, whether it is held, and
whether the contact is pushed again afterwards (its balance differs from HubSpot's)."""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg
import pytest
from psycopg.types.json import Jsonb

READ_AT = "2026-03-01T10:00:00Z"
BEFORE = "2026-03-01T09:00:00Z"
AFTER = "2026-03-01T11:00:00Z"
LATER = "2026-03-01T12:00:00Z"


def history(*versions: tuple[int, str]) -> list[dict[str, str]]:
    """HubSpot's propertiesWithHistory of a field: newest first, as HubSpot answers."""
    return [{"value": str(v), "timestamp": at} for v, at in reversed(versions)]


class Case(NamedTuple):
    name: str
    hubspot: int
    synced: int | None
    local: int
    sent: int | None = None
    history: list[dict[str, str]] | None = None
    by_push: bool = False
    jump_limit: int = 0
    confirmed: bool = False
    # expected
    base: int | None = None
    landed: bool = False
    lost: int = 0
    change: int = 0
    applied: int = 0
    held: bool = False
    queue: bool = False


CASES = [
    Case("nothing changed", hubspot=5, synced=5, local=5, base=5),
    Case("a local deduction not pushed yet", hubspot=5, synced=5, local=4, base=5, queue=True),
    Case("an admin added 3", hubspot=8, synced=5, local=5, base=5, change=3, applied=3),
    Case("an admin added 3 beside a local deduction", hubspot=8, synced=5, local=4, base=5,
         change=3, applied=3, queue=True),
    Case("an admin took 2", hubspot=3, synced=5, local=5, base=5, change=-2, applied=-2),
    Case("an admin took more than is left: down to zero", hubspot=0, synced=5, local=2, base=5,
         change=-5, applied=-2),
    Case("no base yet (first merge): nothing applied, HubSpot's value becomes the base",
         hubspot=7, synced=None, local=4, base=None, queue=True),
    Case("the push's own write coming back", hubspot=4, synced=5, local=4, sent=4, base=5),
    Case("a push of unknown outcome not landed: the admin change still counts", hubspot=9,
         synced=5, local=4, sent=4, base=5, change=4, applied=4, queue=True),
    Case("a push of unknown outcome that landed becomes the base", hubspot=4, synced=5, local=4,
         sent=4, history=history((5, BEFORE), (4, AFTER)), base=4, landed=True),
    Case("a landed push over an admin change: the change is added back", hubspot=4, synced=5,
         local=4, sent=4, history=history((5, BEFORE), (7, AFTER), (4, LATER)), base=4,
         landed=True, lost=2, change=2, applied=2, queue=True),
    Case("the push's last write replaced an admin change", hubspot=4, synced=4, local=4,
         history=history((4, BEFORE), (6, AFTER), (4, LATER)), by_push=True, base=4, lost=2,
         change=2, applied=2, queue=True),
    Case("a change within the jump limit", hubspot=25, synced=5, local=5, jump_limit=20, base=5,
         change=20, applied=20),
    Case("a change past the jump limit is held: not applied, not pushed over", hubspot=26,
         synced=5, local=5, jump_limit=20, base=5, change=21, held=True),
    Case("a held change an admin confirmed is applied", hubspot=26, synced=5, local=5,
         jump_limit=20, confirmed=True, base=5, change=21, applied=21),
    Case("no jump limit (0)", hubspot=105, synced=5, local=5, base=5, change=100, applied=100),
]


def merge(conn: psycopg.Connection[Any], case: Case) -> Case:
    row = conn.execute(
        "SELECT m.base, m.landed, m.lost, m.change, m.applied, m.held, m.queue FROM"
        " mockbook_internal.credit_merge(%s, %s, %s, %s, %s, %s, %s, %s, %s) AS m",
        (case.hubspot, case.synced, case.local, case.sent,
         None if case.history is None else Jsonb(case.history), READ_AT, case.by_push,
         case.jump_limit, case.confirmed),
    ).fetchone()
    assert row is not None
    return case._replace(**dict(zip(
        ("base", "landed", "lost", "change", "applied", "held", "queue"), row, strict=True)))


@pytest.fixture(scope="module")
def conn(database_url: str):
    with psycopg.connect(database_url) as connection:
        yield connection


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_merge_of_one_field(conn: psycopg.Connection[Any], case: Case) -> None:
    assert merge(conn, case) == case


def test_the_merge_is_pure(conn: psycopg.Connection[Any]) -> None:
    volatility = conn.execute(
        "SELECT p.provolatile FROM pg_proc AS p WHERE p.oid ="
        " 'mockbook_internal.credit_merge(integer, integer, integer, integer, jsonb,"
        " timestamptz, boolean, integer, boolean)'::regprocedure").fetchone()
    assert volatility == ("i",)  # IMMUTABLE: reads no table, writes nothing
