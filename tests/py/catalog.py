"""Catalog snapshots: everything a schema is made of, read from pg_catalog, comparable by name.

`snapshot(conn)` returns {category: {object key: description}} for the schemas mockbook owns
(`hubspot_sync`, `mockbook_internal`, `auth`), the three Supabase roles and `mockbook_glue`.
Objects are keyed by name, never by OID or attnum, so two databases built by different routes
(Alembic revisions vs db/ applied directly) compare equal exactly when they define the same
objects. `diff(a, b)` lists only what differs.
Alembic's own version table lives in the `mockbook` schema, which is not snapshotted.
"""

from __future__ import annotations

import difflib
from typing import Any

import psycopg

SCHEMAS = ("hubspot_sync", "mockbook_internal", "auth")
ROLES = ("anon", "authenticated", "service_role", "mockbook_glue")

# A NULL acl means "the default for this kind of object": make it explicit so that
# `GRANT ... ; REVOKE ...` back to the default compares equal to never granting.
_ACL = """
    (SELECT coalesce(array_agg(e.entry ORDER BY e.entry), '{{}}')
     FROM (SELECT format('%%s:%%s%%s',
                         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                         a.privilege_type, CASE WHEN a.is_grantable THEN '*' ELSE '' END) AS entry
           FROM aclexplode(coalesce({acl}, acldefault('{kind}', {owner}))) AS a) AS e)
"""


def _acl(acl: str, kind: str, owner: str) -> str:
    return _ACL.format(acl=acl, kind=kind, owner=owner)


QUERIES: dict[str, str] = {
    "schemas": f"""
        SELECT n.nspname, jsonb_build_object(
            'owner', pg_get_userbyid(n.nspowner),
            'acl', {_acl("n.nspacl", "n", "n.nspowner")},
            'comment', obj_description(n.oid, 'pg_namespace'))
        FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s)""",
    "tables": f"""
        SELECT n.nspname || '.' || c.relname, jsonb_build_object(
            'kind', c.relkind,
            'owner', pg_get_userbyid(c.relowner),
            'rls', c.relrowsecurity,
            'force_rls', c.relforcerowsecurity,
            'options', c.reloptions,
            'persistence', c.relpersistence,
            'acl', {_acl("c.relacl", "r", "c.relowner")},
            'comment', obj_description(c.oid, 'pg_class'),
            'definition', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""",
    "columns": """
        SELECT n.nspname || '.' || c.relname || '.' || a.attname, jsonb_build_object(
            'type', format_type(a.atttypid, a.atttypmod),
            'not_null', a.attnotnull,
            'default', pg_get_expr(d.adbin, d.adrelid),
            'identity', a.attidentity,
            'generated', a.attgenerated,
            'collation', a.attcollation::regcollation::text,
            'acl', a.attacl::text[],
            'comment', col_description(c.oid, a.attnum))
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """
        SELECT n.nspname || '.' || coalesce(c.relname, t.typname) || '.' || k.conname,
               jsonb_build_object(
            'type', k.contype,
            'definition', pg_get_constraintdef(k.oid),
            'validated', k.convalidated,
            'deferrable', k.condeferrable,
            'deferred', k.condeferred)
        FROM pg_constraint k
        JOIN pg_namespace n ON n.oid = k.connamespace
        LEFT JOIN pg_class c ON c.oid = k.conrelid
        LEFT JOIN pg_type t ON t.oid = k.contypid
        WHERE n.nspname = ANY(%(schemas)s)""",
    "indexes": """
        SELECT n.nspname || '.' || ci.relname, jsonb_build_object(
            'table', ct.relname,
            'definition', pg_get_indexdef(i.indexrelid),
            'valid', i.indisvalid,
            'primary', i.indisprimary,
            'unique', i.indisunique)
        FROM pg_index i
        JOIN pg_class ci ON ci.oid = i.indexrelid
        JOIN pg_class ct ON ct.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = ci.relnamespace
        WHERE n.nspname = ANY(%(schemas)s)""",
    "functions": f"""
        SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid)
               || ')',
               jsonb_build_object(
            'kind', p.prokind,
            'returns', pg_get_function_result(p.oid),
            'language', l.lanname,
            'volatility', p.provolatile,
            'security_definer', p.prosecdef,
            'strict', p.proisstrict,
            'leakproof', p.proleakproof,
            'parallel', p.proparallel,
            'config', p.proconfig,
            'owner', pg_get_userbyid(p.proowner),
            'acl', {_acl("p.proacl", "f", "p.proowner")},
            'comment', obj_description(p.oid, 'pg_proc'),
            'definition', CASE WHEN p.prokind = 'a' THEN NULL ELSE pg_get_functiondef(p.oid) END)
        FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_language l ON l.oid = p.prolang
        WHERE n.nspname = ANY(%(schemas)s)""",
    "triggers": """
        SELECT n.nspname || '.' || c.relname || '.' || t.tgname, jsonb_build_object(
            'definition', pg_get_triggerdef(t.oid),
            'enabled', t.tgenabled,
            'comment', obj_description(t.oid, 'pg_trigger'))
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND NOT t.tgisinternal""",
    "policies": """
        SELECT n.nspname || '.' || c.relname || '.' || p.polname, jsonb_build_object(
            'command', p.polcmd,
            'permissive', p.polpermissive,
            'roles', (SELECT array_agg(r.name ORDER BY r.name)
                      FROM (SELECT CASE WHEN u = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(u) END
                                   AS name
                            FROM unnest(p.polroles) AS u) AS r),
            'using', pg_get_expr(p.polqual, p.polrelid),
            'with_check', pg_get_expr(p.polwithcheck, p.polrelid))
        FROM pg_policy p
        JOIN pg_class c ON c.oid = p.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s)""",
    "types": f"""
        SELECT n.nspname || '.' || t.typname, jsonb_build_object(
            'kind', t.typtype,
            'labels', (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)
                       FROM pg_enum e WHERE e.enumtypid = t.oid),
            'base', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
            'domain_not_null', t.typnotnull,
            'domain_default', t.typdefault,
            'owner', pg_get_userbyid(t.typowner),
            'acl', {_acl("t.typacl", "T", "t.typowner")},
            'comment', obj_description(t.oid, 'pg_type'))
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        LEFT JOIN pg_class c ON c.oid = t.typrelid
        WHERE n.nspname = ANY(%(schemas)s) AND t.typcategory <> 'A'
          AND (t.typrelid = 0 OR c.relkind = 'c')""",
    "sequences": f"""
        SELECT n.nspname || '.' || c.relname, jsonb_build_object(
            'type', format_type(s.seqtypid, NULL),
            'start', s.seqstart, 'increment', s.seqincrement,
            'min', s.seqmin, 'max', s.seqmax, 'cache', s.seqcache, 'cycle', s.seqcycle,
            'owned_by', (SELECT dc.relname || '.' || da.attname
                         FROM pg_depend d
                         JOIN pg_class dc ON dc.oid = d.refobjid
                         JOIN pg_attribute da ON da.attrelid = d.refobjid
                                             AND da.attnum = d.refobjsubid
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                           AND d.deptype IN ('a', 'i')),
            'acl', {_acl("c.relacl", "s", "c.relowner")})
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s)""",
    "default_acls": """
        SELECT pg_get_userbyid(d.defaclrole) || ' in ' || coalesce(n.nspname, '<all schemas>')
               || ' on ' || d.defaclobjtype::text,
               jsonb_build_object('acl', d.defaclacl::text[])
        FROM pg_default_acl d
        LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
        WHERE n.nspname IS NULL OR n.nspname = ANY(%(schemas)s)""",
    "roles": """
        SELECT r.rolname, jsonb_build_object(
            'login', r.rolcanlogin, 'inherit', r.rolinherit, 'bypassrls', r.rolbypassrls,
            'superuser', r.rolsuper, 'createrole', r.rolcreaterole, 'createdb', r.rolcreatedb,
            'replication', r.rolreplication, 'config', r.rolconfig,
            'member_of', (SELECT array_agg(g.rolname ORDER BY g.rolname)
                          FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                          WHERE m.member = r.oid))
        FROM pg_roles r WHERE r.rolname = ANY(%(roles)s)""",
    "extensions": """
        SELECT e.extname, jsonb_build_object('schema', n.nspname)
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname <> 'plpgsql'""",
}

CATEGORIES = tuple(QUERIES)

Snapshot = dict[str, dict[str, Any]]


def snapshot(conn: psycopg.Connection) -> Snapshot:
    """The catalog of `conn`'s database, as {category: {key: description}}."""
    params = {"schemas": list(SCHEMAS), "roles": list(ROLES)}
    result: Snapshot = {}
    for category, query in QUERIES.items():
        rows = conn.execute(query, params).fetchall()  # type: ignore[arg-type]
        result[category] = {key: value for key, value in rows}
    return result


