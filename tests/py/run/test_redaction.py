"""No secret is printed: URLs are redacted by parsing, whatever the password's encoding, in the
one helper (glue.redaction) that every command and log line uses."""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from psycopg.conninfo import conninfo_to_dict

from glue.cli import cli
from glue.logs import configured
from glue.redaction import redact_text, redact_url

# each character that must be percent-encoded in a URL's password, and a mix of them
PASSWORDS = ["Sup3r@Secret", "pa/ss", "pa:ss", "pa#ss", "pa%ss", "pa?ss", "S@/:#%?x"]


def _leaks(text: str, password: str) -> bool:
    encoded = quote(password, safe="")
    return password in text or encoded in text or encoded.lower() in text


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("encoded", [True, False], ids=["percent-encoded", "plain"])
def test_a_url_password_is_redacted_whatever_its_encoding(password: str, encoded: bool) -> None:
    secret = quote(password, safe="") if encoded else password
    url = f"postgresql://leaky:{secret}@db.example.com:6543/app?sslmode=require"
    out = redact_url(url)
    assert not _leaks(out, password), out
    assert out.startswith("postgresql://leaky:***@")
    if encoded:  # a valid URL keeps everything but the password
        assert out == "postgresql://leaky:***@db.example.com:6543/app?sslmode=require"
        assert conninfo_to_dict(out)["host"] == "db.example.com"
    # inside a sentence too, as an error message or a log line carries it
    line = redact_text(f"cannot connect to {url}: timeout")
    assert not _leaks(line, password) and line.endswith(": timeout")


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://api.hubapi.com/crm/v3/objects/contacts?hapikey=abc123def&limit=10", "abc123def"),
        ("https://hooks.example.com/in?token=t0k%40en&x=1", "t0k%40en"),
        ("redis://:r3d1s%2Fpw@127.0.0.1:6379/0", "r3d1s%2Fpw"),
        ("postgresql://u@h/db?password=pw%23secret", "pw%23secret"),
    ],
)
def test_tokens_in_query_strings_and_userinfo_without_a_user(url: str, secret: str) -> None:
    out = redact_url(url)
    assert secret not in out and "***" in out
    assert redact_text(f"GET {url} failed") == f"GET {out} failed"


def test_key_value_connection_strings_are_redacted() -> None:
    text = "connection to host=db port=5432 password='it\\'s s3cret' user=u failed; token=abc"
    out = redact_text(text)
    assert "s3cret" not in out and "abc" not in out
    assert "host=db" in out and "user=u" in out


def test_text_without_secrets_is_unchanged() -> None:
    text = "push: sent 12 record(s) key=user:exams:available in 0.3 s (https://api.hubapi.com/x)"
    assert redact_text(text) == text


@pytest.mark.parametrize("password", PASSWORDS)
def test_migrate_never_prints_the_password(database_url: str, password: str) -> None:
    params = conninfo_to_dict(database_url)
    # the test server trusts local connections: any password logs in, as the real one would
    url = (f"postgresql://{params['user']}:{quote(password, safe='')}@{params['host']}:"
           f"{params['port']}/{params['dbname']}")
    runner = CliRunner()
    for args in (["migrate"], ["--json", "migrate"], ["migrate", "--check"]):
        done = runner.invoke(cli, args, env={"DATABASE_URL": url}, catch_exceptions=False)
        assert done.exit_code == 0, done.output
        assert params["dbname"] in done.output, done.output  # it did print the database
        assert not _leaks(done.output, password), (args, done.output)
    done = runner.invoke(cli, ["--json", "migrate"], env={"DATABASE_URL": url})
    assert json.loads(done.output.strip().splitlines()[-1])["database"].startswith(
        f"postgresql://{params['user']}:***@")


def test_log_lines_and_tracebacks_are_redacted() -> None:
    log = logging.getLogger("glue.test_redaction")
    url = "postgresql://leaky:Sup3r%40Secret%2F@db:5432/app"
    for json_lines in (True, False):
        stream = io.StringIO()
        with configured(json_lines=json_lines, stream=stream):
            log.warning("reconnecting to %s", url)
            try:
                raise RuntimeError(f"lost {url}")
            except RuntimeError:
                log.exception("step failed")
        out = stream.getvalue()
        assert "reconnecting to postgresql://leaky:***@db:5432/app" in out
        assert "Sup3r" not in out and "lost postgresql://leaky:***@" in out


# raw, unencoded: what an operator pastes (not a valid URL, exactly the mistake to survive)
RAW = ["inAtXyzzy9@x", "pa/ss xyzzy", "S@/:#%?x xyzzy", "p%zzxyzzy", "xyzzy word"]


def _main(args: list[str], env: dict[str, str], monkeypatch, capsys) -> tuple[int, str]:
    from glue.cli import main

    capsys.readouterr()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("password", RAW)
def test_a_raw_password_in_a_url_works_and_is_never_printed(
    database_url: str, password: str, monkeypatch, capsys
) -> None:
    """Parsed (split at the last @, percent-encoded) before libpq or any message sees it: the
    command works against a live server, and a server that does not answer is one line (exit
    75) naming host and port, never any part of the password."""
    params = conninfo_to_dict(database_url)
    live = f"postgresql://{params['user']}:{password}@{params['host']}:{params['port']}/" \
           f"{params['dbname']}"
    code, said = _main(["--json", "migrate"], {"DATABASE_URL": live}, monkeypatch, capsys)
    assert code == 0 and not _leaks(said, password), said
    assert "xyzzy" not in said.lower()
    down = f"postgresql://{params['user']}:{password}@127.0.0.1:1/{params['dbname']}"
    code, said = _main(["status"], {"DATABASE_URL": down}, monkeypatch, capsys)
    assert code == 75 and said.count("\n") == 1 and "127.0.0.1:1" in said, said
    assert not _leaks(said, password) and "xyzzy" not in said.lower(), said


@pytest.mark.parametrize("conninfo", [
    "host=127.0.0.1 port=1 user=x password='xyz zy plugh'",
    "host=127.0.0.1 port=1 user=x password=xyzzyplugh",
    "host=127.0.0.1 port=1 user=x password=xyzzy plugh",  # unquoted: malformed
])
def test_key_value_strings_are_one_line_without_the_password(
    conninfo: str, monkeypatch, capsys
) -> None:
    code, said = _main(["status"], {"DATABASE_URL": conninfo}, monkeypatch, capsys)
    assert code in (2, 75) and said.count("\n") == 1, said
    assert "xyz" not in said.lower() and "plugh" not in said, said
