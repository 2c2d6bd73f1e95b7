"""The RPC reference (docs/rpc.md) cannot drift from the functions: every public function of
SPEC §4 has a section whose signature block names exactly the catalog's parameters, in order,
and every error code raise_error knows is in the reference's error table (issue 3, item 9)."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

RPC_DOC = Path(__file__).resolve().parents[2] / "docs" / "rpc.md"
PUBLIC = [
    "create_booking", "cancel_booking", "cancel_bookings", "admin_create_booking", "rebook",
    "mark_attendance", "set_exam_capacity", "adjust_credits", "get_credit_summary",
    "list_available_exams", "list_contact_bookings", "get_contact_credits", "get_booking",
    "check_idempotency_key", "create_booking_atomic", "cancel_booking_atomic",
    "increment_exam_bookings", "update_exam_prerequisites", "set_exam_prerequisites",
    "set_booking_rule", "join_waitlist", "leave_waitlist", "accept_offer", "process_waitlist",
    "complete_past_bookings",
]


def documented_signature(doc: str, name: str) -> list[str]:
    """Parameter names in the first code block of the `### name` section."""
    section = re.search(rf"^### {name}\b.*?\n```\n(.*?)\n```", doc, re.M | re.S)
    assert section, f"docs/rpc.md has no section with a signature block for {name}"
    signature = section.group(1)
    assert signature.startswith(f"{name}("), f"{name}: the block does not start with its name"
    return re.findall(r"\b(p_[a-z_]+)\s+[a-z]", signature)


@pytest.mark.parametrize("name", PUBLIC)
def test_reference_matches_the_catalog(db: psycopg.Connection, name: str) -> None:
    row = db.execute(
        "SELECT proargnames, pronargs FROM pg_proc "
        "WHERE pronamespace = 'hubspot_sync'::regnamespace AND proname = %s", (name,)
    ).fetchall()
    assert len(row) == 1, f"{name}: expected exactly one function, found {len(row)}"
    names, nargs = row[0]
    assert documented_signature(RPC_DOC.read_text(), name) == list(names[:nargs])


def test_every_error_code_is_in_the_reference(db: psycopg.Connection) -> None:
    body = db.execute(
        "SELECT pg_get_functiondef('hubspot_sync.raise_error(text, text, text)'::regprocedure)"
    ).fetchone()[0]
    codes = set(re.findall(r"\('([A-Z_]+)', 'PT\d{3}'", body))
    assert len(codes) >= 19
    errors = RPC_DOC.read_text().split("## Errors", 1)[1]
    missing = sorted(code for code in codes if code not in errors)
    assert not missing, f"docs/rpc.md's error table lacks {missing}"
