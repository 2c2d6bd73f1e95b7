"""Supabase Realtime for the tests: its schema (tests/fixtures/realtime/supabase_realtime.sql), the
messages mockbook sent, and Realtime's own check of who may join a topic.

`may_join` is Realtime's read authorization (supabase/realtime at commit
833cf36c3a3603fff5ae5a8a0ce473a21d5fedd4, lib/realtime/tenants/authorization.ex,
get_read_policies_for_connection and set_conn_config): in one transaction, as its own database
role, it inserts a probe message with the topic for each extension (broadcast, presence), then
sets `role`, `realtime.topic`, `request.jwt.claims`, `request.jwt.claim.sub`,
`request.jwt.claim.role` and `request.headers` as the joining user and selects the probes back
under that role's policies; then it rolls back. A private channel's join is refused when neither
probe comes back (lib/realtime_web/channels/realtime_channel.ex, maybe_assign_policies), and
broadcast messages reach only a member whose broadcast probe came back. `may_send` is its write
check (check_write_policies): the same settings, then a message inserted as the user.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "realtime" / "supabase_realtime.sql"
EXTENSIONS = ("broadcast", "presence")


def install(conn: psycopg.Connection) -> None:
    """Supabase Realtime's schema in this database (run as its owner, a superuser)."""
    conn.execute(FIXTURE.read_text())


def messages(conn: psycopg.Connection, topic_like: str = "mockbook:%") -> list[dict[str, Any]]:
    """The messages sent so far: {topic, event, payload, private}, oldest transaction first."""
    rows = conn.execute(
        "SELECT topic, event, payload, private FROM realtime.messages"
        " WHERE topic LIKE %s AND extension = 'broadcast' ORDER BY inserted_at, topic",
        (topic_like,)).fetchall()
    return [{"topic": t, "event": e, "payload": p, "private": private}
            for t, e, p, private in rows]


def clear(conn: psycopg.Connection) -> None:
    conn.execute("DELETE FROM realtime.messages")


def _as_user(conn: psycopg.Connection, role: str, topic: str, claims: dict[str, Any]) -> None:
    conn.execute(
        "SELECT set_config('role', %s, true), set_config('realtime.topic', %s, true),"
        " set_config('request.jwt.claims', %s, true),"
        " set_config('request.jwt.claim.sub', %s, true),"
        " set_config('request.jwt.claim.role', %s, true),"
        " set_config('request.headers', %s, true)",
        (role, topic, json.dumps(claims), claims.get("sub") or "", role, "{}"))


def may_join(conn: psycopg.Connection, topic: str, claims: dict[str, Any]) -> dict[str, bool]:
    """{extension: read allowed} for a user with these JWT claims joining `topic` (the role is
    the claims' `role`, as Realtime takes it)."""
    probes = {ext: uuid.uuid4() for ext in EXTENSIONS}
    with conn.transaction(force_rollback=True):
        for ext, probe in probes.items():
            conn.execute(
                "INSERT INTO realtime.messages (id, topic, extension, inserted_at, updated_at)"
                " VALUES (%s, %s, %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')",
                (probe, topic, ext))
        _as_user(conn, claims["role"], topic, claims)
        seen = {row[0] for row in conn.execute(
            "SELECT id FROM realtime.messages WHERE id = ANY(%s)", (list(probes.values()),))}
    return {ext: probe in seen for ext, probe in probes.items()}


def may_send(conn: psycopg.Connection, topic: str, claims: dict[str, Any]) -> bool:
    """Whether a user with these claims may broadcast on `topic` from a client."""
    with conn.transaction(force_rollback=True):
        _as_user(conn, claims["role"], topic, claims)
        try:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO realtime.messages (topic, extension, inserted_at, updated_at)"
                    " VALUES (%s, 'broadcast', now() AT TIME ZONE 'UTC',"
                    " now() AT TIME ZONE 'UTC')", (topic,))
        except psycopg.errors.InsufficientPrivilege:
            return False
    return True
