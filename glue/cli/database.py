"""Database commands: up, down, migrate, db revision."""

from __future__ import annotations

import json
import sys

import click
import psycopg
import sqlalchemy.exc

from glue import __version__, exitcodes
from glue.cli import AppContext, redact
from glue.cli.progress import Stopwatch, on_terminal, step_bar
from glue.config import ConfigError
from glue.db import embedded, migrations
from glue.db.connection import connect

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@pass_app
def up(app: AppContext) -> None:
    """Start the embedded PostgreSQL (when DATABASE_URL is unset) and print its URL."""
    if app.settings.database_url:
        raise ConfigError(
            "DATABASE_URL is set: mockbook uses that server, there is nothing to start"
        )
    url = embedded.start(app.settings.data_dir)
    click.echo(url)


@click.command()
@pass_app
def down(app: AppContext) -> None:
    """Stop the embedded PostgreSQL."""
    if embedded.stop(app.settings.data_dir):
        click.echo("embedded PostgreSQL stopped")
    else:
        click.echo("embedded PostgreSQL was not running")


@click.command()
@click.option("--sql", "as_sql", is_flag=True,
              help="Print the SQL instead of running it: from the revision the configured "
                   "database is at (DATABASE_URL), else from an empty database.")
@click.option("--from", "start", default=None, metavar="REVISION",
              help="With --sql: print from this revision (`base`: an empty database) instead "
                   "of reading the database's.")
@click.option("--to", "target", default="head", show_default=True, help="Target revision.")
@click.option("--check", "dry_run", is_flag=True,
              help="Adoption dry run: list every row and object the upgrade of a production "
                   "database would change or refuse, without changing anything.")
@click.option("--json", "json_flag", is_flag=True,
              help="Print one JSON object (as `mockbook --json migrate`).")
@pass_app
def migrate(app: AppContext, as_sql: bool, start: str | None, target: str, dry_run: bool,
            json_flag: bool) -> None:
    """Upgrade the configured database (default: embedded) to the newest revision."""
    if json_flag:
        app.json_output = True
    if dry_run:
        check_adoption(app)
        return
    if as_sql:
        print_sql(app, start, target)
        return
    url = app.database_url()
    needs_a_session(url)
    clock = Stopwatch()
    before = migrations.current(url)
    unknown_revision(url, before)
    steps = migrations.steps(before, target) if on_terminal() else []
    adoption: dict = {}
    waited: dict = {}
    took: dict = {}
    try:
        with step_bar("migrate", steps, enabled=not app.json_output) as advance:
            migrations.upgrade(url, target, progress=advance, adoption=adoption, waited=waited,
                               migration=took)
    except SystemExit as stopped:  # the runner's refusal (db/migrations/refusals.py)
        refused(app, url, stopped)
    except (psycopg.Error, sqlalchemy.exc.DBAPIError) as error:
        exc = getattr(error, "orig", None) or error
        diag = exc.diag
        for line in (diag.message_hint, f"mockbook migrate: {diag.message_primary or exc}",
                     diag.message_detail):
            if line:
                click.echo(line, err=True)
        sys.exit(exitcodes.PARTIAL_FAILURE)
    after = migrations.current(url)
    if waited:  # another migrate did the work while this one waited for it
        before = waited["to"][0] if waited.get("to") else before
    if app.json_output:
        click.echo(
            json.dumps(
                {"database": redact(url), "from": before, "to": after, "changed": before != after}
                | ({"done_by_another_migrate": waited} if waited else {})
                | ({"adoption": adoption} if adoption else {})
                | ({"migration": took} if took.get("locked_s") else {})
            )
        )
        return
    if waited:
        click.echo(f"{redact(url)}: another migrate moved the database from "
                   f"{', '.join(waited['from']) or 'empty'} to {', '.join(waited['to'])} while "
                   "this one waited for it: found that work done")
    if before == after:
        where = "head" if after == migrations.head() else f"{target}"
        click.echo(f"{redact(url)}: already at {where} ({after}), nothing to do")
    else:
        ran = len(migrations.steps(before, after))
        said_windows(took, adoption)
        # the summary is the last line (what a cron mail's subject or a script's tail shows)
        click.echo(f"{redact(url)}: {before or 'empty'} -> {after} in {clock} "
                   f"({ran} statement groups)")


