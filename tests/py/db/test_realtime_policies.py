"""Who may listen to mockbook's Realtime topics, checked the way Realtime checks a join
(tests/py/realtime.py), on a database migrated with Supabase Realtime's schema already in place, as
a Supabase project is; and the same migration on plain PostgreSQL, which sends nothing.

The policies exist only where realtime.messages does: the migration creates them (with the
broadcast triggers enabled) on the first kind of database and neither on the second. Supabase's
linter, splinter (tests/fixtures/splinter/splinter.sql), finds nothing to warn about in the
first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import realtime
from postgrest import RpcError, rpc

from glue.db import migrations

SPLINTER = Path(__file__).resolve().parents[2] / "fixtures" / "splinter" / "splinter.sql"
# Supabase's exposed schemas by default, and the API's
EXPOSED = "public,graphql_public,hubspot_sync"

STUDENT = {"role": "authenticated", "sub": "0b7d1c8e-0000-4000-8000-000000000001",
           "email": "Ann.Lee@School.ca "}
OTHER = {"role": "authenticated", "sub": "0b7d1c8e-0000-4000-8000-000000000002",
         "email": "bob@school.ca"}
ADMIN = {"role": "authenticated", "sub": "0b7d1c8e-0000-4000-8000-000000000003",
         "email": "dean@school.ca", "app_metadata": {"role": "admin"}}
ANON = {"role": "anon"}
MINE = "mockbook:student:ann.lee@school.ca"


@pytest.fixture(scope="module")
def supabase_db(make_database: Any) -> Iterator[psycopg.Connection]:
    """A database that had Supabase Realtime's schema before mockbook was migrated into it."""
    url = make_database("realtime_supabase")
    with psycopg.connect(url, autocommit=True) as conn:
        realtime.install(conn)
    migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def test_the_migration_turns_broadcasts_on_where_realtime_exists(
        supabase_db: psycopg.Connection) -> None:
    state = supabase_db.execute("SELECT mockbook_internal.realtime_state()").fetchone()[0]
    assert state == {"realtime": True, "broadcasts": "on", "triggers_on": 5, "triggers": 5,
                     "policies": ["mockbook_listen", "mockbook_send"]}


def test_and_off_where_it_does_not(db: psycopg.Connection) -> None:
    """The plain database of the suite: nothing to send through, no policy, and the switch says
    so; a booking there works as ever (every other test of the suite books on one)."""
    state = db.execute("SELECT mockbook_internal.realtime_state()").fetchone()[0]
    assert state == {"realtime": False, "broadcasts": "off", "triggers_on": 0, "triggers": 5,
                     "policies": []}
    with pytest.raises(RpcError) as refused:
        rpc(db, "set_realtime_broadcasts", p_enabled=True)
    assert refused.value.code == "INVALID_ARGUMENT"
    assert rpc(db, "set_realtime_broadcasts", p_enabled=False)["broadcasts"] == "off"


@pytest.mark.parametrize(("who", "topic", "joins"), [
    ("a student", "mockbook:exam:123456", True),
    ("a student", MINE, True),
    ("a student", "mockbook:student:bob@school.ca", False),
    ("a student", "mockbook:admin", False),
    ("a student", "mockbook:exam", False),
    ("a student", "chat:room-1", False),
    ("another student", MINE, False),
    ("an admin", "mockbook:admin", True),
    ("an admin", MINE, True),
    ("an admin", "mockbook:exam:123456", True),
    ("an admin", "chat:room-1", False),
    ("anon", "mockbook:exam:123456", False),
    ("anon", "mockbook:admin", False),
])
def test_who_may_join_which_topic(supabase_db: psycopg.Connection, who: str, topic: str,
                                  joins: bool) -> None:
    claims = {"a student": STUDENT, "another student": OTHER, "an admin": ADMIN,
              "anon": ANON}[who]
    assert realtime.may_join(supabase_db, topic, claims) == {"broadcast": joins,
                                                             "presence": False}


def test_no_client_may_broadcast_on_mockbooks_topics(supabase_db: psycopg.Connection) -> None:
    for claims in (STUDENT, ADMIN, ANON):
        for topic in (MINE, "mockbook:exam:123456", "mockbook:admin"):
            assert not realtime.may_send(supabase_db, topic, claims), (claims, topic)


CLAIMS = [
    {"app_metadata": {"role": "admin"}}, {"app_metadata": {"role": "super_admin"}},
    {"user_role": "admin"}, {"user_role": "super_admin"}, {"app_metadata": {"role": "Admin"}},
    {"app_metadata": {"role": "viewer"}}, {"user_metadata": {"role": "admin"}},
    {"user_role": "admin", "email": None}, {"user_role": "admin", "email": " "}, {},
]


@pytest.mark.parametrize("extra", CLAIMS, ids=json.dumps)
def test_the_admin_topics_go_to_the_admins_the_api_knows(supabase_db: psycopg.Connection,
                                                         extra: dict[str, Any]) -> None:
    """The policy's admin claim is the API's (mockbook_internal.request_actor): the same claims
    make an admin of both, or of neither; also without an email, by the sub alone."""
    for base in ({"role": "authenticated", "sub": "u-1", "email": "x@school.ca"},
                 {"role": "authenticated", "sub": "u-1"},
                 {"role": "authenticated"}):
        claims = base | extra
        with supabase_db.transaction(force_rollback=True):
            supabase_db.execute("SELECT set_config('request.jwt.claims', %s, true)",
                                (json.dumps(claims),))
            actor = supabase_db.execute(
                "SELECT mockbook_internal.request_actor('x')").fetchone()[0]
        api_admin = actor.startswith("admin:")
        assert realtime.may_join(supabase_db, "mockbook:admin", claims)["broadcast"] == api_admin


def test_a_students_topic_is_their_email_as_the_api_compares_it(
        supabase_db: psycopg.Connection) -> None:
    """realtime_topic('student', …) spells the topic the triggers send to; the policy lets in
    the JWT whose email the API takes for that student (same_email: any case, spaces at the
    ends)."""
    for stored in ("ann.lee@school.ca", " ANN.LEE@school.ca\t", "Ann.Lee@School.ca"):
        topic = supabase_db.execute("SELECT mockbook_internal.realtime_topic('student', %s)",
                                    (stored,)).fetchone()[0]
        assert topic == MINE
        assert supabase_db.execute("SELECT mockbook_internal.same_email(%s, %s)",
                                   (stored, STUDENT["email"])).fetchone()[0]
        assert realtime.may_join(supabase_db, topic, STUDENT)["broadcast"]


def test_splinter_finds_nothing_to_warn_about(supabase_db: psycopg.Connection) -> None:
    """Supabase's linter as the dashboard runs it (the API's schemas exposed): no ERROR or WARN
    lint. Its INFO lints on a new database are its unused indexes (no query has run yet)."""
    first, rest = SPLINTER.read_text().split(";", 1)
    # the header's lines are comments; the first statement is `set local search_path = ''`
    with supabase_db.transaction(force_rollback=True):
        supabase_db.execute("SELECT set_config('pgrst.db_schemas', %s, true)", (EXPOSED,))
        supabase_db.execute(first)
        lints = supabase_db.execute(rest).fetchall()
    names = [row[0] for row in lints]
    levels = {row[0]: row[2] for row in lints}
    assert "unused_index" in names  # the lints ran
    flagged = [(row[0], row[6]) for row in lints if row[2] in ("ERROR", "WARN")]
    assert flagged == []
    assert {levels[n] for n in names} == {"INFO"}
