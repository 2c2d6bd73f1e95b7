"""Months of `mockbook run` under cron, at the documented thresholds (docs/operations.md, "Cron"
and "Metrics and alerts"): a cron-only deployment with Redis, the HubSpot sandbox standing in for
HubSpot, 90 simulated days: each day students book (an app retrying some calls with the same
key) and cancel, admins create sessions and change capacities and credits in HubSpot and adjust
credits in the admin app, then a run (a cron line every few minutes runs many more, which find
nothing new: each week one of them is run 5 minutes after the day's run).

Time: the database's clock for the booking rules is mockbook_internal.clock_now() (the setting
mockbook.clock_offset, given to every connection of the glue through PGOPTIONS); what the glue
compares with now() (outbox, dead letters, pull and push times, stored idempotency results,
leases, refresh requests, webhook events, audit rows) is aged instead: each step of the
simulation moves those stored times back by the time that passed. The sandbox runs on a clock
the test moves by as much (HubSpot's record times, which the pull's cursor follows). The
simulation starts next Monday at 10:00 in the business zone, so a run's outcome does not depend
on the hour or the weekday it runs. The glue's
HubSpot rate limit is lifted: months of calls are made in seconds.

What an operator relies on, checked at every run: the exit code (0; 1 while a dead letter waits,
75 while HubSpot is down), no lease or advisory lock left behind, nothing pending after a run,
the analytics refreshed when older than MOCKBOOK_ANALYTICS_INTERVAL (15 min) and only then, done
outbox rows and stored idempotency results never older than their retention (7 days, 24 hours),
every table either purged to a bound or kept as documented; `status --check` at the cron-only
lag threshold (MOCKBOOK_STATUS_MAX_LAG=300) quiet on a healthy deployment, before and after runs,
and loud for a dead letter and an outage; at the end the invariants hold and a reconcile with
HubSpot finds no drift.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import push_helpers
import pytest
import redis
import sandbox_fixtures
from fakeclock import FakeClock
from invariants import check_invariants, snapshot
from pull_helpers import contact_props, exam_props, fast
from push_helpers import env_for, hubspot_bookings, run_main

from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox

sandbox = sandbox_fixtures.sandbox
clock = sandbox_fixtures.clock
push_db = push_helpers.push_db

REDIS_DB = 14
DAYS = 90
STEP_HOURS = 24  # a day's activity, then a run (the runs between, with nothing new, are skipped)
STUDENTS = 6
RETENTION = 7 * 86400  # MOCKBOOK_RETENTION_DAYS' default
IDEMPOTENCY_RETENTION = 24 * 3600  # MOCKBOOK_IDEMPOTENCY_RETENTION_HOURS' default
ANALYTICS_INTERVAL = 15 * 60  # MOCKBOOK_ANALYTICS_INTERVAL's default
MAX_LAG = 300  # the cron-only lag threshold the docs give

# Stored times the glue compares with now(), aged as simulated time passes (table: columns).
AGED = {
    "hubspot_sync.sync_queue": ("created_at", "next_attempt_at", "lease_expires_at", "done_at",
                                "dead_at"),
    "hubspot_sync.sync_errors": None,  # every timestamptz column
    "hubspot_sync.sync_metadata": ("last_sync_timestamp", "created_at", "updated_at"),
    "hubspot_sync.idempotency_results": ("created_at",),
    "hubspot_sync.webhook_events": None,
    "hubspot_sync.refresh_requests": ("requested_at", "leased_until", "finished_at"),
    "hubspot_sync.supabase_audit_log": ("performed_at", "synced_to_hubspot_at"),
    "mockbook_internal.glue_leases": ("taken_at", "renewed_at", "expires_at"),
}
# Every table mockbook owns: what bounds it under cron.
BOUNDED = {  # purged, or one row per something bounded
    "sync_queue": "done rows purged after MOCKBOOK_RETENTION_DAYS",
    "idempotency_results": "purged after MOCKBOOK_IDEMPOTENCY_RETENTION_HOURS",
    "webhook_events": "processed events deleted after 7 days (the webhook processor)",
    "refresh_requests": "one waiting request per record; finished ones purged after 7 days",
    "glue_leases": "one row per lease name, deleted when given back",
    "sync_metadata": "one row per sync type",
    "contact_credit_sync": "one row per contact",
    "exam_hubspot_sync": "one row per exam",
    "booking_rules": "one row per rule",
}
KEPT = {  # kept as documented: the records themselves and their history
    "hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings", "credit_ledger",
    "supabase_audit_log", "sync_errors", "waitlist_entries", "booking_rule_changes",
    "booking_conflicts", "adoption_report",
    # production's tables mockbook does not own (untouched)
    "audit_log", "groups", "instructors", "groups_instructors", "groups_students",
    "work_check_slots", "work_check_bookings",
}
# What a student or an admin may be told by the RPCs in the simulation (all documented refusals).
REFUSALS = {"EXAM_FULL", "INSUFFICIENT_CREDITS", "DUPLICATE_BOOKING", "EXAM_IN_PAST",
            "EXAM_NOT_ACTIVE", "ALREADY_CANCELLED", "NOT_CANCELLABLE", "BOOKING_RULE",
            "CANCELLATION_DEADLINE", "TIME_CONFLICT", "WEEKLY_LIMIT", "REFRESH_LIMIT_REACHED"}


@pytest.fixture
def redis_url() -> Iterator[str]:
    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    url = urlunsplit(base._replace(path=f"/{REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


class Deployment:
    """The database, the sandbox and simulated time; the glue's commands run in this process."""

    def __init__(self, url: str, sb: Sandbox, clock: FakeClock, redis_url: str, monkeypatch,
                 capsys) -> None:
        self.url, self.sb, self.monkeypatch, self.capsys = url, sb, monkeypatch, capsys
        self.clock = clock
        self.offset = 0.0  # simulated seconds since the start
        self.base_options = os.environ.get("PGOPTIONS", "")
        self.env = env_for(url, sb, REDIS_URL=redis_url, HUBSPOT_SEARCH_RATE="1000",
                           HUBSPOT_RATE_LIMIT="100000",
                           MOCKBOOK_STATUS_MAX_LAG=str(MAX_LAG))
        self.admin = psycopg.connect(url, autocommit=True)
        self.start = 0.0  # simulated seconds ahead of the real clock at the start
        self.admin.execute("SET mockbook.clock_offset = '0 seconds'")
        self.aging = self._aging_sql()
        # The start: next Monday, 10:00 in the business zone, whatever the day and the hour the
        # test runs (its days step back two minutes each, three hours in all): which sessions
        # are past, full or too late to cancel at each step, and so how many bookings the term
        # makes, depended on the hour and the weekday of the run.
        self.advance(float(self.one(
            "SELECT extract(epoch FROM ((date_trunc('week', now() AT TIME ZONE z)"
            " + interval '7 days 10 hours') AT TIME ZONE z) - now())"
            " FROM mockbook_internal.business_timezone() AS z")))
        self.start, self.offset = self.offset, 0.0
        self.last_refresh: float | None = None  # simulated time of the last analytics refresh
        self.runs = 0

    def _aging_sql(self) -> str:
        parts = []
        for table, columns in AGED.items():
            schema, name = table.split(".")
            if columns is None:
                columns = tuple(r[0] for r in self.admin.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                    " AND table_name = %s AND data_type = 'timestamp with time zone'",
                    (schema, name)))
            sets = ", ".join(f"{c} = {c} - %(d)s::interval" for c in columns)
            parts.append(f"UPDATE {table} SET {sets}")
        return ";\n".join(parts)

    # ---- time ------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass."""
        with self.admin.transaction():
            # the stored times only, as they are: no trigger (audit, outbox) sees the change
            self.admin.execute("SET LOCAL session_replication_role = replica")
            for statement in self.aging.split(";\n"):
                self.admin.execute(statement, {"d": f"{seconds} seconds"})
        self.offset += seconds
        self.clock.advance(seconds)  # HubSpot's clock
        self.admin.execute(
            f"SET mockbook.clock_offset = '{self.start + self.offset} seconds'")

    def today(self, plus_days: int = 0) -> str:
        return self.one("SELECT (hubspot_sync.business_today() + %s)::text", (plus_days,))

    # ---- SQL -------------------------------------------------------------------------------
    def one(self, sql: str, params=None):
        return self.admin.execute(sql, params).fetchone()[0]

    def rows(self, sql: str, params=None) -> list[tuple]:
        return self.admin.execute(sql, params).fetchall()

    def call(self, sql: str, params=None, refusals: dict[str, int] | None = None):
        """An RPC as the service role's apps call it; a documented refusal is counted."""
        try:
            return self.one(sql, params)
        except psycopg.Error as exc:
            code = exc.diag.message_primary or ""
            assert code in REFUSALS, f"undocumented refusal {code}: {exc}"
            if refusals is not None:
                refusals[code] = refusals.get(code, 0) + 1
            return None

    # ---- the glue --------------------------------------------------------------------------
    def mockbook(self, *args: str, **extra: str) -> tuple[int, str, str]:
        offset = self.start + self.offset
        options = f"{self.base_options} -c mockbook.clock_offset={offset:.0f}s".strip()
        env = self.env | {"PGOPTIONS": options} | extra
        return run_main(list(args), env, self.monkeypatch, self.capsys)

    def run(self, *expect: int) -> dict:
        code, out, err = self.mockbook("run", "--json")
        self.runs += 1
        report = json.loads(out)
        day = self.offset / 86400
        assert code in (expect or (0,)), (f"day {day:.2f}: run exited {code}", report, err[-2000:])
        assert self.one("SELECT count(*) FROM mockbook_internal.glue_leases") == 0, day
        assert self.one("SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory'"
                        " AND database = (SELECT oid FROM pg_catalog.pg_database"
                        " WHERE datname = current_database())") == 0, day
        analytics = report["steps"]["analytics"]
        due = self.last_refresh is None or self.offset - self.last_refresh >= ANALYTICS_INTERVAL
        if due:
            assert analytics["status"] == "ok" and analytics["views"] == 4, (day, analytics)
            self.last_refresh = self.offset
        else:
            assert analytics["status"] == "skipped", (day, analytics)
            assert 0 < analytics["due_in"] <= ANALYTICS_INTERVAL, (day, analytics)
        self.check_bounds(day)
        return report

    def status_check(self) -> tuple[int, list[str]]:
        code, _, err = self.mockbook("status", "--check")
        return code, err.strip().splitlines()

    def check_bounds(self, day: float) -> None:
        """What the purge bounds, right after a run's purge."""
        old_done, old_keys, leftover_leases = self.rows(
            "SELECT (SELECT count(*) FROM hubspot_sync.sync_queue"
            "        WHERE done_at < now() - make_interval(secs => %s)),"
            " (SELECT count(*) FROM hubspot_sync.idempotency_results"
            "  WHERE created_at < now() - make_interval(secs => %s)),"
            " (SELECT count(*) FROM hubspot_sync.sync_queue WHERE lease_owner IS NOT NULL"
            "  AND done_at IS NULL AND dead_at IS NULL)",
            (RETENTION, IDEMPOTENCY_RETENTION))[0]
        assert (old_done, old_keys, leftover_leases) == (0, 0, 0), day