def said_windows(took: dict, adoption: dict) -> None:
    """How long the upgrade held its tables (what a call waited on it at most)."""
    if took.get("locked_s"):
        click.echo(f"its tables were locked for {took['locked_s']:.3f} s at most (attempt "
                   f"{took['attempts']}): how long a call waited on the upgrade, besides "
                   "the lock step's own wait (at most MOCKBOOK_MIGRATE_LOCK_TIMEOUT)")
    if adoption:
        click.echo(f"the production tables were locked for {adoption['locked_s']:.3f} s "
                   f"(attempt {adoption['attempts']}): how long the old apps' calls waited "
                   "on the upgrade, besides its wait for the lock (at most "
                   "MOCKBOOK_MIGRATE_LOCK_TIMEOUT)")
        if adoption.get("timeouts_exceeded"):
            from glue.db.adoption import timeouts_cut

            click.echo(timeouts_cut(adoption["timeouts_exceeded"]))


def print_sql(app: AppContext, start: str | None, target: str) -> None:
    """`migrate --sql`: the SQL `mockbook migrate` runs from the revision the configured database
    is at (read from it: Alembic's offline mode reads no database, so `alembic upgrade head
    --sql` prints the SQL from an empty one), or from ``start`` (`base`: empty)."""
    url = app.settings.database_url
    if start is None and url:
        start = migrations.current(url) or "base"
        unknown_revision(url, None if start == "base" else start)
    if start in (None, "base"):
        sys.stdout.write(migrations.upgrade(url or "postgresql://offline/mockbook", target,
                                            sql=True))
        return
    if start == target or (target == "head" and start == migrations.head()):
        click.echo(f"-- already at {start}: nothing to run")
        return
    sys.stdout.write(migrations.upgrade(url or "postgresql://offline/mockbook",
                                        f"{start}:{target}", sql=True))


def unknown_revision(url: str, current: str | None) -> None:
    """A database at a revision this mockbook does not have (a newer release migrated it):
    said, exit 2, before anything runs."""
    if current is None or current in migrations.revisions():
        return
    known = migrations.revisions()
    click.echo(f"mockbook: {redact(url)} is at revision {current}, which this mockbook "
               f"{__version__} does not know (its revisions: {known[0]} ... {known[-1]}): a "
               "newer mockbook migrated it. Run that release's `mockbook migrate` "
               "(db/migrations/releases.json lists each release's revision); nothing was "
               "checked or changed.", err=True)
    sys.exit(exitcodes.CONFIG_ERROR)


def needs_a_session(url: str) -> None:
    """Exit 2 (one line) when DATABASE_URL goes through a transaction-mode pooler: a migration
    holds a session-level advisory lock and session settings from its start to its end
    (glue.db.pooler)."""
    from glue.db.pooler import refuse_transaction

    with connect(url, autocommit=True, connect_timeout=10) as conn:
        refuse_transaction(conn, url, "mockbook migrate",
                           "a migration keeps a session-level lock and session settings from "
                           "its first statement to its last")


def refused(app: AppContext, url: str, stopped: SystemExit) -> None:
    """The runner stopped and changed nothing of what it refused: its block on stderr (hint
    first), with --json one object on stdout too; exit 1 (fix the rows or objects it names) or
    75 (a lock held: try again later)."""
    if not hasattr(stopped, "exit_code"):
        raise stopped
    if app.json_output:
        click.echo(json.dumps({"database": redact(url), "refused": stopped.as_dict()}))
    click.echo(str(stopped.code), err=True)
    sys.exit(stopped.exit_code)


