"""`mockbook status` (glue.run.status) on crafted outbox, error and metadata rows: the numbers, the
table, the JSON object, the node_exporter file (written atomically) and the --check exit codes
with their thresholds from flags and environment; and `mockbook refresh-analytics`, including
the busy case (exit 75) and --wait.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from glue_role import glue_url

from glue import exitcodes
from glue.run import status
from glue.run.status import SyncStatus, Thresholds, check, prometheus_text, read_status

MOCKBOOK = shutil.which("mockbook", path=os.path.dirname(sys.executable)) or "mockbook"


@pytest.fixture(scope="module")
def status_db(database_url: str) -> str:
    """This module's database (tests/conftest.py: a copy of the run's migrated template)."""
    return database_url


@pytest.fixture
def conn(status_db: str) -> Iterator[psycopg.Connection]:
    """A connection to a database whose outbox, errors and metadata start empty."""
    with psycopg.connect(status_db, autocommit=True) as connection:
        connection.execute("TRUNCATE hubspot_sync.sync_queue, hubspot_sync.sync_errors, "
                           "hubspot_sync.sync_metadata")
        yield connection


def mockbook(url: str, *args: str, env: dict[str, str] | None = None, **kwargs):
    # the fixtures' one unresolved dead letter is tolerated here, except where a test says
    # otherwise (test_dead_letters_and_unsent_audit_rows_fail_the_check)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("MOCKBOOK_STATUS_") and k != "REDIS_URL"}
    base["MOCKBOOK_STATUS_MAX_DEAD_LETTERS"] = "1"
    # as the glue's login role made as the README says (a member of mockbook_glue), never as
    # the owner: status, --check, --prometheus and refresh-analytics must work with its grants
    return subprocess.run([MOCKBOOK, *args], capture_output=True, text=True, timeout=120,
                          env={**base, "DATABASE_URL": glue_url(url), **(env or {})}, **kwargs)


def queue_row(conn: psycopg.Connection, *, age: float = 0, done_ago: float | None = None,
              dead_ago: float | None = None) -> None:
    conn.execute(
        "INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, created_at, "
        "done_at, dead_at) VALUES ('hubspot_bookings', gen_random_uuid(), 'INSERT', "
        "now() - make_interval(secs => %s), now() - make_interval(secs => %s), "
        "now() - make_interval(secs => %s))", (age, done_ago, dead_ago))


def error_row(conn: psycopg.Connection, *, age: float = 0, resolved: bool = False) -> None:
    conn.execute(
        "INSERT INTO hubspot_sync.sync_errors (entity_type, direction, error, created_at, "
        "resolved) VALUES ('hubspot_bookings', 'push', 'boom', "
        "now() - make_interval(secs => %s), %s)", (age, resolved))


def metadata(conn: psycopg.Connection, sync_type: str, *, ago: float, status_: str = "success",
             cursor: dict | None = None) -> None:
    conn.execute(
        "INSERT INTO hubspot_sync.sync_metadata (sync_type, last_sync_timestamp, "
        "last_sync_status, cursor) VALUES (%s, now() - make_interval(secs => %s), %s, %s) "
        "ON CONFLICT (sync_type) DO UPDATE SET last_sync_timestamp = excluded.last_sync_timestamp, "
        "last_sync_status = excluded.last_sync_status, cursor = excluded.cursor",
        (sync_type, ago, status_, json.dumps(cursor or {})))


def healthy(conn: psycopg.Connection) -> None:
    """3 pending rows (oldest 5 s), 40 rows done in the last hour (1 two hours ago), 1 error
    in the last hour and 1 older one still unresolved, a push, a pull and a reconcile."""
    for age in (5, 3, 1):
        queue_row(conn, age=age)
    for _ in range(40):
        queue_row(conn, age=600, done_ago=300)
    queue_row(conn, age=9000, done_ago=7200)
    error_row(conn, age=60, resolved=True)
    error_row(conn, age=7200)
    metadata(conn, "push:bookings", ago=30)
    metadata(conn, "push:contacts", ago=90)
    metadata(conn, "pull:exams", ago=120)
    metadata(conn, "pull:contacts", ago=10, status_="error")
    metadata(conn, "reconcile", ago=3600, cursor={"drift": 4})


def test_read_status_numbers(conn) -> None:
    # one transaction: the rows and the read see the same now(), so the ages are exact (no
    # window that a slow machine could overrun between writing the rows and reading them)
    with conn.transaction():
        healthy(conn)
        current = read_status(conn)
    assert current.pending == 3
    assert current.oldest_pending_seconds == 5
    assert current.sync_lag_seconds == current.oldest_pending_seconds
    assert current.errors_last_hour == 1
    assert current.errors_total == 2
    assert current.processed_last_hour == 40
    assert current.error_rate == pytest.approx(1 / 40)
    assert current.dead_letters == 1
    assert current.drift == 4
    age = (current.checked_at - current.last_push_at).total_seconds()
    assert age == 30  # the newest push:* row
    age = (current.checked_at - current.last_pull_at).total_seconds()
    assert age == 120  # the failed pull does not count
    assert current.last_refresh_at is None
    # no Supabase Realtime here (one with it: tests/py/rpc/test_realtime_broadcasts.py)
    assert current.broadcasts == "none: no Supabase Realtime schema here, nothing is sent"
    assert check(current, Thresholds()) == ["dead letters 1 > 0 (mockbook dlq list)"]
    assert check(current, Thresholds(max_dead_letters=1)) == []


def test_empty_queue_has_no_lag_and_no_error_rate(conn) -> None:
    current = read_status(conn)
    assert (current.pending, current.oldest_pending_seconds, current.sync_lag_seconds) == (0, None,
                                                                                           0.0)
    assert current.error_rate == 0.0 and current.drift is None
    assert check(current, Thresholds(max_lag_seconds=0, max_pending=0, max_error_rate=0.0001,
                                     max_drift=0)) == []


def test_each_threshold_fails_alone(conn) -> None:
    queue_row(conn, age=45)
    queue_row(conn, age=1, dead_ago=10)  # a processed row that died
    error_row(conn, age=10)
    metadata(conn, "reconcile", ago=60, cursor={"drift": 11})
    current = read_status(conn)
    failures = check(current, Thresholds())
    assert [f.split()[0] for f in failures] == ["sync", "error", "drift", "dead"]
    assert current.error_rate == 1.0  # 1 error for 1 row processed
    relaxed = {"max_lag_seconds": 60, "max_error_rate": 1, "max_drift": 11,
               "max_dead_letters": 1}
    assert check(current, Thresholds(**relaxed)) == []
    assert check(current, Thresholds(**relaxed, max_pending=0))[0].startswith(
        "pending rows 1 > 0")


def test_pull_errors_without_outbox_rows_keep_the_rate_within_one(conn) -> None:
    for _ in range(3):
        error_row(conn)
    assert read_status(conn).error_rate == 1.0


def test_cli_json_is_one_object(status_db, conn) -> None:
    healthy(conn)
    # the pending rows age while the command starts (seconds on a loaded machine): the lag
    # threshold is set far above any start-up; its default is Thresholds()'s (tests above)
    lag = {"MOCKBOOK_STATUS_MAX_LAG": "3600"}
    result = mockbook(status_db, "status", "--json", env=lag)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["pending"] == 3 and data["dead_letters"] == 1 and data["drift"] == 4
    assert data["errors_last_hour"] == 1 and data["processed_last_hour"] == 40
    assert data["error_rate"] == pytest.approx(0.025)
    assert data["ok"] is True and data["failures"] == []
    assert data["thresholds"] == {"max_lag_seconds": 3600.0, "max_pending": 100,
                                  "max_error_rate": 0.05, "max_drift": 10,
                                  "max_dead_letters": 1, "max_unsent_audit_seconds": 3600.0}
    assert data["last_refresh_at"] is None and data["last_push_at"].startswith("20")
    # the group's --json means the same
    assert json.loads(mockbook(status_db, "--json", "status").stdout)["pending"] == 3


def test_cli_table(status_db, conn) -> None:
    healthy(conn)
    queue_row(conn, age=120)
    result = mockbook(status_db, "status", env={"COLUMNS": "160"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"pending rows\s+│\s+4\s+│\s+100\s+│\s+ok", out), out
    lag = re.search(r"sync lag \(oldest pending\)\s+│\s+(\d+\.\d) s\s+│\s+30 s\s+│\s+OVER", out)
    assert lag and float(lag[1]) >= 120, out  # its age grows while the command starts
    assert re.search(r"drift \(last reconcile\)\s+│\s+4\s+", out), out
    assert re.search(r"last analytics refresh\s+│\s+never", out), out
    assert re.search(r"last push\s+│\s+\d+ s ago \(20", out), out


def test_cli_check_exit_codes_and_thresholds(status_db, conn) -> None:
    healthy(conn)
    # the pending rows age while the command starts: a lag threshold far above any start-up
    ok = mockbook(status_db, "status", "--check", "--json", "--max-lag", "3600")
    assert ok.returncode == 0, ok.stderr
    queue_row(conn, age=45)
    metadata(conn, "reconcile", ago=5, cursor={"drift": 12})
    failed = mockbook(status_db, "status", "--check")
    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 2, failed.stderr
    # the row's age grows while the test runs (subprocesses are slow on a loaded machine): a
    # lower bound, and thresholds far above it where it must pass
    lag = re.fullmatch(r"mockbook: check failed: sync lag (\d+\.\d) s > 30 s", lines[0])
    assert lag and float(lag[1]) >= 45, lines[0]
    assert lines[1] == "mockbook: check failed: drift 12 records > 10"
    # flags raise the thresholds
    relaxed = mockbook(status_db, "status", "--check", "--max-lag", "3600", "--max-drift", "12")
    assert relaxed.returncode == 0, relaxed.stderr
    # the environment lowers them; flags win over it
    env = {"MOCKBOOK_STATUS_MAX_LAG": "3600", "MOCKBOOK_STATUS_MAX_DRIFT": "20",
           "MOCKBOOK_STATUS_MAX_PENDING": "2"}
    by_env = mockbook(status_db, "status", "--check", "--json", env=env)
    assert by_env.returncode == 1
    assert json.loads(by_env.stdout)["failures"] == ["pending rows 4 > 2"]
    assert "pending rows 4 > 2" in by_env.stderr
    flags_win = mockbook(status_db, "status", "--check", "--max-pending", "4", env=env)
    assert flags_win.returncode == 0, flags_win.stderr
    error_rate = mockbook(status_db, "status", "--check", "--max-lag", "3600", "--max-drift",
                          "12", "--max-error-rate", "0.01")
    assert error_rate.returncode == 1
    assert "error rate 2.5% > 1.0%" in error_rate.stderr
    # a broken the data model invariant fails the check too (mockbook_internal.check_invariants),
    # named
    exam = "STATUS-INV"
    conn.execute("INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_type, exam_date,"
                 " capacity, total_bookings, is_active) VALUES (%s, 'Situational Judgment',"
                 " current_date + 3, 5, 1, 'true')", (exam,))
    try:
        broken = mockbook(status_db, "status", "--check", "--json", "--max-lag", "3600",
                          "--max-drift", "12")
        assert broken.returncode == 1
        expected = f"invariant exam_total: exam {exam}: total_bookings 1 but 0 Active bookings"
        assert json.loads(broken.stdout)["failures"] == [expected]
        assert broken.stderr.strip() == f"mockbook: check failed: {expected}"
    finally:
        conn.execute("DELETE FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (exam,))
    # bad configuration is exit 2, one line
    bad = mockbook(status_db, "status", env={"MOCKBOOK_STATUS_MAX_PENDING": "lots"})
    assert bad.returncode == exitcodes.CONFIG_ERROR
    assert bad.stderr.strip() == "mockbook: MOCKBOOK_STATUS_MAX_PENDING must be an integer, " \
                                 "got 'lots'"


# Prometheus' naming conventions (https://prometheus.io/docs/practices/naming/): a counter and
# only a counter ends in _total; a ratio ends in _ratio; every other name ends in its unit.
UNITS = ("_seconds", "_rows", "_records", "_ratio", "_total")


def check_conventions(types: dict[str, str]) -> None:
    for name, kind in types.items():
        assert name.startswith("mockbook_"), name
        assert (kind == "counter") == name.endswith("_total"), (name, kind)
        assert kind in ("gauge", "counter"), (name, kind)
        assert name == "mockbook_up" or name.endswith(UNITS), f"{name}: no unit in the name"
        assert "last_hour" not in name and not name.endswith("_rate"), name


def parse_textfile(text: str) -> dict[str, float]:
    """The node_exporter textfile format: every sample has HELP and TYPE lines before it, and
    the names follow the conventions."""
    samples: dict[str, float] = {}
    declared: dict[str, set[str]] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            kind, name = line.split()[1:3]
            declared.setdefault(name, set()).add(kind)
            if kind == "TYPE":
                types[name] = line.split()[3]
            continue
        name, value = line.split(" ")
        assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name), name
        assert declared.get(name) == {"HELP", "TYPE"}, name
        assert name not in samples, name
        samples[name] = float(value)
    check_conventions(types)
    for name, value in samples.items():
        if name.endswith("_ratio"):
            assert 0 <= value <= 1, (name, value)
    return samples


def test_cli_prometheus_file(status_db, conn, tmp_path: Path) -> None:
    written = time.time()
    healthy(conn)
    target = tmp_path / "mockbook.prom"
    target.write_text("old contents\n")
    before = time.time()
    result = mockbook(status_db, "status", "--prometheus", str(target))
    after = time.time()
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # quiet when not on a terminal (cron)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mockbook.prom"]  # no .tmp left
    text = target.read_text()
    samples = parse_textfile(text)
    assert samples["mockbook_up"] == 1
    assert "# TYPE mockbook_sync_errors_total counter" in text
    assert samples["mockbook_sync_queue_pending_rows"] == 3
    # 5 s old when written, plus however long it took until the command read it (a bound, not
    # a claim about speed: a slow machine only widens it)
    assert 5 <= samples["mockbook_sync_oldest_pending_seconds"] <= 5 + (after - written) + 1e-3
    assert samples["mockbook_sync_errors_total"] == 2  # one of them older than an hour
    assert samples["mockbook_sync_dead_letter_rows"] == 1
    assert samples["mockbook_sync_error_ratio"] == pytest.approx(0.025)
    assert samples["mockbook_reconcile_drift_records"] == 4
    assert samples["mockbook_last_refresh_timestamp_seconds"] == 0  # never
    last_push = conn.execute(
        "SELECT extract(epoch FROM max(last_sync_timestamp))::float8 FROM "
        "hubspot_sync.sync_metadata WHERE sync_type LIKE 'push:%'"
    ).fetchone()[0]
    assert samples["mockbook_last_push_timestamp_seconds"] == pytest.approx(last_push, abs=1e-3)
    # read while the command ran
    assert before - 1e-3 <= samples["mockbook_status_timestamp_seconds"] <= after + 1e-3
    assert (target.stat().st_mode & 0o777) == 0o644 & ~current_umask()
    # with --json the object is printed too
    both = mockbook(status_db, "status", "--prometheus", str(target), "--json")
    assert json.loads(both.stdout)["pending"] == 3
    # an unwritable place is one line, exit 2
    bad = mockbook(status_db, "status", "--prometheus", str(tmp_path / "missing" / "x.prom"))
    assert bad.returncode == exitcodes.CONFIG_ERROR
    assert bad.stderr.startswith("mockbook: cannot write ") and "Traceback" not in bad.stderr


def test_prometheus_file_says_down_when_the_database_does_not_answer(tmp_path: Path) -> None:
    target = tmp_path / "mockbook.prom"
    before = time.time()
    result = mockbook("postgresql://nobody@127.0.0.1:1/none", "status", "--prometheus",
                      str(target))
    after = time.time()
    assert result.returncode == exitcodes.TEMPFAIL  # down, not misconfigured: try again later
    assert "cannot connect" in result.stderr and "Traceback" not in result.stderr
    samples = parse_textfile(target.read_text())
    assert samples["mockbook_up"] == 0
    assert before - 1e-3 <= samples["mockbook_status_timestamp_seconds"] <= after + 1e-3
    assert set(samples) == {"mockbook_up", "mockbook_status_timestamp_seconds"}


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_metrics_file_is_replaced_whole_or_not_at_all(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "m.prom"
    target.write_text("before\n")

    def crash(*_args) -> None:
        raise OSError("disk gone")

    down = status.prometheus_down_registry(12.0)
    monkeypatch.setattr(os, "rename", crash)  # prometheus_client's writer renames the temp file
    with pytest.raises(OSError):
        status.write_textfile(target, down)
    assert target.read_text() == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.prom"]
    monkeypatch.undo()
    status.write_textfile(target, down)
    assert parse_textfile(target.read_text()) == {
        "mockbook_up": 0, "mockbook_status_timestamp_seconds": 12.0
    }


def test_prometheus_text_without_reconcile_omits_drift() -> None:
    from datetime import UTC, datetime

    current = SyncStatus(pending=0, oldest_pending_seconds=None, errors_last_hour=0,
                         processed_last_hour=0, dead_letters=0, last_push_at=None,
                         last_pull_at=None, last_refresh_at=None, last_reconcile_at=None,
                         drift=None, checked_at=datetime.now(UTC))
    samples = parse_textfile(prometheus_text(current))
    assert "mockbook_reconcile_drift_records" not in samples
    assert samples["mockbook_sync_oldest_pending_seconds"] == 0
    assert samples["mockbook_last_push_timestamp_seconds"] == 0


def test_prometheus_names_follow_the_conventions_and_are_documented() -> None:
    """counters end in _total (and only counters), ratios in _ratio, a
    mockbook_up gauge, no "last hour" windows; docs/operations.md's table lists exactly the
    metrics written, each with its type."""
    from datetime import UTC, datetime

    current = SyncStatus(pending=1, oldest_pending_seconds=2.0, errors_last_hour=1,
                         processed_last_hour=10, dead_letters=0, last_push_at=None,
                         last_pull_at=None, last_refresh_at=None, last_reconcile_at=None,
                         drift=3, checked_at=datetime.now(UTC))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", prometheus_text(current), re.M))
    assert types.get("mockbook_up") == "gauge"
    for name, kind in types.items():
        assert name.startswith("mockbook_"), name
        assert (kind == "counter") == name.endswith("_total"), (name, kind)
        assert "last_hour" not in name and not name.endswith("_rate"), name
        assert "ratio" not in name or name.endswith("_ratio"), name
    assert "mockbook_sync_error_ratio" in types
    docs = (Path(__file__).resolve().parents[3] / "docs" / "operations.md").read_text()
    documented = dict(re.findall(r"^\| `(mockbook_\w+)` \| (\w+) \|", docs, re.M))
    assert documented == types


# -- refresh-analytics ---------------------------------------------------------------------


def test_refresh_analytics(status_db, conn) -> None:
    result = mockbook(status_db, "refresh-analytics")
    assert result.returncode == 0, result.stderr
    assert re.match(r"refreshed 4 views in [\d.]+ s: booking_analytics", result.stdout)
    as_json = mockbook(status_db, "refresh-analytics", "--json")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["refreshed"] is True and len(data["views"]) == 4
    assert set(data["concurrently"]) == set(data["views"])  # populated now: CONCURRENTLY
    assert read_status(conn).last_refresh_at is not None


def test_refresh_analytics_busy_exits_75_or_waits(status_db) -> None:
    with psycopg.connect(status_db) as holder:
        first = holder.execute("SELECT mockbook_internal.refresh_analytics()").fetchone()[0]
        assert first["refreshed"] is True  # holds the lock until this transaction ends

        busy = mockbook(status_db, "refresh-analytics")
        assert busy.returncode == exitcodes.BUSY == 75
        assert "another analytics refresh is running" in busy.stderr
        busy_json = mockbook(status_db, "refresh-analytics", "--json")
        assert busy_json.returncode == 75
        assert json.loads(busy_json.stdout)["refreshed"] is False

        base = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        waiting = subprocess.Popen([MOCKBOOK, "refresh-analytics", "--wait"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**base, "DATABASE_URL": status_db})
        # Release the lock only once the waiting process has found it held (its start-up can
        # take seconds on a loaded machine, so no fixed sleep).
        ready, _, _ = select.select([waiting.stderr], [], [], 60)
        assert ready, "the waiting refresh never reported the held lock"
        first_line = waiting.stderr.readline()
        assert "waiting for it" in first_line
        assert waiting.poll() is None, "it waits while the lock is held"
        holder.commit()
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert out.startswith("refreshed 4 views")


def test_commands_on_an_unmigrated_database_say_so(make_database) -> None:
    url = make_database("status_empty")
    for command in ("status", "refresh-analytics"):
        result = mockbook(url, command)
        assert result.returncode == exitcodes.CONFIG_ERROR, result.stderr
        assert "mockbook migrate" in result.stderr and "Traceback" not in result.stderr


def test_an_exam_time_the_rules_cannot_read_is_reported_not_a_failure(status_db, conn) -> None:
    """An upcoming exam whose start_time is 'TBD' is listed under data_problems (the rules
    would otherwise treat it as a whole-day exam without saying so); it fails no check."""
    healthy(conn)
    exam = conn.execute("SELECT tests.make_exam(p_exam_date := current_date + 3)").fetchone()[0]
    conn.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = 'TBD'"
                 " WHERE hubspot_id = %s", (exam,))
    try:
        data = json.loads(mockbook(status_db, "status", "--json").stdout)
        table = mockbook(status_db, "status", env={"COLUMNS": "160"}).stdout
    finally:
        conn.execute("DELETE FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (exam,))
    (problem,) = [p for p in data["data_problems"] if exam in p]
    assert "'TBD' is not a time mockbook can read" in problem
    assert data["ok"] is True
    assert f"data problem: exam {exam}" in table


def test_dead_letters_and_unsent_audit_rows_fail_the_check(status_db, conn) -> None:
    """`status --check` exits non-zero with unresolved dead letters (default: any) and with
    audit rows not written to HubSpot as notes for longer than MOCKBOOK_STATUS_MAX_UNSENT_AUDIT
    (default an hour): both once passed as healthy."""
    conn.execute("UPDATE hubspot_sync.sync_errors SET resolved = true WHERE NOT resolved")
    conn.execute("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now() "
                 "WHERE synced_to_hubspot_at IS NULL")
    strict = {"MOCKBOOK_STATUS_MAX_DEAD_LETTERS": "0", "MOCKBOOK_STATUS_MAX_LAG": "100000",
              "MOCKBOOK_STATUS_MAX_PENDING": "100000", "MOCKBOOK_STATUS_MAX_ERROR_RATE": "1",
              "MOCKBOOK_STATUS_MAX_DRIFT": "100000"}
    assert mockbook(status_db, "status", "--check", env=strict).returncode == 0
    error_row(conn, age=30)
    dead = mockbook(status_db, "status", "--check", env=strict)
    assert dead.returncode == 1
    assert "check failed: dead letters 1 > 0 (mockbook dlq list)" in dead.stderr
    conn.execute("UPDATE hubspot_sync.sync_errors SET resolved = true WHERE NOT resolved")
    conn.execute("INSERT INTO hubspot_sync.supabase_audit_log (table_name, record_id, operation, "
                 "performed_at) VALUES ('hubspot_bookings', gen_random_uuid(), 'UPDATE', "
                 "now() - interval '2 hours')")
    try:
        unsent = mockbook(status_db, "status", "--check", "--json", env=strict)
        assert unsent.returncode == 1
        (failure,) = json.loads(unsent.stdout)["failures"]
        assert failure.startswith("audit rows not written to HubSpot for 72")
        assert mockbook(status_db, "status", "--check",
                        env=strict | {"MOCKBOOK_STATUS_MAX_UNSENT_AUDIT": "10800"}
                        ).returncode == 0
    finally:
        conn.execute("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now() "
                     "WHERE synced_to_hubspot_at IS NULL")
