"""Alembic environment for mockbook: raw SQL revisions, no SQLAlchemy models.

The version table lives in its own schema (`mockbook.alembic_version`) so that it is neither in
the API schema `hubspot_sync` nor in `public`, where Supabase grants anon access by default.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
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


dependents, calls, customer, refusals, runner = (
    _load(name) for name in ("dependents", "calls", "customer", "refusals", "runner"))


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
    with runner.running():
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


# Adoption (a production database stamped 0001_baseline, upgraded through the adoption's
# revision): all or nothing, in ONE transaction with every later revision up to the target
# (1.1's too), so the old apps calling production's functions meanwhile never see an
# intermediate state (the upgrade renames the enum production's create_booking_atomic uses) and
# a failure or a crash anywhere on the way leaves production exactly as it was.
# The tables the revisions rewrite are locked up front by ONE statement, in the lock order of
# docs/rpc.md (contacts, bookings, exams, then sync_metadata), its wait bounded by
# MOCKBOOK_ADOPTION_LOCK_TIMEOUT (default 1s): a waiting ACCESS EXCLUSIVE request queues every
# later caller of those tables behind it, so the upgrade never waits long. On a lock timeout
# (55P03) or a deadlock with a live call (40P01) the whole transaction is rolled back (it holds
# nothing then) and tried again, at most MOCKBOOK_ADOPTION_ATTEMPTS times (default 10), after
# 0.5 s, 1 s, 2 s ... (at most 10 s) in which the callers go on. The frozen revisions run a
# *.nontx.sql file outside their transaction (CREATE INDEX CONCURRENTLY): in this one-transaction
# run those statements run inside it, a later revision's too, their index statements without
# CONCURRENTLY (the tables are locked, or created in it, anyway); every other statement, and
# every function body, runs as frozen (or as replaced.py pins it). An already adopted database
# is upgraded as before, one transaction per revision, CONCURRENTLY kept. Before any lock,
# what would stop it is named and nothing is done: objects the DDL would fail on
# (dependents.py), and objects outside mockbook whose behaviour it changes (customer.py) unless
# mockbook.accept_changed_objects = on.
ADOPTION_LOCKS = (
    "hubspot_sync.hubspot_contact_credits", "hubspot_sync.hubspot_bookings",
    "hubspot_sync.hubspot_mock_exams", "hubspot_sync.sync_metadata",
)
RETRIED = ("55P03", "40P01")
# what a statement fails with: SQLAlchemy's error, or (a frozen file the revision's runner runs
# on the driver's own connection) the driver's
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
    """The way down's first check (replaced.ROLLBACK_CHECK: rows production's schema would
    refuse), run before any later revision's way down takes a lock: it stops the rollback from
    any revision as it stops it from the adoption's, nothing locked or changed."""
    _driver(connection, runner.replaced.running(runner.replaced.ROLLBACK_CHECK))
    connection.rollback()


def _adopt(connection: sa.Connection, heads: tuple[str, ...]) -> None:
    timeout = os.environ.get("MOCKBOOK_ADOPTION_LOCK_TIMEOUT", "1s")
    attempts = max(1, int(os.environ.get("MOCKBOOK_ADOPTION_ATTEMPTS", "10")))
    _configure(per_migration=False, connection=connection)
    accepted = _refuse_early(connection, heads)
    _wrap(connection, timeout)
    try:
        _attempts(connection, heads, timeout, attempts, accepted)
    except BaseException:
        connection.rollback()
        _unwrap(connection)
        connection.commit()
        raise


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


