"""Bookings made as the apps make them, on a database at a release's revision, while something
else (an upgrade to this code, a failed one, a rollback) runs: shared by
tests/py/db/test_upgrade_live.py, test_upgrade_failures.py and bench/upgrade_live.py (B18).

A call is one PostgREST-style transaction as service_role with the apps' statement timeout
(`statement_timeout` 8 s, Supabase's API timeout): `create_booking`, then `cancel_booking` of
what it booked, so a student's credits and an exam's seats are given back and the calls can go
on for as long as needed. Each call's outcome is kept: `ok`, a documented mockbook error (its
SQLSTATE, PTnnn) or `raw <SQLSTATE> <message>` (anything else: what no caller may see), with
how long it took."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from glue.db import revision

STUDENTS, EXAMS = 200, 4
API_TIMEOUT = "8s"  # Supabase's API statement timeout, which the apps' calls run under

# written with the columns every release's schema has (a release's revision is frozen)
SEED = f"""
INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email, firstname,
    lastname, sj_credits, cs_credits, sjmini_credits, mock_discussion_token, shared_mock_credits)
SELECT (77700000 + g)::text, 'LOAD' || g, 'load' || g || '@example.com', 'F' || g, 'L' || g,
       0, 1000, 0, 0, 0
FROM generate_series(1, {STUDENTS}) AS g;
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date,
    start_time, end_time, location, capacity, total_bookings, is_active, mock_set)
SELECT (43000000000 + g)::text, 'Load ' || g, 'Clinical Skills', current_date + 40 + g,
       '09:00', '12:00', 'Mississauga', 100000, 0, 'true', 'A'
FROM generate_series(1, {EXAMS}) AS g;
"""

_AS_THE_APP = ("SELECT set_config('role', 'service_role', true),"
               " set_config('request.jwt.claims', '{\"role\":\"service_role\"}', true),"
               f" set_config('statement_timeout', '{API_TIMEOUT}', true)")


def releases() -> list[str]:
    """The revisions of the cut releases (db/migrations/releases.json), oldest first, but a
    release at head (nothing to upgrade from it to this code)."""
    from glue.db import migrations

    return [r["revision"] for r in revision.load_releases()
            if r["date"] and r["revision"] != migrations.head()]


@dataclass
class Load:
    """Threads calling as the apps do, until ``stop``; ``pause``/``resume`` hold them between
    calls (a snapshot of the invariants needs no call in flight)."""

    url: str
    threads: int = 3
    outcomes: Counter = field(default_factory=Counter)
    booked: set = field(default_factory=set)  # booking ids create_booking answered
    cancelled: set = field(default_factory=set)  # booking ids cancel_booking answered
    longest_s: float = 0.0
    record: bool = False  # keep every call's (start, end, outcome) in ``calls_made``
    calls_made: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _going: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _in_flight: int = 0
    _workers: list = field(default_factory=list)
    _numbers: itertools.count = field(default_factory=itertools.count)

    def start(self) -> Load:
        self._going.set()
        self._workers = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        return self

    def calls(self) -> int:
        with self._lock:
            return sum(self.outcomes.values())

    def pause(self) -> None:
        from waiting import wait_until

        self._going.clear()
        wait_until("no call in flight", lambda: self._in_flight == 0)

    def resume(self) -> None:
        self._going.set()

    def stop(self) -> None:
        self._stop.set()
        self._going.set()
        for worker in self._workers:
            worker.join(timeout=60)

    def raw(self) -> dict[str, int]:
        with self._lock:
            return {k: v for k, v in self.outcomes.items() if k.startswith("raw")}

    def _call(self, conn: psycopg.Connection, sql: str, args: tuple) -> tuple[str, dict | None]:
        started = time.monotonic()
        try:
            with conn.transaction():
                conn.execute(_AS_THE_APP)
                result = conn.execute(sql, args).fetchone()[0]
            outcome = "ok"
        except psycopg.Error as exc:
            state = exc.sqlstate or ""
            result = None
            outcome = state if state.startswith("PT") else (
                f"raw {state} {(exc.diag.message_primary or str(exc))[:120]}")
        ended = time.monotonic()
        with self._lock:
            self.outcomes[outcome] += 1
            self.longest_s = max(self.longest_s, ended - started)
            if self.record:
                self.calls_made.append((started, ended, outcome))
        return outcome, result

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                self._going.wait()
                with self._lock:
                    if not self._going.is_set() or self._stop.is_set():
                        continue
                    self._in_flight += 1
                try:
                    self._cycle(conn)
                finally:
                    with self._lock:
                        self._in_flight -= 1

    def _cycle(self, conn: psycopg.Connection) -> None:
        n = next(self._numbers)
        student = n % STUDENTS + 1
        exam = 43000000001 + n // STUDENTS % EXAMS
        outcome, made = self._call(
            conn, "SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s,"
            " p_mock_exam_id := %s, p_idempotency_key := %s, p_dominant_hand := 'right')",
            (f"LOAD{student}", f"load{student}@example.com", str(exam), f"load-{uuid.uuid4()}"))
        if outcome != "ok":
            return
        with self._lock:
            self.booked.add(made["id"])
        outcome, _ = self._call(
            conn, "SELECT hubspot_sync.cancel_booking(p_booking_id := %s, p_refund := true,"
            " p_reason := 'load', p_actor := 'load', p_idempotency_key := %s)",
            (made["id"], f"load-{uuid.uuid4()}"))
        if outcome == "ok":
            with self._lock:
                self.cancelled.add(made["id"])


def nothing_lost(url: str, load: Load) -> None:
    """Every booking a call was answered for is there, Cancelled where its cancellation was
    answered, Active where not (or cancelled by a call whose answer was an error: none here)."""
    with psycopg.connect(url) as conn:
        rows = dict(conn.execute("SELECT id::text, is_active FROM hubspot_sync.hubspot_bookings"
                                 " WHERE id::text = ANY (%s)", (list(load.booked),)).fetchall())
    assert set(rows) == load.booked, load.booked - set(rows)
    wrong = {b: s for b, s in rows.items()
             if s != ("Cancelled" if b in load.cancelled else "Active")}
    assert wrong == {}, wrong


# A digest of the schema a migration changes (mockbook's schemas, the version stamp): what
# `pg_dump -s` compares, read in one query, cheap enough to read after every step. A
# privilege list is compared as a set (its order is the order of its grants).
FINGERPRINT = r"""
WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace
            WHERE nspname IN ('hubspot_sync', 'mockbook_internal', 'mockbook', 'auth', 'public')),
