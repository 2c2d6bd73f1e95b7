"""The school's locations are one list (mockbook_internal.locations), used by every function that
checks or maps a location: create_booking's common case, the argument checks of every booking
function, and the original apps' spellings (legacy_attending_location)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg
import pytest
from postgrest import RpcError, rpc

DB = Path(__file__).resolve().parents[3] / "db"


def locations(db: psycopg.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT unnest(mockbook_internal.locations())")]


def code_of(sql: str) -> str:
    """The SQL without comments and without COMMENT ON texts (prose may name a location)."""
    sql = re.sub(r"/\*.*?\*/", "", sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"COMMENT ON .*?';\n", "", sql, flags=re.S)


def test_no_function_spells_a_location_but_the_list(db: psycopg.Connection) -> None:
    names = "|".join(locations(db))
    literal = re.compile(rf"(?<!')'({names})'(?!')")
    spelled = {str(path.relative_to(DB)) for path in DB.rglob("*.sql")
               if "migrations" not in path.parts and path.name != "locations.sql"
               and literal.search(code_of(path.read_text()))}
    assert spelled == set()


@pytest.mark.parametrize("function", ["create_booking", "join_waitlist"])
def test_every_location_is_taken_and_no_other(db: psycopg.Connection, function: str) -> None:
    for location in [*locations(db), "toronto"]:
        student = db.execute("SELECT tests.make_student(p_sj := 1)").fetchone()[0]
        exam = db.execute("SELECT tests.make_exam(p_capacity := %s, p_location := %s)",
                          (0 if function == "join_waitlist" else 5, location)).fetchone()[0]
        args = {"p_student_id": student, "p_email": f"{student.lower()}@example.com",
                "p_mock_exam_id": exam, "p_attending_location": location}
        if function == "create_booking":
            args["p_idempotency_key"] = f"loc-{uuid.uuid4()}"
        if location == "toronto":
            with pytest.raises(RpcError) as refused:
                rpc(db, function, **args)
            assert refused.value.code == "INVALID_ARGUMENT"
            assert ", ".join(locations(db)) in refused.value.detail
        else:
            assert rpc(db, function, **args) is not None


def test_the_original_apps_names_map_to_the_list(db: psycopg.Connection) -> None:
    for location in locations(db):
        name = location.replace("_", " ").title()
        for spelled in (name, f"{name} - Lab D", location):
            assert db.execute("SELECT mockbook_internal.legacy_attending_location(%s)",
                              (spelled,)).fetchone()[0] == location
    with pytest.raises(psycopg.Error) as refused:
        db.execute("SELECT mockbook_internal.legacy_attending_location('Toronto')")
    assert refused.value.diag.message_primary == "INVALID_ARGUMENT"
