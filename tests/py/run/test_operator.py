"""`mockbook run` as an operator runs it under cron (README "For operators",
docs/operations.md): a configuration value that cannot work is a configuration error — one line
on stderr naming the variable, exit 2, nothing done — not a run that fails or hangs every time.

What went wrong before:
- a number setting accepted ``nan`` and ``inf`` (``float()`` reads both, and ``nan <= 0`` is
  false): ``MOCKBOOK_RETENTION_DAYS=nan`` made every run's purge fail ('interval out of
  range', exit 1 for ever), ``MOCKBOOK_ANALYTICS_INTERVAL=nan`` refreshed the views on every
  run, ``MOCKBOOK_RUN_PUSH_BUDGET=inf`` (or nan) took the time budget away;
- ``HUBSPOT_RATE_LIMIT=0`` was accepted: the rate limiter never granted a call, and the run
  waited for one for ever (past SIGTERM, which only stops a run between batches);
- a bad value of a variable read by a command's option (``MOCKBOOK_PUSH_BATCH_SIZE=abc``) was
  click's usage error: four lines naming the flag ``--batch-size``, which the cron line does
  not use, instead of the variable.
"""

from __future__ import annotations

import json
import signal

import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import fast
from push_helpers import (
    book,
    bookings,
    env_for,
    hubspot_bookings,
    make_world,
    mockbook,
    pending,
    query,
    run_main,
)
from waiting import wait_until

from glue.config import ConfigError, Settings
from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def done_rows(url: str) -> int:
    sql = "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE done_at IS NOT NULL"
    return query(url, sql)[0]["n"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MOCKBOOK_RETENTION_DAYS", "nan"),
        ("MOCKBOOK_RETENTION_DAYS", "inf"),
        ("MOCKBOOK_ANALYTICS_INTERVAL", "nan"),
        ("MOCKBOOK_RUN_PUSH_BUDGET", "inf"),
        ("HUBSPOT_TIMEOUT_SECONDS", "inf"),
        ("HUBSPOT_RATE_LIMIT", "0"),
    ],
)
def test_a_setting_that_cannot_work_is_refused(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MOCKBOOK_RETENTION_DAYS", "nan"),  # a setting of the table (glue/config.py)
        ("MOCKBOOK_PUSH_BATCH_SIZE", "abc"),  # a command option's envvar (glue/cli/runner.py)
        ("MOCKBOOK_PUSH_LEASE_SECONDS", "0"),
    ],
)
def test_run_with_a_bad_value_is_one_line_exit_2_and_does_nothing(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys, variable: str, value: str
) -> None:
    env = env_for(push_db, sandbox, **{variable: value})
    code, out, err = run_main(["run", "--json"], env, monkeypatch, capsys)
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("mockbook: "), err
    assert variable in lines[0] and "Traceback" not in err, err
    assert out == ""
    # nothing ran: no pull, push, refresh or purge was recorded
    assert query(push_db, "SELECT count(*) AS n FROM hubspot_sync.sync_metadata")[0]["n"] == 0


def test_sigterm_during_a_run_leaves_the_queue_consistent(push_db: str, sandbox: Sandbox) -> None:
    """SIGTERM (cron's `timeout`, a deploy) while `mockbook run` pushes: the batch in flight is
    finished, a batch claimed ahead is given back, no row stays leased, none is lost or
    counted as an attempt; the next run pushes the rest, each booking once."""
    fast(sandbox)
    world = make_world(push_db, sandbox, students=300, credits=1)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    sandbox.faults.latency = 0.3  # HubSpot answering slowly: the run is mid-push when stopped
    env = env_for(push_db, sandbox, MOCKBOOK_RUN_PUSH_BUDGET="600")
    proc = mockbook(["run", "--json", "--batch-size", "50"], env)
    try:
        wait_until("a first batch done", lambda: done_rows(push_db) > 0, timeout=60)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
    finally:
        sandbox.faults.latency = 0
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err  # stopped by a signal
    report = json.loads(out)
    assert report["exit_code"] == proc.returncode and report["stopped_by"] == "SIGTERM", report
    assert report["steps"]["notes"]["status"] == "skipped", report  # stopped: no later step
    rows = query(
        push_db,
        "SELECT count(*) FILTER (WHERE lease_owner IS NOT NULL) AS leased,"
        " count(*) FILTER (WHERE done_at IS NULL AND dead_at IS NULL) AS pending,"
        " count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead,"
        " count(*) FILTER (WHERE done_at IS NULL AND attempts > 0) AS counted"
        " FROM hubspot_sync.sync_queue",
    )[0]
    assert rows["leased"] == 0 and rows["dead"] == 0 and rows["counted"] == 0, rows
    assert rows["pending"] > 0, "the run was stopped after the whole queue was pushed"
    pushed = {b["booking_id"] for b in bookings(push_db) if b["hubspot_id"]}
    assert pushed == set(hubspot_bookings(sandbox)), "HubSpot and Postgres disagree"

    mockbook(["run", "--json"], env).communicate(timeout=300)
    assert pending(push_db) == 0
    assert len(hubspot_bookings(sandbox)) == 300  # each booking once
    assert all(b["hubspot_id"] for b in bookings(push_db))
