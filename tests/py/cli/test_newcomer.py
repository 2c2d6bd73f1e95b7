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


# Every command of the CLI: how it prints on stdout (the arguments of a run that does, against
# this module's database and a ready sandbox), or why it is not run here.
PRINTS = {
    "adoption list": ["adoption", "list"],
    "adoption resolve": ["adoption", "resolve"],
    "demo": ["demo", "--clean"],
    "dlq discard": ["dlq", "discard", "--all"],
    "dlq list": ["dlq", "list"],
    "dlq retry": ["dlq", "retry", "--all"],
    "hubspot setup": ["hubspot", "setup", "--check"],
    "import": ["import"],
    "migrate": ["migrate", "--sql", "--to", "0001_baseline"],
    "notes": ["notes"],
    "pull": ["pull"],
    "push": ["push", "--linger", "0"],
    "reconcile": ["reconcile"],
    "refresh-analytics": ["refresh-analytics"],
    "run": ["run"],
    "sandbox": ["sandbox", "--port", "0"],
    "status": ["status"],
    "trace": ["trace", "S-CLOSED-PIPE"],
    "webhooks check": ["webhooks", "check", "--json", "--url", "http://127.0.0.1:9/hubspot"],
    "webhooks serve": ["webhooks", "serve", "--port", "0"],
    "webhooks subscriptions": ["webhooks", "subscriptions"],
}
NOT_RUN = {
    "worker": "a service: its log is on stderr, nothing is printed on stdout",
    "db lock": "a maintainer's tool rewriting the source tree's revision files",
    "db release": "a maintainer's tool rewriting the source tree's revision files",
    "db revision": "a maintainer's tool rewriting the source tree's revision files",
    "up": "starts the embedded PostgreSQL (its URL is one click.echo, as every other line)",
    "down": "stops the embedded PostgreSQL (one click.echo, as every other line)",
}


def _leaves() -> set[str]:
    import click

    from glue.cli import cli

    ctx = click.Context(cli)

    def walk(group: click.Group, prefix: list[str]) -> list[str]:
        out = []
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            out += (walk(command, [*prefix, name]) if isinstance(command, click.Group)
                    else [" ".join([*prefix, name])])
        return out

    return set(walk(cli, []))


def test_every_command_is_classified() -> None:
    assert set(PRINTS) | set(NOT_RUN) == _leaves()
    assert not set(PRINTS) & set(NOT_RUN)


def test_a_closed_stdout_ends_every_command_quietly_with_141(
    fresh_database, sandbox: Sandbox
) -> None:
    """`mockbook ... | head -1` with the reader gone before the first line: every command that
    prints ends with 141, quietly, as a Unix filter does (its tables included: rich's Console
    once answered exit 1)."""
    import os

    import psycopg

    url = fresh_database("closed_pipe", migrated=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT tests.make_student(p_student_id := 'S-CLOSED-PIPE')")
    env = {"HUBSPOT_ACCESS_TOKEN": push_helpers.TOKEN, "HUBSPOT_BASE_URL": sandbox.base_url,
           "DATABASE_URL": url, "HUBSPOT_CLIENT_SECRET": "s"}
    running = {}
    for name, args in PRINTS.items():
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the first line is written
        running[name] = mockbook(args, env, stdout=write)
        os.close(write)
    results = {}
    for name, proc in running.items():
        _, err = proc.communicate(timeout=300)
        results[name] = (proc.returncode, err)
    wrong = {n: (code, err[-300:]) for n, (code, err) in results.items()
             if code != 141 or "Traceback" in err}
    assert wrong == {}, wrong


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
