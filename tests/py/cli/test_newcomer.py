"""What a newcomer meets first, each answered in one line with a documented exit code: a port
already in use for `mockbook sandbox` (2), a database not migrated yet for `dlq` and `adoption`
(2, "run `mockbook migrate`"), a stdout closed early as in `mockbook hubspot setup --check |
head -1` (141, quietly, as a Unix filter ends)."""

from __future__ import annotations

import socket

import push_helpers
import pytest
import sandbox_fixtures
from push_helpers import mockbook

from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox


def test_sandbox_on_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = mockbook(["sandbox", "--port", str(port)], {})
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, (out, err)
    assert out == "" and "listening" not in err, (out, err)
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err, err


@pytest.mark.parametrize("command", [["dlq", "list"], ["dlq", "retry", "--all"],
                                     ["dlq", "discard", "--all"], ["adoption", "list"]])
def test_a_database_not_migrated_is_one_line_and_exit_2(make_database, command) -> None:
    url = make_database("not_migrated_" + command[-1].strip("-"))
    proc = mockbook(command, {"DATABASE_URL": url})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, (out, err)
    assert err.count("\n") == 1 and "run `mockbook migrate`" in err, err


def test_a_closed_stdout_ends_quietly_with_141(sandbox: Sandbox) -> None:
    env = {"HUBSPOT_ACCESS_TOKEN": push_helpers.TOKEN, "HUBSPOT_BASE_URL": sandbox.base_url,
           "DATABASE_URL": ""}
    proc = mockbook(["hubspot", "setup", "--check"], env)
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 141 and err == "", (proc.returncode, err)
    # with a reader, the same command exits as it always did
    proc = mockbook(["hubspot", "setup", "--check"], env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "the portal has everything" in out, (out, err)


def test_a_command_the_role_may_not_run_is_one_line_and_exit_2(database_url: str) -> None:
    """A role without a grant the command needs (here the glue's role, its read of
    sync_metadata revoked in this module's database) is one line naming the roles to use, not
    a traceback."""
    import psycopg
    from glue_role import glue_url

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("REVOKE SELECT ON hubspot_sync.sync_metadata FROM mockbook_glue")
    proc = mockbook(["status"], {"DATABASE_URL": glue_url(database_url)})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, (out, err)
    assert err.count("\n") == 1 and "permission denied" in err and "schema owner" in err, err
