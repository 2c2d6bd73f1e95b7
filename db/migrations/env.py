"""Alembic environment for mockbook: raw SQL revisions, no SQLAlchemy models.

The version table lives in its own schema (`mockbook.alembic_version`) so that it is neither in
the API schema `hubspot_sync` nor in `public`, where Supabase grants anon access by default.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import sys
import time
from logging.config import fileConfig
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import context

VERSION_SCHEMA = "mockbook"
# Every revision also sets it; this covers the version table itself.
LOCK_TIMEOUT = "SET lock_timeout = '5s'"

config = context.config
if config.config_file_name and not config.attributes.get("quiet"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("url")
        or os.environ.get("DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("mockbook: no database: set DATABASE_URL or pass -x url=postgresql://...")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# The revision that adopts a production database (README, "Adopting a production database").
ADOPTION = "0002_mockbook_1_0"
BASELINE = "0001_baseline"


def _load(name: str):
    """A module beside this file (dependents.py, calls.py, ...): loaded by path, as `mockbook`
    loads them too, without importing the package."""
    spec = importlib.util.spec_from_file_location(
        f"mockbook_migrations_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dependents, calls, customer, refusals, runner, steps = (
    _load(name) for name in ("dependents", "calls", "customer", "refusals", "runner", "steps"))
# a later release's revision file runs its steps through this module (db/migrations/steps.py)
config.attributes["mockbook.steps"] = steps


def _setting(name: str, default: str) -> str:
    """MOCKBOOK_MIGRATE_<name>, else its older name MOCKBOOK_ADOPTION_<name>, else default."""
    return (os.environ.get(f"MOCKBOOK_MIGRATE_{name}")
            or os.environ.get(f"MOCKBOOK_ADOPTION_{name}") or default)


def _lock_timeout() -> str:
    """The bound of the lock step's whole wait (steps.lock_sql: a twentieth of it for each table
    after the first, far under the server's deadlock_timeout)."""
    return _setting("LOCK_TIMEOUT", "1s")


def _attempt_count() -> int:
    return max(1, int(_setting("ATTEMPTS", "30")))


def _retry_wait(attempt: int) -> float:
    """Seconds before the next attempt: MOCKBOOK_MIGRATE_RETRY_WAIT (default 0.5), doubled
    after each, at most 5, and a random part of it more (tries that fell into the calls' rhythm
    do not fall into it again): the callers go on meanwhile."""
    wait = min(5.0, float(_setting("RETRY_WAIT", "0.5")) * 2 ** (attempt - 1))
    return wait * (1 + random.random() / 2)


def _upgrades_through_adoption() -> bool:
    """The command upgrades to the adoption's revision or past it."""
    target = runner.target()
    if not isinstance(target, str) or target.startswith("-"):
        return False
    try:
        return any(r is not None and r.revision == ADOPTION
                   for r in context.script.iterate_revisions(target, BASELINE))
    except Exception:  # a downgrade or a relative target: not an upgrade through the adoption
        return False


def _configure(per_migration: bool = True, **kwargs: object) -> None:
    """One transaction per revision, or (``per_migration=False``: the adoption and its
    rollback) one the runner commits itself. The schema is SQL, not SQLAlchemy models:
    `alembic check` compares no model (it says whether the database is at head), and the suite
    proves db/ and the revisions equal."""
    context.configure(
        transaction_per_migration=per_migration,
        version_table_schema=VERSION_SCHEMA,
        target_metadata=sa.MetaData(),
        include_name=lambda *_: False,
        **kwargs,
    )