def check_adoption(app: AppContext) -> None:
    """`migrate --check`: one line (or JSON object) per finding; exit 1 when a row or object
    would stop the upgrade (docs/dba.md: an existing production database), 2 at a revision this
    mockbook does not know."""
    from glue.db import adoption

    url = app.database_url()
    clock = Stopwatch()
    current = migrations.current(url)
    unknown_revision(url, current)
    head = migrations.head()
    known = migrations.revisions()
    # the revisions `migrate` runs from here: from the baseline (known[0], stamped or not), the
    # adoption's and every later one, in its one transaction
    pending = known[known.index(current or known[0]) + 1:]
    adopted = adoption.ADOPTION not in pending
    with connect(url) as conn:
        if not adoption.has_production_tables(conn) or adopted:
            # no adoption to check: what stops any migration (an event trigger), if anything
            findings = adoption.migration_blockers(conn, pending[0]) if pending else []
            if not findings:
                nothing_to_check(app, url, current, pending, adopted)
                return
            timeouts: dict = {}
            if not app.json_output:
                click.echo(f"{redact(url)}: from revision {current or 'none'} to {head} "
                           f"({', '.join(pending)}, one transaction each)")
        else:
            # at the baseline (stamped or not), or at a revision an earlier upgrade stopped at
            checks = [f"check {i + 1}" for i in range(adoption.CHECKS)]
            with step_bar("migrate --check:", checks, enabled=not app.json_output) as advance:
                findings = adoption.check(conn, after=current or "0001_baseline",
                                          progress=advance)
            timeouts = adoption.api_timeouts(conn.cursor())
            if not app.json_output:
                click.echo(f"{redact(url)}: from revision "
                           f"{current or '0001_baseline (unstamped)'} to {head} "
                           f"({', '.join(pending)}: one transaction)")
    refused = [f for f in findings if f["kind"] == "refuse"]
    rows = sum(1 for f in refused if f["record_id"] is not None)
    objects = len(refused) - rows
    if app.json_output:
        click.echo(json.dumps({"database": redact(url), "findings": findings,
                               "changes": len(findings) - len(refused), "refused": len(refused),
                               "refused_rows": rows, "refused_objects": objects,
                               "statement_timeouts": timeouts}))
    else:
        for f in findings:
            change = "" if f["new_value"] is None else f" -> {f['new_value']}"
            old = "" if f["old_value"] is None else f" {f['old_value']}"
            record = "" if f["record_id"] is None else f" {f['record_id']}"
            click.echo(f"{f['kind']:6} {f['revision']:28} {f['object']}{record}: "
                       f"{f['action']}{old}{change}")
        if timeouts:
            click.echo("the API's statement timeouts: " + ", ".join(
                f"{role} " + (f"{t['seconds']:g} s (set on {t['set_on']})" if t["seconds"]
                              else "none")
                for role, t in timeouts.items())
                + ": a call of the old apps waiting on the upgrade's locks longer is cancelled"
                " (57014); rehearse the upgrade on a restored copy to know its window"
                " (docs/dba.md)")
        click.echo(f"{len(findings) - len(refused)} changes, {counted(rows, 'row')} and "
                   f"{counted(objects, 'object')} refused"
                   + (" (the upgrade would stop: fix these first)" if refused else "")
                   + f"; {adoption.CHECKS} checks in {clock}")
    if refused:
        sys.exit(exitcodes.PARTIAL_FAILURE)


def nothing_to_check(app: AppContext, url: str, current: str | None, pending: list[str],
                     adopted: bool) -> None:
    """`migrate --check` where there is no adoption to check and nothing stops a migration."""
    why = ("head" if not pending else "adopted" if adopted else "no production tables")
    if app.json_output:
        click.echo(json.dumps({"database": redact(url), "revision": current,
                               "nothing_to_check": why, "findings": [], "changes": 0,
                               "refused": 0}))
        return
    click.echo(f"{redact(url)}: revision {current or 'none'}" + {
        "head": " (head)",
        "adopted": f" (adopted: the dry run is the adoption's; `mockbook "
                   f"migrate` runs {', '.join(pending)}, one transaction each)",
        "no production tables": ", no production tables"}[why]
        + ": nothing to check")


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@click.group()
def db() -> None:
    """Maintain the db/ SQL source."""


@db.command("revision")
@click.option("-m", "--message", default=None,
              help="The name of a new release's revision (needed only after a release is cut).")
def revision(message: str | None) -> None:
    """Fold the db/ changes into the one revision of the release not cut yet (re-frozen in
    place; run it again and nothing changes). After a release is cut, start the next
    release's revision, named by MESSAGE."""
    from glue.db.revision import freeze

    try:
        rev = freeze(message)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(rev or "nothing to fold: the revision already holds db/ as it is")


@db.command("release")
@click.argument("version")
@click.option("--date", "day", required=True, help="The release's date, YYYY-MM-DD.")
def release(version: str, day: str) -> None:
    """Cut the release: record the unreleased revision as VERSION in
    db/migrations/releases.json. It never changes again; the next `db revision` starts the
    next release's revision. (Retitle its CHANGELOG section with the same date: releases.json
    is the record of releases a clone carries.)"""
    from glue.db.revision import cut_release

    try:
        click.echo(f"release {version}: revision {cut_release(version, day)}")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@db.command("lock")
def lock() -> None:
    """Pin the newest revision's files in db/migrations/revisions.lock again, after writing its
    hand-written SQL (0000_schema_changes.sql, ...). Only for the release not cut yet: older
    revisions are never re-pinned (it stops if one of them changed)."""
    from glue.db.revision import lock_newest

    try:
        click.echo(f"pinned {lock_newest()} in db/migrations/revisions.lock")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


COMMANDS = [up, down, migrate, db]