rel AS (SELECT c.* FROM pg_catalog.pg_class AS c WHERE c.relnamespace IN (SELECT oid FROM ns))
SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
    SELECT format('class %s %s %s %s', oid::regclass, relkind, acl(relacl), reloptions) FROM rel
    UNION ALL
    SELECT format('column %s %s %s %s %s', a.attrelid::regclass, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, acl(a.attacl))
    FROM pg_catalog.pg_attribute AS a JOIN rel ON rel.oid = a.attrelid
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s %s %s %s', conrelid::regclass, contypid::regtype, conname,
                  pg_get_constraintdef(oid))
    FROM pg_catalog.pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('index %s %s', pg_get_indexdef(i.indexrelid), i.indisvalid)
    FROM pg_catalog.pg_index AS i JOIN rel ON rel.oid = i.indexrelid
    UNION ALL
    SELECT format('function %s %s %s %s', oid::regprocedure, md5(prosrc), proconfig, acl(proacl))
    FROM pg_catalog.pg_proc WHERE pronamespace IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(t.oid))
    FROM pg_catalog.pg_trigger AS t JOIN rel ON rel.oid = t.tgrelid WHERE NOT t.tgisinternal
    UNION ALL
    SELECT format('type %s %s', oid::regtype, typtype)
    FROM pg_catalog.pg_type WHERE typnamespace IN (SELECT oid FROM ns) AND typrelid = 0
    UNION ALL
    SELECT format('policy %s %s %s', p.polrelid::regclass, p.polname, p.polroles)
    FROM pg_catalog.pg_policy AS p JOIN rel ON rel.oid = p.polrelid
    UNION ALL
    SELECT 'version ' || version_num FROM mockbook.alembic_version
) AS s (x)
"""


ACL = """
CREATE FUNCTION pg_temp.acl(aclitem[]) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest($1) AS x $$
"""


def fingerprint(url: str) -> str:
    with psycopg.connect(url) as conn:
        conn.execute(ACL)
        return conn.execute(FINGERPRINT.replace("acl(", "pg_temp.acl(")).fetchone()[0]
