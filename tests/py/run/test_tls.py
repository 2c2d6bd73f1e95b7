"""TLS as Supabase serves it: every command works with ``sslmode=verify-full`` and the server's
CA in ``sslrootcert``, against a PostgreSQL of the test's own that takes TLS connections only and
whose certificate its own CA signed (tests/py/tls_fixtures.py): `migrate` builds the database
over it, then import, pull, push, notes, reconcile, run, trace, status, dlq and the worker with
its webhook intake. A wrong CA, a host name the certificate does not carry or a CA file that is
not there is one line naming it and exit 2, for every command: a setting to fix, not an outage
to wait out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sandbox_fixtures
from glue_role import ensure_glue_login, glue_url
from push_helpers import env_for, mockbook, run_main
from test_pooler_commands import exercise_commands
from tls_fixtures import TlsServer

from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
DATABASE = "mockbook_tls"


@pytest.fixture(scope="module")
def tls() -> Iterator[TlsServer]:
    """The server, and its database migrated by `mockbook migrate` over verify-full."""
    with TlsServer() as server:
        with psycopg.connect(server.url("postgres", "postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {DATABASE}")
        migrate = mockbook(["--json", "migrate"], {"DATABASE_URL": server.url("postgres",
                                                                               DATABASE)})
        out, err = migrate.communicate(timeout=600)
        assert migrate.returncode == 0, err
        assert json.loads(out)["changed"] is True
        ensure_glue_login(server.url("postgres", DATABASE))
        yield server


def test_every_command_works_with_verify_full(
    tls: TlsServer, sandbox: Sandbox, tmp_path: Path, monkeypatch, capsys
) -> None:
    owner = tls.url("postgres", DATABASE)
    glue = glue_url(owner)
    with psycopg.connect(glue) as conn:  # the glue's connection is TLS, verified
        assert conn.info.pgconn.ssl_in_use
    env = env_for(owner, sandbox, HUBSPOT_SEARCH_RATE="50") | {"DATABASE_URL": glue}
    exercise_commands(owner, env, sandbox, tmp_path, monkeypatch, capsys, mode="direct")
    with psycopg.connect(owner, autocommit=True) as conn:  # every session of the glue was TLS
        assert conn.execute("SELECT count(*) FROM pg_stat_ssl WHERE NOT ssl").fetchone()[0] == 0


# each mistake with a one-shot command and the cron run, and a wrong CA with the others (every
# command meets the URL in the same check before it does anything: glue.cli.check_database_url)
MISTAKES = [(wrong, command) for wrong in ("another CA", "another host name", "no such CA file")
            for command in (["status"], ["run"])] + [
    ("another CA", command) for command in (["worker"], ["push"], ["dlq", "list"], ["migrate"])]


@pytest.mark.parametrize(("wrong", "command"), MISTAKES)
def test_a_wrong_ca_or_host_name_is_one_line_and_exit_2(
    tls: TlsServer, wrong: str, command: list[str], tmp_path: Path, monkeypatch, capsys
) -> None:
    url = {
        "another CA": tls.url("postgres", DATABASE, ca=tls.other_ca),
        "another host name": tls.url("postgres", DATABASE, host="127.0.0.1"),
        "no such CA file": tls.url("postgres", DATABASE, ca=tmp_path / "missing.crt"),
    }[wrong]
    env = {"DATABASE_URL": url, "HUBSPOT_ACCESS_TOKEN": "pat-x",
           "HUBSPOT_BASE_URL": "http://127.0.0.1:9"}
    code, _, err = run_main(command, env, monkeypatch, capsys)
    assert (code, err.count("\n")) == (2, 1), err
    assert "DATABASE_URL" in err and ("certificate" in err or "SSL" in err), err
