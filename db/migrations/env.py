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


# Adoption: a data repair run just before 0004_constraints (README: "An existing production
# database"). The admin app writes attendance '' for an un-marked booking; 0004's frozen check
# refuses any attendance but 'Yes'/'No'/NULL, and '' means "not marked": NULL. Each row changed
# is one hubspot_sync.adoption_report row (the dry run, glue/db/adoption.py, lists the same).
# It lives here, not in a revision, because the committed revisions are frozen and 0004 comes
# first of those that check the rows; it changes no schema object, so the catalog of a new
# database is unchanged (on one, there is no such row: nothing happens).
BEFORE_CONSTRAINTS = "0003_supabase_roles"
CONSTRAINTS = "0004_constraints"
UNMARKED_ATTENDANCE = """
WITH changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b SET attendance = NULL
    FROM (SELECT id, attendance AS old FROM hubspot_sync.hubspot_bookings
          WHERE btrim(attendance) = '') AS o
    WHERE b.id = o.id
    RETURNING b.id, o.old
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0004_constraints', 'unmarked attendance (empty) set to NULL',
       'hubspot_bookings.attendance', id::text, old, NULL
FROM changed
"""

# Bookings written before production added mock_type and exam_date hold NULLs there and name
# their exam only in associated_mock_exam. They get their exam's values: a booking's mock type
# and day are its exam's (create_booking copies them), 0004's frozen pre-check would otherwise
# group the NULLs together as "two bookings of one type on one day", and create_booking's
# one-seat-per-type-and-day check (step 7) would not see the legacy seat. A booking whose exam
# is unknown keeps its NULLs. One report row per value copied.
LEGACY_TYPE_AND_DAY = """
WITH changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET mock_type = coalesce(b.mock_type, o.exam_type),
        exam_date = coalesce(b.exam_date, o.exam_day)
    FROM (SELECT l.id, l.mock_type IS NULL AS no_type, l.exam_date IS NULL AS no_day,
                 e.mock_type AS exam_type, e.exam_date AS exam_day
          FROM hubspot_sync.hubspot_bookings AS l
          JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = l.associated_mock_exam
          WHERE (l.mock_type IS NULL AND e.mock_type IS NOT NULL)
             OR (l.exam_date IS NULL AND e.exam_date IS NOT NULL)) AS o
    WHERE b.id = o.id
    RETURNING b.id, CASE WHEN o.no_type THEN o.exam_type END AS new_type,
              CASE WHEN o.no_day THEN o.exam_day END AS new_day
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0004_constraints', 'legacy booking: copied from its exam', v.object, c.id::text, NULL,
       v.value
FROM changed AS c,
     LATERAL (VALUES ('hubspot_bookings.mock_type', c.new_type),
                     ('hubspot_bookings.exam_date', c.new_day::text)) AS v (object, value)
WHERE v.value IS NOT NULL
"""


def _before_constraints(*, ctx, step, heads, run_args) -> None:
    """on_version_apply: right after the upgrade step to 0003 (in its transaction), so the
    repairs are in place when 0004 checks the rows."""
    if step.is_upgrade and not step.is_stamp and step.up_revision_id == BEFORE_CONSTRAINTS:
        ctx.execute(UNMARKED_ATTENDANCE)
        ctx.execute(LEGACY_TYPE_AND_DAY)


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
        connection.exec_driver_sql(UNMARKED_ATTENDANCE)
        connection.commit()
    context.run_migrations()
    connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
    connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
