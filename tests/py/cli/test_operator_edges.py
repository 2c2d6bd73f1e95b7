"""What an operator meets at the edges of the commands: a malformed REDIS_URL is the same
configuration error in every command; `mockbook status` starts no database, names the one to
migrate, and reads no table through unless `--check`; an output that cannot be written (a full
disk) ends a command with one line and exit 74, never a traceback. (Signals:
test_signals.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sandbox_fixtures
from glue_role import glue_url
from push_helpers import ROOT, env_for, query, run_main
from waiting import wait_until

from glue import exitcodes
from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox

REDIS = "redis://127.0.0.1:notaport/0"
BOUND = 120.0  # seconds: only stops a hung test


@pytest.mark.parametrize("args", [["push"], ["pull"], ["status"], ["run"], ["worker"],
                                  ["webhooks", "serve", "--port", "0"], ["notes"]],
                         ids=lambda a: " ".join(a[:2]))
def test_a_malformed_redis_url_is_a_configuration_error_in_every_command(
    args: list[str], database_url: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same answer whatever the command (before: a warning and exit 0 in push, pull and
    status, exit 2 in run, worker and webhooks): one line naming REDIS_URL, exit 2, nothing
    done (the database and the sandbox answer: only REDIS_URL is wrong)."""
    env = env_for(database_url, sandbox, REDIS_URL=REDIS, HUBSPOT_CLIENT_SECRET="s3cret")
    code, out, err = run_main(args, env, monkeypatch, capsys)
    assert code == exitcodes.CONFIG_ERROR, (out, err)
    assert err.count("\n") == 1 and "REDIS_URL is malformed" in err, err
    assert out == "" and sandbox.requests == []


def test_status_without_a_database_url_starts_no_server(
    embedded_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, out, err = run_main(["status"], {"MOCKBOOK_DATA_DIR": str(embedded_dir)},
                              monkeypatch, capsys)
    assert code == exitcodes.CONFIG_ERROR, (out, err)
    assert "embedded database" in err and "not running" in err and "mockbook up" in err, err
    assert list(embedded_dir.iterdir()) == []  # nothing started, nothing left running


def test_status_on_a_database_without_the_schema_names_it(
    make_database: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    url = make_database("status_empty")
    code, out, err = run_main(["status"], {"DATABASE_URL": url}, monkeypatch, capsys)
    assert code == exitcodes.CONFIG_ERROR, (out, err)
    database = url.rsplit("/", 1)[1]
    assert "run `mockbook migrate` on " in err and database in err, err


def test_only_status_check_runs_the_invariant_check(
    fresh_database: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """check_invariants() reads every contact, booking and ledger row: plain `status` never
    calls it (the server's own count of its calls, pg_stat_user_functions, says)."""
    url = fresh_database("status_calls", migrated=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET track_functions = 'all'")
    env = {"DATABASE_URL": glue_url(url)}
    calls = ("SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_user_functions "
             "WHERE schemaname = 'mockbook_internal' AND funcname = 'check_invariants'")
    for args in (["status"], ["status", "--json"], ["status", "--check"]):
        code, out, err = run_main(args, env, monkeypatch, capsys)
        assert code in (exitcodes.OK, exitcodes.CHECK_FAILED), (args, out, err)
    # the sessions' counts reach the server's statistics as they end: --check's one call shows
    assert wait_until("--check's call counted", lambda: query(url, calls)[0]["n"]) == 1


def _serve(stdout: Any, stderr: Any, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from glue.cli import main; main()", "webhooks", "serve",
         "--port", "0"],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": glue_url(url),
             "HUBSPOT_CLIENT_SECRET": "s3cret", "HUBSPOT_ACCESS_TOKEN": "t"},
        cwd=ROOT, stdout=stdout, stderr=stderr, text=True, timeout=BOUND,
    )


def test_webhooks_serve_with_its_output_on_a_full_disk(fresh_database: Any) -> None:
    url = fresh_database("full_disk", migrated=True)
    with open("/dev/full", "w") as full:
        done = _serve(full, subprocess.PIPE, url)
    assert done.returncode == exitcodes.OUTPUT_ERROR, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("{")]  # log lines
    assert lines == ["mockbook: cannot write the output: No space left on device"], done.stderr
    with open("/dev/full", "w") as full:  # its errors too: nothing to say it, the code says it
        done = _serve(full, full, url)
    assert done.returncode == exitcodes.OUTPUT_ERROR
