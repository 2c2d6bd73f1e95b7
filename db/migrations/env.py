"""Alembic environment for mockbook: raw SQL revisions, no SQLAlchemy models.

The version table lives in its own schema (`mockbook.alembic_version`) so that it is neither in
the API schema `hubspot_sync` nor in `public`, where Supabase grants anon access by default.
"""

from __future__ import annotations

import importlib.util
import os
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
    if step.is_upgrade and not step.is_stamp and step.up_revision_id == BEFORE_CONSTRAINTS:
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


def _run_with(connection: sa.Connection) -> None:
    connection.exec_driver_sql(LOCK_TIMEOUT)
    connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    connection.exec_driver_sql(f"REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC")
    connection.commit()
    _configure(connection=connection)
    if (context.get_context().get_current_heads() == (BEFORE_CONSTRAINTS,)
            and _upgrades_through_constraints()):
        for sql in repairs.BEFORE_CONSTRAINTS_SQL:
            connection.exec_driver_sql(sql)
        connection.commit()
    context.run_migrations()
    connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
    connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