def snapshot_url(url: str) -> Snapshot:
    with psycopg.connect(url, autocommit=True) as conn:
        return snapshot(conn)


def _describe(value: dict[str, Any]) -> str:
    # Long bodies (functions) are left out: the key already names the object.
    return ", ".join(f"{k}={v!r}" for k, v in sorted(value.items())
                     if not (isinstance(v, str) and len(v) > 200))


def _diff_values(key: str, a: dict[str, Any], b: dict[str, Any], names: tuple[str, str]) -> str:
    lines = [f"  ~ {key}"]
    for field in sorted(set(a) | set(b)):
        va, vb = a.get(field), b.get(field)
        if va == vb:
            continue
        if isinstance(va, str) and isinstance(vb, str) and ("\n" in va or "\n" in vb):
            body = difflib.unified_diff(
                va.splitlines(), vb.splitlines(), f"{names[0]}:{field}", f"{names[1]}:{field}",
                lineterm="", n=1)
            lines.extend("      " + line for line in body)
        else:
            lines.append(f"      {field}: {names[0]}={va!r}  {names[1]}={vb!r}")
    return "\n".join(lines)


def diff(a: Snapshot, b: Snapshot, names: tuple[str, str] = ("a", "b"),
         categories: tuple[str, ...] = CATEGORIES) -> list[str]:
    """Readable differences between two snapshots: one entry per differing object."""
    out: list[str] = []
    for category in categories:
        ca, cb = a.get(category, {}), b.get(category, {})
        entries: list[str] = []
        for key in sorted(set(ca) | set(cb)):
            if key not in cb:
                entries.append(f"  - {key} only in {names[0]}: {_describe(ca[key])}")
            elif key not in ca:
                entries.append(f"  + {key} only in {names[1]}: {_describe(cb[key])}")
            elif ca[key] != cb[key]:
                entries.append(_diff_values(key, ca[key], cb[key], names))
        if entries:
            out.append(f"{category}:\n" + "\n".join(entries))
    return out
