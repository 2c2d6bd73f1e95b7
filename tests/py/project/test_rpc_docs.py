"""The RPC reference (docs/rpc.md) cannot drift from the functions: its per-function sections are
generated from the catalog (each function's COMMENT ON FUNCTION and signature, glue.db.rpcdoc)
and must equal what the schema gives now; every function of the API is in them exactly once;
every error code raise_error knows is in the reference's error table, and in docs/apps.md's with
its SQLSTATE; the pages say which tables the service key writes, as the catalog has it."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from test_adopt_production import NOT_OWNED

from glue.db import rpcdoc, tstypes

RPC_DOC = Path(__file__).resolve().parents[3] / "docs" / "rpc.md"
PUBLIC = [
    "create_booking", "cancel_booking", "cancel_bookings", "admin_create_booking", "rebook",
    "mark_attendance", "set_exam_capacity", "adjust_credits", "get_credit_summary",
    "list_available_exams", "list_contact_bookings", "get_contact_credits", "get_booking",
    "check_idempotency_key", "create_booking_atomic", "cancel_booking_atomic",
    "increment_exam_bookings", "update_exam_prerequisites", "set_exam_prerequisites",
    "set_booking_rule", "join_waitlist", "leave_waitlist", "accept_offer", "process_waitlist",
    "complete_past_bookings",
]


def test_the_generated_reference_is_the_catalogs(db: psycopg.Connection) -> None:
    """docs/rpc.md's generated blocks are exactly the comments and signatures of the schema
    (after editing a COMMENT ON FUNCTION: python -m glue.db.rpcdoc)."""
    doc = RPC_DOC.read_text()
    assert rpcdoc.block_names(doc), "docs/rpc.md has no <!-- rpcdoc: ... --> block"
    assert rpcdoc.RULES_BLOCK.search(doc), "docs/rpc.md has no <!-- rpcdoc-rules --> block"
    assert rpcdoc.render(doc, db) == doc, (
        "docs/rpc.md differs from the catalog's comments: run python -m glue.db.rpcdoc")


def test_every_api_function_is_generated_once(db: psycopg.Connection) -> None:
    """Every function an app may call that mockbook owns (production's kept functions aside) is
    named in exactly one generated block, and has a comment there."""
    doc = RPC_DOC.read_text()
    named = [name for names in rpcdoc.block_names(doc) for name in names]
    assert len(named) == len(set(named)), "a function is in two blocks"
    kept = doc.split("\n## Production functions kept as they are", 1)[1].split("\n## ", 1)[0]
    production = set(re.findall(r"^### ([a-z_0-9]+) \(production\)", kept, re.M))
    api = {name for (name,) in db.execute(
        "SELECT p.proname FROM pg_proc AS p WHERE p.pronamespace = 'hubspot_sync'::regnamespace"
        " AND (has_function_privilege('service_role', p.oid, 'EXECUTE')"
        "      OR has_function_privilege('authenticated', p.oid, 'EXECUTE'))").fetchall()}
    assert sorted(api - production - set(named)) == [], "API functions missing from the blocks"
    assert sorted(set(named) - api) == [], "blocks name functions that are not the API"


def test_comments_describe_behaviour_not_history(db: psycopg.Connection) -> None:
    """A function's comment says what a call does: no revision numbers, no "used to"."""
    history = re.compile(r"\b(revision (?!0001)\d{4}|(?!0001)\d{4}_[a-z]|used to|was a raw|before "
                         r"revision|previously|the original wrote)\b", re.I)
    rows = db.execute(
        "SELECT p.proname, obj_description(p.oid, 'pg_proc') FROM pg_proc AS p"
        " WHERE p.pronamespace IN ('hubspot_sync'::regnamespace,"
        "                          'mockbook_internal'::regnamespace)").fetchall()
    offenders = sorted(f"{name}: {m.group(0)}" for name, comment in rows
                       if comment and (m := history.search(comment)))
    assert offenders == []


def test_db_sources_name_no_intermediate_revision() -> None:
    """The SQL under db/ (what people edit) says what is, not which revision made it so: no
    revision but 0001_baseline, the production schema, is named."""
    revision = re.compile(r"\brevisions? (?!0001)\d{4}|\b(?!0001)\d{4}_[a-z]")
    db_dir = RPC_DOC.parents[1] / "db"
    offenders = [
        f"{path.relative_to(db_dir)}:{n}" for folder in ("schema", "functions", "triggers", "views")
        for path in sorted((db_dir / folder).rglob("*.sql"))
        for n, line in enumerate(path.read_text().splitlines(), 1) if revision.search(line)
    ]
    assert offenders == []


def documented_signature(doc: str, name: str) -> list[str]:
    """Parameter names in the first code block of the `### name` section."""
    section = re.search(rf"^### {name}\b.*?\n```\n(.*?)\n```", doc, re.M | re.S)
    assert section, f"docs/rpc.md has no section with a signature block for {name}"
    signature = section.group(1)
    assert signature.startswith(f"{name}("), f"{name}: the block does not start with its name"
    return re.findall(r"\b(p_[a-z_]+)\s+[a-z]", signature)


@pytest.mark.parametrize("name", PUBLIC)
def test_reference_matches_the_catalog(db: psycopg.Connection, name: str) -> None:
    row = db.execute(
        "SELECT proargnames, pronargs FROM pg_proc "
        "WHERE pronamespace = 'hubspot_sync'::regnamespace AND proname = %s", (name,)
    ).fetchall()
    assert len(row) == 1, f"{name}: expected exactly one function, found {len(row)}"
    names, nargs = row[0]
    assert documented_signature(RPC_DOC.read_text(), name) == list(names[:nargs])


def test_every_error_code_is_in_the_reference(db: psycopg.Connection) -> None:
    body = db.execute(
        "SELECT pg_get_functiondef('mockbook_internal.raise_error(text, text, text)'::regprocedure)"
    ).fetchone()[0]
    codes = set(re.findall(r"\('([A-Z_]+)', 'PT\d{3}'", body))
    assert len(codes) >= 19
    errors = RPC_DOC.read_text().split("## Errors", 1)[1]
    missing = sorted(code for code in codes if code not in errors)
    assert not missing, f"docs/rpc.md's error table lacks {missing}"


# --- the sealed API ----------------------------------------------------------


def documented_functions(doc: str) -> set[str]:
    """Function names of the `###` sections before the lock order: `### name`, `### name
    (compatibility)`, `### Helpers: a, b`."""
    names: set[str] = set()
    for heading in re.findall(r"^### (.+)$", doc.split("\n## Lock order", 1)[0], re.M):
        heading = re.sub(r"\(.*?\)", "", heading).replace("Helpers:", "")
        names.update(n.strip() for n in heading.split(",") if n.strip())
    return names


def documented_glue_functions(doc: str) -> set[str]:
    """The names of the glue's bullet in the mockbook_internal section."""
    section = doc.split("## Internal schema `mockbook_internal`", 1)[1]
    bullet = section.split("- **The glue's functions**", 1)[1].split("\n- **", 1)[0]
    bullet = bullet.split("The glue also calls", 1)[0]
    return set(re.findall(r"`([a-z_]+)`", bullet)) - {"mockbook_glue", "mockbook"}


def test_the_api_is_exactly_the_documented_contract(db: psycopg.Connection) -> None:
    """Both ways: every function of hubspot_sync that service_role or authenticated may EXECUTE
    has a section in docs/rpc.md, every section names such a function, and nothing else in
    hubspot_sync is executable by PUBLIC, anon, authenticated or service_role."""
    documented = documented_functions(RPC_DOC.read_text())
    assert len(documented) >= 30 and "create_booking" in documented
    executable = {name for (name,) in db.execute(
        "SELECT p.proname FROM pg_proc AS p WHERE p.pronamespace = 'hubspot_sync'::regnamespace"
        " AND (has_function_privilege('service_role', p.oid, 'EXECUTE')"
        "      OR has_function_privilege('authenticated', p.oid, 'EXECUTE'))").fetchall()}
    assert sorted(executable - documented) == [], "callable but not in docs/rpc.md"
    assert sorted(documented - executable) == [], "in docs/rpc.md but not callable"
    others = db.execute(
        """SELECT p.oid::regprocedure::text || ' by ' || r.rolname
           FROM pg_proc AS p
           CROSS JOIN (VALUES ('public'), ('anon'), ('authenticated'), ('service_role'))
                AS r (rolname)
           WHERE p.pronamespace = 'hubspot_sync'::regnamespace
             AND NOT (p.proname = ANY(%s))
             AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')""",
        [sorted(documented)]).fetchall()
    assert others == []
    # and the request roles other than service_role may call none of them
    assert db.execute(
        "SELECT count(*) FROM pg_proc AS p WHERE p.pronamespace = 'hubspot_sync'::regnamespace"
        " AND (has_function_privilege('public', p.oid, 'EXECUTE')"
        "      OR has_function_privilege('anon', p.oid, 'EXECUTE'))").fetchone()[0] == 0


def test_the_glue_functions_are_the_documented_ones(db: psycopg.Connection) -> None:
    """The functions of mockbook_internal that mockbook_glue may EXECUTE are exactly those the
    internal section of docs/rpc.md lists as the glue's."""
    documented = documented_glue_functions(RPC_DOC.read_text())
    granted = {name for (name,) in db.execute(
        "SELECT p.proname FROM pg_proc AS p"
        " WHERE p.pronamespace = 'mockbook_internal'::regnamespace"
        " AND has_function_privilege('mockbook_glue', p.oid, 'EXECUTE')").fetchall()}
    assert len(granted) >= 25
    assert sorted(granted - documented) == [], "granted to mockbook_glue but not documented"
    assert sorted(documented - granted) == [], "documented as the glue's but not granted"


# --- every write can be retried ------------------------------------------------


def documented_write_split(doc: str) -> tuple[set[str], set[str]]:
    """(keyed, unkeyed) from the Idempotency section: the names of the Bookings bullet and of
    the "Every other write RPC" bullet, and those of "The remaining writes — ... — take no key"."""
    section = " ".join(doc.split("\n## Idempotency", 1)[1].split("\n## ", 1)[0].split())
    bookings = section.split("- **Bookings** (", 1)[1].split(") **require**", 1)[0]
    others = section.split("- **Every other write RPC** —", 1)[1].split("—", 1)[0]
    remaining = section.split("The remaining writes —", 1)[1].split("— take no key", 1)[0]
    names = re.compile(r"`([a-z_0-9]+)`")
    keyed = set(names.findall(bookings)) | set(names.findall(others))
    return keyed, set(names.findall(remaining))


def test_every_write_takes_a_key_or_is_documented_as_idempotent_by_nature(
        db: psycopg.Connection) -> None:
    """Each VOLATILE function an app may call (production's kept functions aside: they are reads
    of tables mockbook does not own) either has a p_idempotency_key parameter and is named keyed
    in docs/rpc.md's Idempotency section, or has none and is in its list of writes that take no
    key. A new write RPC without a key, or a keyed one left out of the section, fails here."""
    doc = RPC_DOC.read_text()
    keyed_doc, unkeyed_doc = documented_write_split(doc)
    assert {"adjust_credits", "cancel_booking", "rebook"} <= keyed_doc
    kept = doc.split("\n## Production functions kept as they are", 1)[1].split("\n## ", 1)[0]
    production = set(re.findall(r"^### ([a-z_0-9]+) \(production\)", kept, re.M))
    assert production, "no production section found in docs/rpc.md"
    rows = db.execute(
        "SELECT p.proname, 'p_idempotency_key' = ANY(coalesce(p.proargnames, '{}'))"
        " FROM pg_proc AS p WHERE p.pronamespace = 'hubspot_sync'::regnamespace"
        " AND p.provolatile = 'v' AND p.prorettype <> 'trigger'::regtype"
        " AND has_function_privilege('service_role', p.oid, 'EXECUTE')"
        " AND NOT (p.proname = ANY(%s))", [sorted(production)]).fetchall()
    with_key = {name for name, keyed in rows if keyed}
    without_key = {name for name, keyed in rows if not keyed}
    # accept_offer is a booking with a key of its own (made from the place), not a parameter
    assert sorted(with_key ^ (keyed_doc - {"accept_offer"})) == [], "keyed writes vs the docs"
    assert sorted(without_key ^ unkeyed_doc) == [], "writes without a key vs the docs"


# --- the apps' page and the README -------------------------------------------------------------

ROOT = RPC_DOC.parents[1]
APPS_DOC = ROOT / "docs" / "apps.md"
WRITABLE = """
SELECT c.relname FROM pg_catalog.pg_class AS c
WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
  AND (has_table_privilege('service_role', c.oid, 'INSERT')
       OR has_table_privilege('service_role', c.oid, 'UPDATE')
       OR has_table_privilege('service_role', c.oid, 'DELETE')
       OR has_table_privilege('service_role', c.oid, 'TRUNCATE'))
ORDER BY 1
"""


def test_the_apps_error_table_is_raise_errors_table(db: psycopg.Connection) -> None:
    """docs/apps.md's error table names every code raise_error knows, each with its SQLSTATE,
    and no other."""
    table = APPS_DOC.read_text().split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, str] = {}
    for codes, state in re.findall(r"^\| (.+) \| (PT\d{3}) \|$", table, re.M):
        for code in re.findall(r"\b[A-Z][A-Z_]*[A-Z]\b", re.sub(r"\(.*?\)", "", codes)):
            assert code not in documented, f"{code} twice in docs/apps.md's error table"
            documented[code] = state
    assert documented == tstypes.error_codes(db)
    assert documented["UNAVAILABLE"] == "PT503"


def test_the_docs_name_the_tables_the_service_key_writes(db: psycopg.Connection) -> None:
    """The README, docs/apps.md and docs/rpc.md say which tables the service key writes, and
    they are exactly the ones service_role may write: the production tables mockbook does not
    own."""
    writable = [name for (name,) in db.execute(WRITABLE).fetchall()]
    assert writable == sorted(NOT_OWNED)
    for page in (ROOT / "README.md", APPS_DOC, RPC_DOC):
        text = " ".join(page.read_text().split())
        said = re.findall(r"The service key writes only the seven production tables mockbook "
                          r"does not own: ([^.(]+)", text)
        assert len(said) == 1, f"{page.name} does not say which tables the service key writes"
        assert sorted(re.findall(r"`(\w+)`", said[0])) == writable, page.name
        assert "but not write them" not in text, page.name
