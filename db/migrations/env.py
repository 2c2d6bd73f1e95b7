"""Alembic environment for mockbook: raw SQL revisions, no SQLAlchemy models.

The version table lives in its own schema (`mockbook.alembic_version`) so that it is neither in
the API schema `hubspot_sync` nor in `public`, where Supabase grants anon access by default.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

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


def _configure(**kwargs: object) -> None:
    context.configure(
        transaction_per_migration=True,
        version_table_schema=VERSION_SCHEMA,
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
    context.run_migrations()
    connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
    connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