def _attempts(connection: sa.Connection, heads: tuple[str, ...], timeout: str,
              attempts: int, accepted: list) -> None:
    for attempt in range(1, attempts + 1):
        try:
            with runner.running(one_transaction=True):
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = {_literal(timeout)}")
                timeouts = dependents.api_timeouts(
                    connection.exec_driver_sql(dependents.API_TIMEOUTS_SQL))
                # one statement: the tables locked in the order listed, one bounded wait
                requested = time.monotonic()
                connection.exec_driver_sql(
                    f"LOCK TABLE {', '.join(ADOPTION_LOCKS)} IN ACCESS EXCLUSIVE MODE")
                locked = time.monotonic()
                context.run_migrations()
                _after_adoption(connection, accepted)
                _unwrap(connection)
                connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
                connection.commit()
            done = time.monotonic()
            _report_window(attempt, attempts, done - locked, dependents.exceeded(
                timeouts, done - requested))
            return
        except FAILED as error:
            connection.rollback()
            state = _sqlstate(error)
            held = _holders(connection, error, ADOPTION_LOCKS)
            if state in RETRIED and attempt < attempts:
                print(f"mockbook: adoption attempt {attempt} of {attempts} rolled back "
                      f"({state}: a lock held by a live call on "
                      f"{', '.join(sorted({t for t, _ in held})) or 'its tables'}); trying again",
                      file=sys.stderr)
                time.sleep(min(10.0, 0.5 * 2 ** (attempt - 1)))
                continue
            raise refusals.from_error(
                error, f"the adoption was rolled back as a whole ({attempt} attempt(s)); nothing "
                f"was changed: the database is still at {heads[0]}", held) from error


def _sqlstate(error: BaseException) -> str | None:
    return getattr(getattr(error, "orig", None) or error, "sqlstate", None)


def _holders(connection: sa.Connection, error: BaseException,
             tables: tuple[str, ...] | None = None) -> list:
    """For a lock timeout or a deadlock: the locks other sessions hold on the tables now."""
    if _sqlstate(error) not in refusals.LOCKS:
        return []
    names = list(tables) if tables else None
    held = _rows(connection, refusals.LOCK_HOLDERS_SQL, (names, names))
    connection.rollback()
    return held


def _report_window(attempt: int, attempts: int, locked_s: float, cut: dict) -> None:
    """How long the committed attempt held the production tables locked (a call of the old apps
    waited that long at most, plus the lock wait that came before it, at most the lock
    timeout), and the API roles whose statement timeout was shorter than that wait and window
    together (``cut``, dependents.exceeded: their calls that waited longer were cancelled,
    57014, nothing of them kept). A caller embedding Alembic gets it in the dict it passed as
    ``config.attributes["adoption"]`` and says it itself (`mockbook migrate`); otherwise
    (`alembic upgrade head`) it is printed on stderr, as the retries are. The adoption has
    committed: a stderr that cannot be written to does not turn it into a failure."""
    locked_s = round(locked_s, 3)
    outcome = config.attributes.get("adoption")
    if isinstance(outcome, dict):
        outcome.update(attempts=attempt, locked_s=locked_s, timeouts_exceeded=cut)
        return
    with contextlib.suppress(OSError, ValueError):
        print(f"mockbook: adopted at attempt {attempt} of {attempts}: the production tables "
              f"were locked for {locked_s:.3f} s", file=sys.stderr)
        if cut:
            print(f"mockbook: {dependents.cancelled(cut)}", file=sys.stderr)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _where(connection: sa.Connection) -> str:
    connection.rollback()
    heads = context.get_context().get_current_heads()
    return f"the database is at {', '.join(heads) or 'no revision'}"


def _run_with(connection: sa.Connection) -> None:
    connection.exec_driver_sql(LOCK_TIMEOUT)
    connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    connection.exec_driver_sql(f"REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC")
    connection.commit()
    _configure(connection=connection)
    with runner.one_migrate(connection, LOCK_TIMEOUT) as heads:
        adopting = _adopting(heads)
        # the way back to the production schema is all or nothing, as the adoption was: one
        # transaction from whatever revision (a later release's way down, then 1.0's), the
        # frozen index steps (*.nontx.sql) run inside it
        rolling_back = not adopting and _rolling_back(heads)
        try:
            if adopting:
                _adopt(connection, heads)
                return
            if rolling_back:
                _refuse_rollback_early(connection)
                _configure(per_migration=False, connection=connection)
            with runner.running(one_transaction=rolling_back):
                context.run_migrations()
            connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
            connection.commit()
        except FAILED as error:
            connection.rollback()
            held = _holders(connection, error)
            raise refusals.from_error(error, (
                f"nothing was changed: the database is still at {heads[0]}"
                if adopting or rolling_back
                else "each revision is its own transaction: the one that failed changed "
                     f"nothing, {_where(connection)}"), held) from error


if context.is_offline_mode():
    run_offline()
else:
    run_online()
