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


# The revision that adopts a production database (README, "Adopting a production database").
ADOPTION = "0002_mockbook_1_0"


def _load_dependents():
    spec = importlib.util.spec_from_file_location(
        "mockbook_adoption_dependents", Path(__file__).with_name("dependents.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dependents = _load_dependents()


def _upgrades_through_adoption() -> bool:
    """The command upgrades to the adoption's revision or past it."""
    target = context.get_revision_argument()
    if not isinstance(target, str) or target.startswith("-"):
        return False
    try:
        return any(r is not None and r.revision == ADOPTION
                   for r in context.script.iterate_revisions(target, "0001_baseline"))
    except Exception:  # a downgrade or a relative target: not an upgrade through the adoption
        return False


def _configure(per_migration: bool = True, **kwargs: object) -> None:
    """One transaction per revision, or (``per_migration=False``: the adoption and its
    rollback) one the runner commits itself."""
    context.configure(
        transaction_per_migration=per_migration,
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


# Adoption (a production database stamped 0001_baseline, upgraded through the adoption's
# revision): all or nothing, in ONE transaction, so the old apps calling production's functions
# meanwhile never see an intermediate state (the upgrade renames the enum production's
# create_booking_atomic uses) and a failure leaves production exactly as it was.
# The tables the revisions rewrite are locked up front by ONE statement, in the lock order of
# docs/rpc.md (contacts, bookings, exams, then sync_metadata), its wait bounded by
# MOCKBOOK_ADOPTION_LOCK_TIMEOUT (default 1s): a waiting ACCESS EXCLUSIVE request queues every
# later caller of those tables behind it, so the upgrade never waits long. On a lock timeout
# (55P03) or a deadlock with a live call (40P01) the whole transaction is rolled back (it holds
# nothing then) and tried again, at most MOCKBOOK_ADOPTION_ATTEMPTS times (default 10), after
# 0.5 s, 1 s, 2 s ... (at most 10 s) in which the callers go on. The frozen revisions run a
# *.nontx.sql file outside their transaction (CREATE INDEX CONCURRENTLY): in this one-transaction
# run those statements run inside it, their index statements without CONCURRENTLY (the tables
# are locked anyway); every other statement, and every function body, runs as frozen. An
# already adopted database is upgraded as before, one transaction per revision, CONCURRENTLY
# kept.
ADOPTION_LOCKS = (
    "hubspot_sync.hubspot_contact_credits", "hubspot_sync.hubspot_bookings",
    "hubspot_sync.hubspot_mock_exams", "hubspot_sync.sync_metadata",
)
RETRIED = ("55P03", "40P01")


# Calls already inside production's functions when the adoption commits. Such a call waits on
# the adoption's locks inside the old body; after the commit that body would go on against the
# new schema and fail with a raw error (42704 type "mock_set_enum" does not exist, 42501) or
# write past the ledger. So before the adoption's transaction, one short transaction of its own
# puts a copy of each of production's booking API functions in the schema ADOPTION_CALLS and
# turns the function itself (same oid, owner, privileges and comment) into a wrapper that calls
# the copy: a call that ends after the adoption committed (production's enum renamed) answers
# UNAVAILABLE (PT503: nothing of the call kept, retry it: it then reaches mockbook's function);
# before, every answer and error is the copy's own. The adoption replaces or drops the wrappers
# and drops the schema of copies; if it fails, the original bodies are put back.
ADOPTION_CALLS = "mockbook_adoption_calls"
WRAPPED = (
    "hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text,"
    " text, integer, text)",
    "hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text,"
    " text, integer)",
    "hubspot_sync.cancel_booking_atomic(uuid, text, integer)",
    "hubspot_sync.get_booking(uuid, text, text)",
    "hubspot_sync.get_contact_credits(text, text, uuid, text)",
    "hubspot_sync.check_idempotency_key(text)",
    "hubspot_sync.increment_exam_bookings(text, integer)",
)
WRAP_SQL = r"""
DO $wrap$
DECLARE
    f record;
    g record;
    v_copy text;
    v_call text;
    v_run text;
    v_void boolean;
    v_unavailable text := 'RAISE EXCEPTION USING ERRCODE = ''PT503'', MESSAGE = ''UNAVAILABLE'','
        || ' DETAIL = ''The database was upgraded to mockbook while this call of production''''s'
        || ' function ran. Nothing of the call was kept.'', HINT = ''Nothing was changed; retry'
        || ' the same call (same idempotency key) once the database takes writes again.''';
    -- once the adoption committed, production's enum is renamed
    v_adopted text := 'pg_catalog.to_regtype(''hubspot_sync.mock_set_enum'') IS NULL';
BEGIN
    IF pg_catalog.to_regtype('hubspot_sync.mock_set_enum') IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE SCHEMA %%I', %(schema)s);
    EXECUTE format('REVOKE ALL ON SCHEMA %%I FROM PUBLIC', %(schema)s);
    EXECUTE format('GRANT USAGE ON SCHEMA %%I TO PUBLIC', %(schema)s);
    FOR f IN
        SELECT p.oid, p.proname, p.pronargs, p.proretset,
               p.prorettype = 'void'::regtype AS void,
               pg_catalog.pg_get_function_arguments(p.oid) AS args,
               pg_catalog.pg_get_function_identity_arguments(p.oid) AS ident,
               pg_catalog.pg_get_function_result(p.oid) AS result,
               pg_catalog.pg_get_functiondef(p.oid) AS definition,
               pg_catalog.pg_get_userbyid(p.proowner) AS owner,
               coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner)) AS acl
        FROM unnest(%(wrapped)s::text[]) AS w(fn)
        JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(w.fn)
        WHERE p.prokind = 'f' AND NOT coalesce(p.proargmodes && '{o,b,v}'::"char"[], false)
    LOOP
        -- the copy: production's definition in the schema of copies, owned as the function,
        -- executable by whoever may execute the function
        EXECUTE regexp_replace(f.definition, '^CREATE OR REPLACE FUNCTION hubspot_sync\.',
                               format('CREATE FUNCTION %%I.', %(schema)s));
        v_copy := format('%%I.%%I(%%s)', %(schema)s, f.proname, f.ident);
        EXECUTE format('ALTER FUNCTION %%s OWNER TO %%I', v_copy, f.owner);
        EXECUTE format('REVOKE ALL ON FUNCTION %%s FROM PUBLIC', v_copy);
        FOR g IN SELECT DISTINCT a.grantee FROM aclexplode(f.acl) AS a LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %%s TO %%s', v_copy,
                           CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
        END LOOP;
        v_call := format('%%I.%%I(%%s)', %(schema)s, f.proname,
                         coalesce((SELECT string_agg('$' || i, ', ')
                                   FROM generate_series(1, f.pronargs) AS i), ''));
        v_void := f.proretset OR f.void;
        v_run := CASE WHEN f.proretset THEN 'RETURN QUERY SELECT * FROM ' || v_call
                      WHEN f.void THEN 'PERFORM ' || v_call
                      ELSE 'v_result := ' || v_call END;
        -- the wrapper: CREATE OR REPLACE keeps the function's oid, owner, privileges, comment
        EXECUTE format(
            'CREATE OR REPLACE FUNCTION hubspot_sync.%%I(%%s) RETURNS %%s LANGUAGE plpgsql AS %%L',
            f.proname, f.args, f.result,
            E'\n-- ' || %(schema)s || E': production''s function while mockbook adopts\n'
            || CASE WHEN v_void THEN '' ELSE 'DECLARE v_result ' || f.result || E';\n' END
            || E'BEGIN\n    ' || v_run || E';\n    IF ' || v_adopted || E' THEN\n        '
            || v_unavailable || E';\n    END IF;\n    RETURN'
            || CASE WHEN v_void THEN '' ELSE ' v_result' END
            || E';\nEXCEPTION WHEN OTHERS THEN\n    IF NOT (' || v_adopted
            || E') THEN\n        RAISE;\n    END IF;\n    ' || v_unavailable || E';\nEND\n');
    END LOOP;
END
$wrap$
"""
# the original bodies back in place of the wrappers the adoption left (all of them, after a
# failed adoption), with the settings the adoption gave them since; then no schema of copies
UNWRAP_SQL = r"""
DO $unwrap$
DECLARE
    f record;
    c text;
BEGIN
    IF pg_catalog.to_regnamespace(%(schema)s) IS NULL THEN
        RETURN;
    END IF;
    FOR f IN
        SELECT w.oid::regprocedure::text AS wrapper, w.proconfig,
               pg_catalog.pg_get_functiondef(c.oid) AS definition
        FROM pg_catalog.pg_proc c
        JOIN pg_catalog.pg_proc w
          ON w.pronamespace = 'hubspot_sync'::regnamespace AND w.proname = c.proname
         AND w.proargtypes = c.proargtypes
        WHERE c.pronamespace = pg_catalog.to_regnamespace(%(schema)s)
          AND w.prosrc LIKE '%%' || %(schema)s || ': production''s function%%'
    LOOP
        EXECUTE regexp_replace(f.definition,
                               format('^CREATE OR REPLACE FUNCTION %%I\.', %(schema)s),
                               'CREATE OR REPLACE FUNCTION hubspot_sync.');
        FOREACH c IN ARRAY coalesce(f.proconfig, '{}') LOOP
            EXECUTE format('ALTER FUNCTION %%s SET %%I = %%s', f.wrapper,
                           split_part(c, '=', 1), substr(c, strpos(c, '=') + 1));
        END LOOP;
    END LOOP;
    EXECUTE format('DROP SCHEMA %%I CASCADE', %(schema)s);
END
$unwrap$
"""


def _sql(template: str) -> str:
    return template % {"schema": _literal(ADOPTION_CALLS),
                       "wrapped": _literal("{" + ",".join(f'"{fn}"' for fn in WRAPPED) + "}")}


def _wrap(connection: sa.Connection, timeout: str) -> None:
    """The wrappers, committed before the adoption's transaction starts."""
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {_literal(timeout)}")
    _driver(connection, _sql(UNWRAP_SQL))  # what an interrupted run left
    _driver(connection, _sql(WRAP_SQL))
    connection.commit()


def _unwrap(connection: sa.Connection) -> None:
    """Production's function bodies back (in the caller's transaction)."""
    _driver(connection, _sql(UNWRAP_SQL))


def _driver(connection: sa.Connection, sql: str) -> None:
    """SQL run as it is (no bind parameters), as the revisions run theirs."""
    connection.exec_driver_sql("SELECT 1")  # the transaction begun on SQLAlchemy's side too
    connection.connection.driver_connection.execute(sql)


def _adopting(heads: tuple[str, ...]) -> bool:
    return heads == ("0001_baseline",) and _upgrades_through_adoption()


def _rolling_back(heads: tuple[str, ...]) -> bool:
    """The command steps a database at the adoption's revision or later down below it."""
    if context.get_context().as_sql or len(heads) != 1 or heads[0] == "0001_baseline":
        return False
    try:
        target = context.get_revision_argument()
        return isinstance(target, str) and any(
            r is not None and r.revision == ADOPTION
            for r in context.script.iterate_revisions(heads[0], target,
                                                      select_for_downgrade=True))
    except Exception:  # no target (a caller's own run), or an upgrade: not a rollback
        return False


# CONCURRENTLY of an index statement, the only form a *.nontx.sql file may take it in
_CONCURRENT_INDEX = re.compile(r"\b((?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+|RE)INDEX)\s+CONCURRENTLY\b",
                               re.IGNORECASE)


@contextlib.contextmanager
def _in_one_transaction():
    """The frozen runners' non-transactional steps, run inside the adoption's transaction: only
    the statements of a *.nontx.sql file (inside the runner's autocommit_block) lose the
    CONCURRENTLY of their index statement; every other SQL, function bodies included, runs
    exactly as frozen."""
    ctx = context.get_context()
    nontx = [False]

    @contextlib.contextmanager
    def in_transaction():
        nontx[0] = True
        try:
            yield
        finally:
            nontx[0] = False

    patched = []
    for rev in context.script.walk_revisions():
        module = rev.module
        original = getattr(module, "_execute", None)
        if original is None:
            continue

        def execute(sql: str, _original=original) -> None:
            _original(_CONCURRENT_INDEX.sub(r"\1", sql) if nontx[0] else sql)

        module._execute = execute
        patched.append((module, original))
    ctx.autocommit_block = in_transaction
    try:
        yield
    finally:
        del ctx.autocommit_block
        for module, original in patched:
            module._execute = original


def _adopt(connection: sa.Connection, heads: tuple[str, ...]) -> None:
    timeout = os.environ.get("MOCKBOOK_ADOPTION_LOCK_TIMEOUT", "1s")
    attempts = max(1, int(os.environ.get("MOCKBOOK_ADOPTION_ATTEMPTS", "10")))
    _configure(per_migration=False, connection=connection)
    _wrap(connection, timeout)
    try:
        _attempts(connection, heads, timeout, attempts)
    except BaseException:
        connection.rollback()
        _unwrap(connection)
        connection.commit()
        raise


def _attempts(connection: sa.Connection, heads: tuple[str, ...], timeout: str,
              attempts: int) -> None:
    for attempt in range(1, attempts + 1):
        try:
            with _in_one_transaction():
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = {_literal(timeout)}")
                # objects outside mockbook that the DDL below would fail on: named, nothing done
                # (read from the catalogs before any lock: a refusal never blocks a caller)
                blocking = list(connection.exec_driver_sql(dependents.DEPENDENTS_SQL))
                if blocking:
                    connection.rollback()
                    raise SystemExit(
                        "mockbook: the adoption would fail on objects built on what it changes; "
                        f"nothing was changed, the database is still at {heads[0]}. Drop or "
                        "change these first (re-create them after, on the new types):\n"
                        + "\n".join(f"  {dependent} uses {target}, which revision {rev} "
                                     f"{change}" for rev, dependent, target, change in blocking))
                timeouts = dependents.api_timeouts(
                    connection.exec_driver_sql(dependents.API_TIMEOUTS_SQL))
                # one statement: the tables locked in the order listed, one bounded wait
                requested = time.monotonic()
                connection.exec_driver_sql(
                    f"LOCK TABLE {', '.join(ADOPTION_LOCKS)} IN ACCESS EXCLUSIVE MODE")
                locked = time.monotonic()
                context.run_migrations()
                _unwrap(connection)
                connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
                connection.commit()
            done = time.monotonic()
            _report_window(attempt, attempts, done - locked, dependents.exceeded(
                timeouts, done - requested))
            return
        except sa.exc.DBAPIError as error:
            connection.rollback()
            state = getattr(getattr(error, "orig", None), "sqlstate", None)
            if state in RETRIED and attempt < attempts:
                print(f"mockbook: adoption attempt {attempt} of {attempts} rolled back "
                      f"({state}: a lock held by a live call); trying again", file=sys.stderr)
                time.sleep(min(10.0, 0.5 * 2 ** (attempt - 1)))
                continue
            print(f"mockbook: the adoption was rolled back as a whole: nothing was changed, the "
                  f"database is still at {heads[0]} ({attempt} attempt(s))", file=sys.stderr)
            raise


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


@contextlib.contextmanager
def _reporting():
    """``config.attributes["progress"]`` (glue.db.migrations.upgrade's), called after each
    statement group a revision's runner passes to its ``_execute``."""
    progress = config.attributes.get("progress")
    if progress is None:
        yield
        return
    patched = []
    for rev in context.script.walk_revisions():
        module = rev.module
        original = getattr(module, "_execute", None)
        if original is None:
            continue

        def execute(sql: str, _original=original) -> None:
            _original(sql)
            if not context.get_context().as_sql:
                progress()

        module._execute = execute
        patched.append((module, original))
    try:
        yield
    finally:
        for module, original in patched:
            module._execute = original


def _run_with(connection: sa.Connection) -> None:
    connection.exec_driver_sql(LOCK_TIMEOUT)
    connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    connection.exec_driver_sql(f"REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC")
    connection.commit()
    _configure(connection=connection)
    heads = context.get_context().get_current_heads()
    with _reporting():
        if _adopting(heads):
            _adopt(connection, heads)
            return
        if _rolling_back(heads):
            # the way back to the production schema is all or nothing, as the adoption was: one
            # transaction, the frozen index steps (*.nontx.sql) run inside it
            _configure(per_migration=False, connection=connection)
            with _in_one_transaction():
                context.run_migrations()
        else:
            context.run_migrations()
    connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
    connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
