"""What a newcomer meets first, each answered in one line with a documented exit code: a port
already in use for `mockbook sandbox` (2), a database not migrated yet for `dlq` and `adoption`
(2, "run `mockbook migrate`"), a stdout closed early as in `mockbook hubspot setup --check |
head -1` (141, quietly, as a Unix filter ends); and the first run docs/operations.md writes,
run as written, ends with a quiet `status --check`."""

from __future__ import annotations

import re
import shlex
import socket

import push_helpers
import pytest
import sandbox_fixtures
from push_helpers import mockbook

from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
empty_sandbox = sandbox_fixtures.empty_sandbox


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


def _first_run() -> list[list[str]]:
    """The command lines of docs/operations.md's "First run" block, as words."""
    text = (push_helpers.ROOT / "docs" / "operations.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text.split("\n## First run\n", 1)[1], re.S)
    assert block is not None
    return [words for line in block[1].splitlines() if (words := shlex.split(line, comments=True))]


def test_the_first_run_as_written_ends_with_a_quiet_status_check(
    make_database, empty_sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """Each line of the block run in order, as written: the placeholders stand for this test's
    server (the schema owner's URL; the glue's login role of tests/glue_role.py for the role it
    creates), /etc/mockbook.env for the glue's settings, with the ids `hubspot setup` prints
    added to it as the comment says; the portal already holds exams and students."""
    from glue_role import glue_url
    from pull_helpers import contact_props, exam_props
    from push_helpers import run_main

    from glue.sandbox import CONTACTS

    owner = make_database("first_run")
    env_file = {"DATABASE_URL": glue_url(owner), "HUBSPOT_ACCESS_TOKEN": push_helpers.TOKEN,
                "HUBSPOT_BASE_URL": empty_sandbox.base_url}
    env: dict[str, str] = {"HUBSPOT_BASE_URL": empty_sandbox.base_url}
    ran = []
    for words in _first_run():
        if words[0] in ("cd", "psql"):  # (the directory; the role: the suite's stands in)
            continue
        if words[:2] == ["set", "-a"]:  # set -a && . /etc/mockbook.env && set +a
            env = {**env, **env_file}
            continue
        assigned = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
        command = words[len(assigned):]
        assert command[0].endswith("/mockbook"), words
        args = [w for w in command[1:] if w not in (">", "/dev/null")]
        local = {**env, **{k: owner for k in assigned if k == "DATABASE_URL"}}
        code, out, err = run_main(args, local, monkeypatch, capsys)
        ran.append((args, code, err))
        assert "Traceback" not in err, (args, err)
        if args == ["hubspot", "setup"]:  # the ids it prints, into the environment file
            env_file.update(re.findall(r"^\s*(HUBSPOT_\w+)=(\S+)$", out, re.M))
            exams = env_file["HUBSPOT_EXAMS_OBJECT_TYPE"]
            empty_sandbox.seed(exams, [exam_props(mock_exam_name="First run", capacity="20")])
            empty_sandbox.seed(CONTACTS, [contact_props("FR1", cs_credits="2")])
    codes = {" ".join(args): code for args, code, _ in ran}
    assert codes == {"migrate": 0, "hubspot setup --check": 1, "hubspot setup": 0, "import": 0,
                     "run": 0, "status --check": 0}, ran
    status_err = ran[-1][2]
    assert "check failed" not in status_err, status_err
