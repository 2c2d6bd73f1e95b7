"""The suite runs the glue as the DBA would: as a LOGIN role granted the NOLOGIN template
``mockbook_glue`` (db/schema/02_mockbook_internal.sql), never as the schema owner or a superuser.

``ensure_glue_login(owner_url)`` creates that login role on the test server when missing (roles
are cluster-wide; parallel runs may race, so a concurrent creation is not an error) and
``glue_url(url)`` is the same database's URL as that role. Migrations and test fixtures that
seed rows still connect as the owner (``url``); whatever the glue itself does goes through
``glue_url(url)``.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

GLUE_LOGIN = "mockbook_test_glue"

_ENSURE = f"""
DO $$
BEGIN
    BEGIN
        CREATE ROLE {GLUE_LOGIN} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another test process created it first
    END;
    IF NOT pg_has_role('{GLUE_LOGIN}', 'mockbook_glue', 'MEMBER') THEN
        BEGIN
            GRANT mockbook_glue TO {GLUE_LOGIN};
        EXCEPTION WHEN unique_violation OR duplicate_object THEN
            NULL;
        END;
    END IF;
END
$$
"""


def ensure_glue_login(owner_url: str) -> None:
    """Create the glue's login role (a member of mockbook_glue) when missing. On a server that
    asks for passwords (DATABASE_URL with one), the role gets the owner's password, which
    ``glue_url`` keeps."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(_ENSURE)
        if password := conninfo_to_dict(owner_url).get("password"):
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(GLUE_LOGIN), sql.Literal(str(password))
                )
            )


def glue_url(url: str) -> str:
    """``url`` with the glue's login role as its user (same server and database)."""
    params = conninfo_to_dict(url)
    params["user"] = GLUE_LOGIN
    return make_conninfo(**params)
