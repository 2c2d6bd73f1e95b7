"""What PostgREST does around an RPC call, written once: every caller that makes a
call "exactly as PostgREST makes it" (the demo's rush, the benchmarks' pgbench scripts and
connections, the tests' tests/py/postgrest.py) opens its transaction with these settings.

One request is one transaction: `role` (PostgREST's SET LOCAL ROLE), the JWT claims in
`request.jwt.claims`, the HTTP method in `request.method`; a GET or HEAD also runs
`SET TRANSACTION READ ONLY` first. (The pgTAP tests' SQL twin is tests.as_request in
tests/sql/helpers/00_tests_schema.sql: SQL tests cannot call Python; docs/duplicates.md.)
"""

from __future__ import annotations

import json
from typing import Any

ROLES = ("anon", "authenticated", "service_role")
METHODS = ("GET", "POST", "HEAD")

# The request settings, with the parameters role, claims (JSON text) and method.
REQUEST_SETTINGS = (
    "SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true),"
    " set_config('request.method', %s, true)"
)


def request_claims(role: str, sub: str | None, claims: dict[str, Any] | None) -> dict[str, Any]:
    """The JWT payload of the request: role and sub first, then the extra claims (which may
    override sub, never role: the role claim is the role the transaction runs as)."""
    extra = dict(claims or {})
    if "role" in extra and extra["role"] != role:
        raise ValueError("the role claim is the request's role: pass role=, not claims['role']")
    return {"role": role, "sub": sub} | extra


def request_params(role: str = "service_role", method: str = "POST", sub: str | None = None,
                   claims: dict[str, Any] | None = None) -> tuple[str, str, str]:
    """The parameters of REQUEST_SETTINGS for one request (JWT claims: request_claims)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"unsupported method {method!r}")
    return role, json.dumps(request_claims(role, sub, claims)), method


def is_read_only(method: str) -> bool:
    """PostgREST runs GET and HEAD requests in a READ ONLY transaction."""
    return method.upper() in ("GET", "HEAD")


def request_sql(role: str = "service_role", method: str = "POST") -> str:
    """REQUEST_SETTINGS as one literal statement (no parameters), for pgbench scripts and
    plain `conn.execute` calls; role and method come from the fixed lists above."""
    role, claims, method = request_params(role, method)
    quoted = ("'" + value.replace("'", "''") + "'" for value in (role, claims, method))
    return REQUEST_SETTINGS % tuple(quoted) + ";"