def run_offline() -> None:
    # paramstyle "named": the printed SQL keeps each % as written (a "pyformat" dialect would
    # print it doubled, as a driver wants it), so psql runs exactly what the online upgrade runs
    _configure(url=database_url(), literal_binds=True, dialect_name="postgresql",
               dialect_opts={"paramstyle": "named"})
    context.execute(LOCK_TIMEOUT)
    context.execute(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    context.execute(f"REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC")
    with steps.running(context.script, steps.Run(_lock_timeout())):
        context.run_migrations()
    context.execute("NOTIFY pgrst, 'reload schema'")


def run_online() -> None:
    # pytest-alembic (and callers embedding Alembic) pass an Engine or a Connection here.
    given = config.attributes.get("connection")
    if isinstance(given, sa.Connection):
        _run_with(given)
        return
    engine = given or sa.create_engine(database_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        _run_with(connection)
    if given is None:
        engine.dispose()


# How every migration of a database runs (db/migrations/steps.py decides what runs for each
# step; this decides the transactions, the tries and what is said when it stops):
#
# - **An upgrade or downgrade of an adopted (or new) database**: one transaction per revision,
#   its version stamp included. Its first statement is the lock step: the tables its statements
#   lock in a mode a booking conflicts with, in the lock order, the whole wait bounded by
#   MOCKBOOK_MIGRATE_LOCK_TIMEOUT (default 1s; a twentieth of it for each table after the
#   first). On a lock not granted in time (55P03, or 57014 for the lock step's bound), or a
#   deadlock (40P01), the revision's transaction is rolled back (it holds nothing then) and the
#   run goes on from where the database is, at most MOCKBOOK_MIGRATE_ATTEMPTS times (default
#   30), after 0.5 s, 1 s, 2 s ... (at most 5 s, a random part more) in which the callers go
#   on; each retry is printed. When it stops, it says which revision was rolled back and where
#   the database is: a revision is either there whole or not at all, so the next `mockbook
#   migrate` finishes the run.
# - **The adoption** (a production database stamped 0001_baseline, upgraded through the
#   adoption's revision): all or nothing, in ONE transaction with every later revision up to the
#   target (1.1's too), so the old apps calling production's functions meanwhile never see an
#   intermediate state (the upgrade renames the enum production's create_booking_atomic uses)
#   and a failure or a crash anywhere on the way leaves production exactly as it was. Its lock
#   step covers every revision it runs and is taken before the first; tried again the same way.
#   Before any lock, what would stop it is named and nothing is done: objects the DDL would fail
#   on (dependents.py), and objects outside mockbook whose behaviour it changes (customer.py)
#   unless mockbook.accept_changed_objects = on.
# - **The rollback** to the production schema (from any revision down below the adoption's):
#   one transaction too, after the first check of the way down (steps.ROLLBACK_CHECK).
RETRIED = ("55P03", "40P01")
# what a statement fails with: SQLAlchemy's error, or (SQL run on the driver's own connection)
# the driver's
FAILED = (sa.exc.DBAPIError, psycopg.Error)


def _wrap(connection: sa.Connection, timeout: str) -> None:
    """The wrappers (calls.py), committed before the adoption's transaction starts."""
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {_literal(timeout)}")
    _driver(connection, calls.sql(calls.UNWRAP_SQL))  # what an interrupted run left
    _driver(connection, calls.sql(calls.WRAP_SQL))
    connection.commit()


def _unwrap(connection: sa.Connection) -> None:
    """Production's function bodies back (in the caller's transaction)."""
    _driver(connection, calls.sql(calls.UNWRAP_SQL))


def _driver(connection: sa.Connection, sql: str) -> None:
    """SQL run as it is (no bind parameters), as the revisions run theirs."""
    connection.exec_driver_sql("SELECT 1")  # the transaction begun on SQLAlchemy's side too
    connection.connection.driver_connection.execute(sql)


def _rows(connection: sa.Connection, sql: str, params: tuple = ()) -> list:
    """SQL written for a driver that takes parameters (every % doubled), its rows."""
    return list(connection.exec_driver_sql(sql, params))


def _setting_on(connection: sa.Connection, name: str) -> bool:
    return bool(connection.exec_driver_sql(
        f"SELECT coalesce(current_setting({_literal(name)}, true), '') IN ('on', 'true', '1')"
    ).scalar())


def _adopting(heads: tuple[str, ...]) -> bool:
    return heads == (BASELINE,) and _upgrades_through_adoption()


def _rolling_back(heads: tuple[str, ...]) -> bool:
    """The command steps a database at the adoption's revision or later down below it."""
    if context.get_context().as_sql or len(heads) != 1 or heads[0] == BASELINE:
        return False
    try:
        target = runner.target()
        return isinstance(target, str) and any(
            r is not None and r.revision == ADOPTION
            for r in context.script.iterate_revisions(heads[0], target,
                                                      select_for_downgrade=True))
    except Exception:  # an upgrade: not a rollback
        return False


def _chain(heads: tuple[str, ...], downgrade: bool) -> list[tuple[str, str]]:
    """The (revision, direction) the one-transaction command runs, in order."""
    target = runner.target()
    if downgrade:
        revs = context.script.iterate_revisions(heads[0], target, select_for_downgrade=True)
        return [(r.revision, "downgrade") for r in revs
                if r is not None and r.revision != target]
    revs = context.script.iterate_revisions(target, heads[0])
    return [(r.revision, "upgrade") for r in reversed(list(revs))
            if r is not None and r.revision != heads[0]]


def _refuse_early(connection: sa.Connection, heads: tuple[str, ...]) -> list:
    """What stops the adoption before it changes anything (read from the catalogs, before any
    lock: a refusal never blocks a caller); returns the objects outside mockbook it accepts."""
    still = f"nothing was changed: the database is still at {heads[0]}"
    blocking = _rows(connection, dependents.DEPENDENTS_SQL)
    if blocking:
        raise refusals.Refused(
            "Drop or change these objects first (re-create them after, on the new types), then "
            "run the upgrade again.",
            "the adoption would fail on objects built on what it changes",
            "\n".join(f"{dependent} uses {target}, which revision {rev} {change}"
                      for rev, dependent, target, change in blocking), still)
    changed = customer.findings(lambda sql, params: _rows(connection, sql, params))
    if changed and not _setting_on(connection, customer.ACCEPT):
        raise refusals.Refused(
            "Fix each object as its line says (or, to adopt with them as they are, set "
            f"{customer.ACCEPT} = on), then run the upgrade again (docs/dba.md: objects outside "
            "mockbook).",
            "the adoption would change how these objects outside mockbook behave",
            "\n".join(f"{obj}: {what}. Fix: {fix}" for obj, what, fix in changed), still)
    connection.rollback()
    return changed


def _refuse_rollback_early(connection: sa.Connection) -> None:
    """The way down's first check (steps.ROLLBACK_CHECK: rows production's schema would
    refuse), run before any later revision's way down takes a lock: it stops the rollback from
    any revision as it stops it from the adoption's, nothing locked or changed."""
    _driver(connection, steps.text_of(steps.ROLLBACK_CHECK))
    connection.rollback()


def _refuse_blockers(connection: sa.Connection, heads: tuple[str, ...]) -> None:
    """What stops any migration (customer.py's migration_findings: an event trigger that finds
    its names through the search path), named before anything is locked or changed, unless
    the DBA accepts it (mockbook.accept_changed_objects = on)."""
    found = customer.migration_findings(lambda sql, params: _rows(connection, sql, params))
    accepted = _setting_on(connection, customer.ACCEPT)
    connection.rollback()
    if found and not accepted:
        raise refusals.Refused(
            "Fix each object as its line says (or, to migrate with them as they are, set "
            f"{customer.ACCEPT} = on), then run it again (docs/dba.md: objects outside "
            "mockbook).",
            "these objects outside mockbook would make the migration fail",
            "\n".join(f"{obj}: {what}. Fix: {fix}" for obj, what, fix in found),
            f"nothing was changed: the database is at {', '.join(heads) or 'no revision'}")


def _column_grants(connection: sa.Connection) -> list:
    """The column-level privileges the adoption revokes (customer.COLUMN_GRANTS_SQL), read
    before its revisions run: (object, the GRANT giving it back, the REVOKE)."""
    return _rows(connection, customer.COLUMN_GRANTS_SQL,
                 (list(customer.ADOPTED), _setting_on(connection, "mockbook.keep_legacy_grants")))


def _after_adoption(connection: sa.Connection, accepted: list) -> None:
    """In the adoption's transaction, after the revisions: what the DBA's settings ask. With
    mockbook.keep_legacy_grants = on, the schema privileges the frozen revision revoked are
    granted again (replayed from the report, as its downgrade replays them), so the other app
    keeps reaching the schema; objects accepted with mockbook.accept_changed_objects = on get a
    report row each."""
    if _setting_on(connection, "mockbook.keep_legacy_grants"):
        for (grant,) in _rows(connection, (
                "UPDATE hubspot_sync.adoption_report SET action = 'kept schema privilege'"
                " WHERE revision = %s AND action = 'revoked schema privilege'"
                " RETURNING old_value"), (ADOPTION,)):
            connection.exec_driver_sql(grant)
    for obj, what, fix in accepted:
        connection.exec_driver_sql(
            "INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value,"
            " new_value) VALUES (%s, %s, %s, %s, %s)",
            (ADOPTION, customer.ACCEPTED_ACTION, obj, what, fix))


def _revoke_column_grants(connection: sa.Connection, grants: list) -> None:
    """In the adoption's transaction, after the revisions: the column-level privileges read
    before (``grants``) that the revisions' own REVOKEs left are revoked too, and each is one
    report row with the GRANT that gives it back (the rollback runs it): mockbook's tables then
    hold exactly the documented privileges (docs/dba.md, "Privileges, exactly")."""
    for obj, grant, revoke in grants:
        connection.exec_driver_sql(revoke.replace("%", "%%"))
        connection.exec_driver_sql(
            "INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value)"
            " VALUES (%s, %s, %s, %s)", (ADOPTION, customer.COLUMN_GRANT_ACTION, obj, grant))


_GIVEN_BACK_SQL = """
SELECT CASE WHEN to_regclass('hubspot_sync.adoption_report') IS NOT NULL THEN
    (SELECT coalesce(array_agg(old_value ORDER BY id), '{}')
     FROM hubspot_sync.adoption_report WHERE revision = %s AND action = %s)
END
"""


def _column_grants_back(connection: sa.Connection) -> list[str]:
    """Before the rollback's revisions (which drop the report): the GRANTs of the column-level
    privileges the adoption revoked."""
    (grants,) = _rows(connection, _GIVEN_BACK_SQL, (ADOPTION, customer.COLUMN_GRANT_ACTION))[0]
    return list(grants or [])


class _Mode:
    """What one command does around the revisions: ``one_transaction`` (the adoption and the
    rollback), what runs first and last in it, what the database is said to be at when it
    stops."""

    def __init__(self, name: str, heads: tuple[str, ...], *, one_transaction: bool,
                 before=None, after=None) -> None:
        self.name, self.heads, self.one_transaction = name, heads, one_transaction
        self.before, self.after = before, after


def _attempts(connection: sa.Connection, mode: _Mode) -> dict:
    """Run the command's revisions, tried again after a lock not granted in time or a deadlock
    (section above); returns what the committed attempt took: attempts, locked_s (the longest
    its tables were held, from the lock step to the commit of a revision: how long a booking
    waited at most, besides the lock step's own bounded wait), requested_s (that and the lock
    step's wait)."""
    timeout, attempts = _lock_timeout(), _attempt_count()
    for attempt in range(1, attempts + 1):
        state = steps.Run(timeout, config.attributes.get("progress"),
                          locked=mode.one_transaction)
        try:
            with steps.running(context.script, state):
                if mode.one_transaction:
                    _configure(per_migration=False, connection=connection)
                    measured = mode.before() if mode.before else None
                    wanted = set().union(*(step.locks for rev, direction in
                                           _chain(mode.heads, mode.name == "rollback")
                                           for step in steps.plan(rev, direction)))
                    state.lock_step(lambda sql: _driver(connection, sql), wanted,
                                    f"the tables the {mode.name} locks, every revision of it")
                    context.run_migrations()
                    if mode.after:
                        mode.after(measured)
                else:
                    _configure(connection=connection)
                    context.run_migrations()
                connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
                connection.commit()
                state.committed()
            return {"attempts": attempt, **state.window()}
        except FAILED as error:
            where = _after_failure(connection, mode, state)
            sqlstate = _sqlstate(error)
            if where is None or getattr(error, "connection_invalidated", False):
                sqlstate = "08006"  # the connection was lost: a server restart, a network cut
            elif sqlstate == "57014" and state.locking:
                sqlstate = "55P03"  # the lock step's own bound: its locks not granted in time
            held = _holders(connection, sqlstate, state) if where is not None else []
            retried = sqlstate in RETRIED
            if retried and attempt < attempts and where is not None:
                tables = ", ".join(sorted({t for t, _ in held})) or "its tables"
                why = "the lock step ran out of time" if state.locking else "a lock"
                print(f"mockbook: {mode.name} attempt {attempt} of {attempts} rolled back "
                      f"({sqlstate}: {why} on {tables}); trying again", file=sys.stderr)
                time.sleep(_retry_wait(attempt))
                mode.heads = tuple(context.get_context().get_current_heads())
                continue
            raise refusals.from_error(error, _stopped(mode, state, attempt, where, sqlstate),
                                      held, sqlstate=sqlstate) from error
    raise AssertionError("unreachable")


def _after_failure(connection: sa.Connection, mode: _Mode, state) -> tuple[str, ...] | None:
    """The failed attempt rolled back; the heads the database is at now (None: the connection is
    gone, a server restart or a lost network)."""
    try:
        connection.rollback()
        return tuple(context.get_context().get_current_heads())
    except FAILED:
        return None


def _stopped(mode: _Mode, state, attempt: int, where: tuple[str, ...] | None,
             sqlstate: str | None) -> str:
    """Where the database is, said precisely: each revision is there whole or not at all."""
    tries = f" ({attempt} attempt{'s' if attempt > 1 else ''})"
    lost = "the connection was lost: " if sqlstate == "08006" else ""
    if mode.one_transaction:
        return (f"{lost}the {mode.name} was rolled back as a whole{tries}; nothing was changed: "
                f"the database is still at {mode.heads[0]}")
    failed = (f"{state.revision} was rolled back as a whole (one transaction): nothing of it "
              "was kept" if state.revision else "nothing was changed")
    if where is None:
        return (f"{lost}{failed} (PostgreSQL keeps no part of a transaction that did not "
                f"commit); the revisions this run committed before it stay: "
                f"{', '.join(state.done) or 'none'}. Run it again to finish")
    return f"{lost}{failed}{tries}; the database is at {', '.join(where) or 'no revision'}"


def _sqlstate(error: BaseException) -> str | None:
    return getattr(getattr(error, "orig", None) or error, "sqlstate", None)


def _holders(connection: sa.Connection, sqlstate: str | None, state) -> list:
    """For a lock not granted in time or a deadlock: the locks other sessions hold now on the
    tables the lock step wanted (all of mockbook's when it had passed it)."""
    if sqlstate not in refusals.LOCKS:
        return []
    try:
        tables = None
        if state.locking and state.wanted:
            connection.exec_driver_sql("SELECT 1")
            tables = [table for table, _ in connection.connection.driver_connection.execute(
                steps.resolve_sql(state.wanted)).fetchall()]
        held = _rows(connection, refusals.LOCK_HOLDERS_SQL, (tables, tables))
        connection.rollback()
    except FAILED:
        return []
    return held


def _report_window(took: dict, attempts: int, cut: dict) -> None:
    """How long the committed attempt held the production tables locked (a call of the old apps
    waited that long at most, plus the lock wait that came before it, at most the lock
    timeout), and the API roles whose statement timeout was shorter than that wait and window
    together (``cut``, dependents.exceeded: their calls that waited longer were cancelled,
    57014, nothing of them kept). A caller embedding Alembic gets it in the dict it passed as
    ``config.attributes["adoption"]`` and says it itself (`mockbook migrate`); otherwise
    (`alembic upgrade head`) it is printed on stderr, as the retries are. The adoption has
    committed: a stderr that cannot be written to does not turn it into a failure."""
    outcome = config.attributes.get("adoption")
    if isinstance(outcome, dict):
        outcome.update(attempts=took["attempts"], locked_s=took["locked_s"],
                       timeouts_exceeded=cut)
        return
    with contextlib.suppress(OSError, ValueError):
        print(f"mockbook: adopted at attempt {took['attempts']} of {attempts}: the production "
              f"tables were locked for {took['locked_s']:.3f} s", file=sys.stderr)
        if cut:
            print(f"mockbook: {dependents.cancelled(cut)}", file=sys.stderr)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _adopt(connection: sa.Connection, heads: tuple[str, ...]) -> None:
    accepted = _refuse_early(connection, heads)
    _wrap(connection, _lock_timeout())

    def before() -> tuple[dict, list]:
        return (dependents.api_timeouts(connection.exec_driver_sql(dependents.API_TIMEOUTS_SQL)),
                _column_grants(connection))

    def after(measured: tuple[dict, list]) -> None:
        timeouts, grants = measured
        _after_adoption(connection, accepted)
        _revoke_column_grants(connection, grants)
        _unwrap(connection)
        after.timeouts = timeouts

    try:
        took = _attempts(connection, _Mode("adoption", heads, one_transaction=True,
                                           before=before, after=after))
    except BaseException:
        connection.rollback()
        _unwrap(connection)
        connection.commit()
        raise
    _report_window(took, _attempt_count(),
                   dependents.exceeded(after.timeouts, took["requested_s"]))


def _run_with(connection: sa.Connection) -> None:
    connection.exec_driver_sql(LOCK_TIMEOUT)
    connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    connection.exec_driver_sql(f"REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC")
    connection.commit()
    _configure(connection=connection)
    with runner.one_migrate(connection, LOCK_TIMEOUT) as heads:
        if not runner.moves():  # current, check
            with steps.running(context.script, steps.Run(_lock_timeout())):
                context.run_migrations()
            return
        if _adopting(heads):
            _adopt(connection, heads)
            return
        # the way back to the production schema is all or nothing, as the adoption was: one
        # transaction from whatever revision (a later release's way down, then 1.0's)
        rolling_back = _rolling_back(heads)
        if not runner.stamps():
            _refuse_blockers(connection, heads)
        if rolling_back:
            try:
                _refuse_rollback_early(connection)
            except FAILED as error:
                connection.rollback()
                raise refusals.from_error(error, "nothing was changed: the database is still at "
                                          f"{heads[0]}", []) from error
        took = _attempts(connection, _Mode(
            "rollback" if rolling_back else "migration", heads, one_transaction=rolling_back,
            # the column-level privileges the adoption revoked, given back after the revisions
            before=(lambda: _column_grants_back(connection)) if rolling_back else None,
            after=(lambda grants: [connection.exec_driver_sql(grant.replace("%", "%%"))
                                   for grant in grants]) if rolling_back else None))
        outcome = config.attributes.get("migration")
        if isinstance(outcome, dict):
            outcome.update(took)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