def table_sizes(d: Deployment) -> dict[str, int]:
    out = {}
    for schema, name in d.rows(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class AS c"
            " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('hubspot_sync', 'mockbook_internal')"
            " AND c.relkind IN ('r', 'p')"):
        out[name] = d.one(f'SELECT count(*) FROM "{schema}"."{name}"')
    return out


def test_ninety_days_of_cron(push_db: str, sandbox: Sandbox, clock: FakeClock, redis_url: str,
                             monkeypatch, capsys) -> None:
    fast(sandbox)
    rng = random.Random(20240901)
    d = Deployment(push_db, sandbox, clock, redis_url, monkeypatch, capsys)
    students = [f"CRON{i}" for i in range(STUDENTS)]
    contacts = dict(zip(students, sandbox.seed(CONTACTS, [
        contact_props(s, cs_credits=30, sj_credits=10) for s in students]), strict=True))
    exams: list[str] = []
    exam_day: dict[int, int] = {}  # an exam's index in exams -> its simulated day

    def new_exams(count: int) -> None:
        for _ in range(count):
            day = rng.randint(5, 25)
            exam_day[len(exams)] = int(d.offset / 86400) + day
            exams.extend(sandbox.seed(EXAMS, [exam_props(
                mock_exam_name=f"CS day {int(d.offset / 86400) + day}",
                exam_date=d.today(day), capacity=rng.randint(3, 6))]))

    new_exams(3)
    d.run()  # the first run: the portal's exams and contacts come in
    pulled = list(exams)  # the exams the apps know (pulled by a run)
    snap = snapshot(d.admin)
    booked: list[tuple[str, str, str]] = []  # (booking code, student, exam HubSpot id)
    refusals: dict[str, int] = {}
    quiet_checks = 0
    rejecting = None  # (the rule's list, the rule) while HubSpot refuses one booking
    outage_days = range(60, 61)  # HubSpot unreachable for a day
    dead_letter_day = 40
    sizes_by_day: dict[int, dict[str, int]] = {}
    type_id = sandbox.api.type_of(BOOKINGS).type_id

    for step in range(DAYS * 24 // STEP_HOURS):
        day = step * STEP_HOURS // 24
        first_of_day = step % (24 // STEP_HOURS) == 0
        d.advance(STEP_HOURS * 3600 - 120)

        # --- between two runs: the apps and the admins ---------------------------------------
        if first_of_day and day % 7 == 0:
            new_exams(4)  # admins create next weeks' sessions in HubSpot
        for _ in range(rng.randint(0, 4)):
            # the sessions an app lists: those still ahead (now and then one that is not)
            ahead = [e for i, e in enumerate(pulled) if exam_day[i] > day or rng.random() < 0.05]
            student, exam = rng.choice(students), rng.choice(ahead or pulled)
            key = uuid.uuid4().hex
            sql = ("SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s,"
                   " p_mock_exam_id := %s, p_idempotency_key := %s,"
                   " p_attending_location := 'mississauga', p_dominant_hand := 'right')")
            args = (student, f"{student.lower()}@example.com", exam, key)
            result = d.call(sql, args, refusals)
            if result is not None:
                booked.append((result["booking_id"], student, exam))
                if rng.random() < 0.3:  # the app retries the call: the same answer
                    again = d.call(sql, args, refusals)
                    assert again["booking_id"] == result["booking_id"]
        if booked and rng.random() < 0.5:
            code, student, _ = rng.choice(booked)
            d.call("SELECT hubspot_sync.cancel_booking(p_booking_id := %s, p_student_id := %s,"
                   " p_idempotency_key := %s)", (code, student, uuid.uuid4().hex), refusals)
        if rng.random() < 0.1:  # an admin gives a student credits in the admin app
            d.call("SELECT hubspot_sync.adjust_credits(p_student_id := %s,"
                   " p_credit_field := 'cs_credits', p_delta := 2, p_reason := 'goodwill',"
                   " p_actor := 'admin@example.com', p_idempotency_key := %s)",
                   (rng.choice(students), uuid.uuid4().hex), refusals)
        if rng.random() < 0.05:  # an admin adds credits in HubSpot
            student = rng.choice(students)
            current = sandbox.get(CONTACTS, contacts[student])["properties"]["cs_credits"]
            sandbox.touch(CONTACTS, contacts[student], cs_credits=int(current or 0) + 3)
        if rng.random() < 0.05:  # an admin changes a session's capacity in HubSpot
            exam = rng.choice(exams[-4:])
            sandbox.touch(EXAMS, exam, capacity=rng.randint(3, 5))
        if rng.random() < 0.05:  # a dashboard asks for an exam to be read again
            d.call("SELECT hubspot_sync.request_refresh(p_mock_exam_id := %s)",
                   (rng.choice(pulled),), refusals)

        # --- faults an operator must hear about ---------------------------------------------
        if first_of_day and day == dead_letter_day:
            # HubSpot refuses one student's bookings for good: dead-lettered after 8 attempts
            victim = students[0]
            sandbox.reject_when(BOOKINGS, lambda p, v=victim: p.get("student_id") == v,
                                "invalid booking")
            rejecting = sandbox.api.rules[type_id][-1]
            d.call("SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s,"
                   " p_mock_exam_id := %s, p_idempotency_key := %s,"
                   " p_attending_location := 'mississauga', p_dominant_hand := 'left')",
                   (victim, f"{victim.lower()}@example.com", pulled[-1], uuid.uuid4().hex),
                   refusals)
        if first_of_day and day in outage_days:
            sandbox.stop()
            # a change HubSpot must get that day, whatever the day's random activity was: the
            # outbox row the outage keeps waiting is the lag the alert below measures
            d.call("SELECT hubspot_sync.adjust_credits(p_student_id := %s,"
                   " p_credit_field := 'cs_credits', p_delta := 1, p_reason := 'outage day',"
                   " p_actor := 'admin@example.com', p_idempotency_key := %s)",
                   (students[-1], uuid.uuid4().hex), refusals)

        d.advance(60)
        # just before the run: what waits is younger than the threshold
        if day % 7 == 3 and rejecting is None and day not in outage_days:
            code, lines = d.status_check()
            assert code == 0, (day, lines)
            quiet_checks += 1
        d.advance(60)

        # --- the cron run ----------------------------------------------------------------------
        if day in outage_days:
            report = d.run(75)
            assert report["steps"]["pull"]["status"] == "failed", report
            d.advance(600)  # HubSpot still down ten minutes later: the lag alert fires
            code, lines = d.status_check()
            assert code == 1 and any("lag" in line for line in lines), lines
            sandbox.start()
            continue
        report = d.run(*((0, 1) if rejecting is not None else (0,)))
        if report["steps"]["push"].get("dead_lettered"):
            assert report["exit_code"] == 1, report  # something needs a look
        if rejecting is not None and d.one(
                "SELECT count(*) FROM hubspot_sync.sync_errors WHERE NOT resolved"):
            # the dead letter: status --check says so, the operator fixes it and retries
            code, lines = d.status_check()
            assert code == 1 and any("dead letter" in line for line in lines), lines
            sandbox.api.rules[type_id].remove(rejecting)
            rejecting = None
            code, out, err = d.mockbook("dlq", "retry", "--all")
            assert code == 0, err
            d.advance(60)
            d.run()
        pending = d.one("SELECT count(*) FROM hubspot_sync.sync_queue"
                        " WHERE done_at IS NULL AND dead_at IS NULL")
        assert pending == 0 or rejecting is not None, (day, report)
        if rejecting is None and day % 3 == 0:
            code, lines = d.status_check()  # right after the run
            assert code == 0, (day, lines)
            quiet_checks += 1
        pulled = list(exams)
        if day % 7 == 5:
            d.advance(300)
            d.run()  # a second run 5 minutes later: nothing to do, analytics not due
        if first_of_day and day % 30 == 29:
            sizes_by_day[day] = table_sizes(d)

    # --- three months later --------------------------------------------------------------------
    assert rejecting is None and quiet_checks > DAYS // 3
    assert len(booked) > 100, (len(booked), refusals)
    sizes = table_sizes(d)
    unknown = set(sizes) - set(BOUNDED) - KEPT
    assert not unknown, f"tables neither purged nor documented as kept: {unknown}"
    # the purged tables hold what their retention keeps, the last months alike
    month2, month3 = sizes_by_day[59], sizes_by_day[89]
    for table in ("sync_queue", "idempotency_results"):
        assert month3[table] <= 2 * max(month2[table], 10), (table, sizes_by_day)
    assert sizes["refresh_requests"] <= len(exams)
    assert sizes["glue_leases"] == 0 and sizes["webhook_events"] == 0
    # every audit row went to HubSpot as a note
    assert d.one("SELECT count(*) FROM hubspot_sync.supabase_audit_log"
                 " WHERE synced_to_hubspot_at IS NULL") == 0
    check_invariants(d.admin, snap)
    # HubSpot agrees with Postgres
    code, out, err = d.mockbook("reconcile", "--json")
    report = json.loads(out)
    assert (code, report["drift"], report["waiting"]) == (0, 0, 0), report
    codes = {code for code, *_ in booked}
    assert codes <= set(hubspot_bookings(sandbox))
    print(f"{d.runs} runs, {len(booked)} bookings, refusals {refusals}, sizes {sizes}")
