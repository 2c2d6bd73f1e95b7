"""Alembic environment for mockbook: raw SQL revisions, no SQLAlchemy models.

The version table lives in its own schema (`mockbook.alembic_version`) so that it is neither in
the API schema `hubspot_sync` nor in `public`, where Supabase grants anon access by default.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import time
from logging.config import fileConfig
from pathlib import Path

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


# Adoption repairs (db/migrations/repairs.py) run around 0004_constraints, the first revision
# that checks the rows: before it, the data the old apps wrote that 0004 would refuse; after it,
# what needs its constraints in place.
BEFORE_CONSTRAINTS = "0003_supabase_roles"
CONSTRAINTS = "0004_constraints"


def _load_repairs():
    spec = importlib.util.spec_from_file_location(
        "mockbook_adoption_repairs", Path(__file__).with_name("repairs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


repairs = _load_repairs()


def _before_constraints(*, ctx, step, heads, run_args) -> None:
    """on_version_apply: right after the upgrade step to 0003 (in its transaction), so the
    repairs are in place when 0004 checks the rows."""
    # only when this run goes on through 0004: an upgrade that stops at 0003 leaves the rows
    # as they are (the repairs set flagged duplicates' student_id aside until the adoption's
    # end puts it back, which such a run never reaches); they run when it goes on
    if (step.is_upgrade and not step.is_stamp and step.up_revision_id == BEFORE_CONSTRAINTS
            and _upgrades_through_constraints()):
        for sql in repairs.BEFORE_CONSTRAINTS_SQL:
            ctx.execute(sql)
    if step.is_upgrade and not step.is_stamp and step.up_revision_id == CONSTRAINTS:
        for sql in repairs.AFTER_CONSTRAINTS_SQL:
            ctx.execute(sql)


def _upgrades_through_constraints() -> bool:
    """The command upgrades to 0004 or past it (a database left at 0003, e.g. by an upgrade
    that 0004 refused before this repair existed, gets the repair before the step)."""
    target = context.get_revision_argument()
    if not isinstance(target, str) or target.startswith("-"):
        return False
    try:
        return any(r is not None and r.revision == CONSTRAINTS
                   for r in context.script.iterate_revisions(target, BEFORE_CONSTRAINTS))
    except Exception:  # a downgrade or a relative target: not an upgrade through 0004
        return False


def _configure(**kwargs: object) -> None:
    context.configure(
        transaction_per_migration=True,
        version_table_schema=VERSION_SCHEMA,
        on_version_apply=_before_constraints,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=database_url(), literal_binds=True, dialect_name="postgresql")
    context.execute(LOCK_TIMEOUT)
    context.execute(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
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


# Adoption (a production database stamped 0001_baseline, or left before 0004 by an older
# version of this file, upgraded through 0004): all or nothing, in ONE transaction, so the old
# apps calling production's functions meanwhile never see an intermediate state (0002 renames the
# enum production's create_booking_atomic uses) and a failure leaves production exactly as it was.
# The tables the revisions rewrite are locked up front, in the lock order of docs/rpc.md
# (contacts, bookings, exams), then the other tables they change, each wait bounded by
# MOCKBOOK_ADOPTION_LOCK_TIMEOUT (default 5s); on a lock timeout (55P03) or a deadlock with a
# live call (40P01) the whole transaction is rolled back and tried again, at most
# MOCKBOOK_ADOPTION_ATTEMPTS times (default 5), 1 s apart, doubling. The frozen revisions run a
# *.nontx.sql file outside their transaction (CREATE INDEX CONCURRENTLY): in this one-transaction
# run those statements run inside it, without CONCURRENTLY (the tables are locked anyway), the
# revisions' SQL otherwise unchanged. An already adopted database is upgraded as before, one
# transaction per revision, CONCURRENTLY kept.
ADOPTION_FROM = ("0001_baseline", "0002_dual_id", BEFORE_CONSTRAINTS)
ADOPTION_LOCKS = (
    "hubspot_sync.hubspot_contact_credits", "hubspot_sync.hubspot_bookings",
    "hubspot_sync.hubspot_mock_exams", "hubspot_sync.sync_metadata",
)
RETRIED = ("55P03", "40P01")


def _adopting(heads: tuple[str, ...]) -> bool:
    return len(heads) == 1 and heads[0] in ADOPTION_FROM and _upgrades_through_constraints()


@contextlib.contextmanager
def _in_one_transaction():
    """The frozen runners' non-transactional steps, run inside the adoption's transaction."""
    ctx = context.get_context()
    patched = []
    for rev in context.script.walk_revisions():
        module = rev.module
        original = getattr(module, "_execute", None)
        if original is None:
            continue

        def execute(sql: str, _original=original) -> None:
            _original(re.sub(r"\bCONCURRENTLY\b", "", sql))

        module._execute = execute
        patched.append((module, original))
    ctx.autocommit_block = contextlib.nullcontext
    try:
        yield
    finally:
        del ctx.autocommit_block
        for module, original in patched:
            module._execute = original


def _adopt(connection: sa.Connection, heads: tuple[str, ...]) -> None:
    timeout = os.environ.get("MOCKBOOK_ADOPTION_LOCK_TIMEOUT", "5s")
    attempts = max(1, int(os.environ.get("MOCKBOOK_ADOPTION_ATTEMPTS", "5")))
    context.configure(connection=connection, transaction_per_migration=False,
                      version_table_schema=VERSION_SCHEMA, on_version_apply=_before_constraints)
    for attempt in range(1, attempts + 1):
        try:
            with _in_one_transaction():
                connection.exec_driver_sql(f"SET lock_timeout = {_literal(timeout)}")
                for table in ADOPTION_LOCKS:
                    connection.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                # objects outside mockbook that the DDL below would fail on: named, nothing done
                blocking = [row for row in connection.exec_driver_sql(repairs.DEPENDENTS_SQL)
                            if row[0][:4] > heads[0][:4]]
                if blocking:
                    connection.rollback()
                    raise SystemExit(
                        "mockbook: the adoption would fail on objects built on what it changes; "
                        f"nothing was changed, the database is still at {heads[0]}. Drop or "
                        "change these first (re-create them after, on the new types):\n"
                        + "\n".join(f"  {dependent} uses {target}, which revision {rev} "
                                     f"{change}" for rev, dependent, target, change in blocking))
                if heads == (BEFORE_CONSTRAINTS,):
                    for sql in repairs.BEFORE_CONSTRAINTS_SQL:
                        _run_sql(connection, sql)
                context.run_migrations()
                if context.get_context().get_current_heads() == tuple(
                        context.script.get_heads()):
                    for sql in repairs.AFTER_HEAD_SQL:
                        _run_sql(connection, sql)
                elif connection.exec_driver_sql(
                        "SELECT EXISTS (SELECT FROM hubspot_sync.hubspot_bookings"
                        f" WHERE strpos(student_id, '{repairs.DUPLICATE_SUFFIX}') > 0)"
                ).scalar():
                    connection.rollback()
                    raise SystemExit(
                        "mockbook: this database holds legacy duplicate bookings, which only the "
                        "full adoption (to head) can flag: nothing was changed, the database is "
                        f"still at {heads[0]}; upgrade to head")
                connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
                connection.commit()
            return
        except sa.exc.DBAPIError as error:
            connection.rollback()
            state = getattr(getattr(error, "orig", None), "sqlstate", None)
            if state in RETRIED and attempt < attempts:
                print(f"mockbook: adoption attempt {attempt} of {attempts} rolled back "
                      f"({state}: a lock held by a live call); trying again", file=sys.stderr)
                time.sleep(2 ** (attempt - 1))
                continue
            print(f"mockbook: the adoption was rolled back as a whole: nothing was changed, the "
                  f"database is still at {heads[0]} ({attempt} attempt(s))", file=sys.stderr)
            raise


def _run_sql(connection: sa.Connection, sql: str) -> None:
    """A repair's SQL as written, in the connection's transaction. Not exec_driver_sql: that
    hands the driver parameters, so a '%s' in the SQL's own format() became a placeholder
    (an adoption from 0003 reported '$2 Active bookings'); the revisions' runner (ctx.execute)
    sends it as it is too."""
    with connection.connection.cursor() as cursor:
        cursor.execute(sql)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _run_with(connection: sa.Connection) -> None:
    connection.exec_driver_sql(LOCK_TIMEOUT)
    connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    connection.exec_driver_sql(f"REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC")
    connection.commit()
    _configure(connection=connection)
    heads = context.get_context().get_current_heads()
    if _adopting(heads):
        _adopt(connection, heads)
        return
    if (context.get_context().get_current_heads() == (BEFORE_CONSTRAINTS,)
            and _upgrades_through_constraints()):
        for sql in repairs.BEFORE_CONSTRAINTS_SQL:
            _run_sql(connection, sql)
        connection.commit()
    context.run_migrations()
    connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
    connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
