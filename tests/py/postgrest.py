"""Call mockbook's RPC functions from Python exactly as PostgREST does.

A PostgREST request is one transaction: `set_config('role', ...)`, the JWT claims in
`request.jwt.claims`, `request.method`, `SET TRANSACTION READ ONLY` for GET, then the function
called with named arguments. Two flavours:

- `rpc(conn, fn, **args)` / `rpc_rows(...)`: Python values bound as parameters and cast to the
  parameter types the catalog declares (what a well-typed app call amounts to). A value that
  does not convert (e.g. "\\u0000" inside a jsonb value) is refused before the function runs,
  as PostgREST would: `PostgrestError(400, sqlstate, ...)`.
- `rpc_json(conn, fn, payload)` / `rpc_json_rows(...)`: the JSON body an app sends, converted
  the way PostgREST converts it (`json_to_record($1) AS _(p_a text, p_b integer, ...)`). A JSON
  value of the wrong type (a string where an integer is expected, a number out of range, an
  object for an array, `\\u0000` in a string) fails in that conversion with a 22xxx SQLSTATE
  before the function runs: PostgREST answers HTTP 400 itself. That is raised here as
  `PostgrestError(400, sqlstate, ...)`, never as a mockbook error.

Every flavour takes `claims=`: more JWT claims of the request, e.g.
`claims={"email": "ann@school.ca", "app_metadata": {"role": "admin"}}` for an admin app that
forwards its user's identity. They are set as PostgREST sets a verified JWT's claims: the whole
payload as one JSON object in `request.jwt.claims` (transaction-local), with `role` (the role the
transaction runs as) and `sub` among them.

A documented mockbook error (SQLSTATE PTnnn, the error contract) is raised as `RpcError`; any other
database error propagates unchanged (for a documented situation that is a bug).

The connection must be idle (autocommit, or no transaction open): each call is its own
transaction, committed on success and rolled back on error, like one PostgREST request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from glue.db.postgrest import REQUEST_SETTINGS, is_read_only, request_params

SCHEMA = "hubspot_sync"
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


class RpcError(Exception):
    """A documented mockbook error: SQLSTATE PTnnn, MESSAGE = code."""

    def __init__(self, code: str, sqlstate: str, message: str, detail: str | None,
                 hint: str | None) -> None:
        super().__init__(f"{sqlstate} {code}: {detail} (hint: {hint})")
        self.code = code
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint

    @property
    def status(self) -> int:
        """The HTTP status PostgREST answers with (PTnnn -> nnn)."""
        return int(self.sqlstate[2:])

    @classmethod
    def from_psycopg(cls, exc: psycopg.Error) -> RpcError:
        diag = exc.diag
        message = diag.message_primary or ""
        # the code: the message, or its head where a compatibility function added the original
        # apps' words ('EXAM_NOT_FOUND: exam not found')
        code = message.split(":", 1)[0]
        return cls(code, exc.sqlstate or "", message, diag.message_detail, diag.message_hint)


@dataclass
class PostgrestError(Exception):
    """An error PostgREST itself answers before or around the function (not a mockbook error):
    400 for a JSON argument that does not convert to the parameter's type, 404 (PGRST202) for
    an argument name the function does not have."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.code}: {self.message}"


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # format_type() of the declared type, e.g. 'text', 'integer', 'text[]', 'jsonb'


def _check_name(name: str, what: str) -> str:
    if not NAME_RE.match(name):
        raise ValueError(f"invalid {what} name {name!r}: must match {NAME_RE.pattern}")
    return name


_signatures: dict[tuple[int, str], tuple[list[Param], bool]] = {}


def signature(conn: psycopg.Connection, fn: str) -> tuple[list[Param], bool]:
    """The IN parameters of hubspot_sync.<fn> (name, declared type) and whether it returns SETOF.
    Cached per server connection; mockbook has no overloaded names."""
    _check_name(fn, "function")
    key = (conn.info.backend_pid, fn)
    if key not in _signatures:
        rows = conn.execute(
            """
            SELECT p.proretset, a.name, format_type(a.type, NULL), a.mode
            FROM pg_catalog.pg_proc AS p
            JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
            LEFT JOIN LATERAL unnest(
                coalesce(p.proallargtypes, p.proargtypes::oid[]),
                coalesce(p.proargnames, '{}'::text[]),
                coalesce(p.proargmodes::text[],
                         array_fill('i'::text, ARRAY[cardinality(p.proargtypes::oid[])]))
            ) WITH ORDINALITY AS a(type, name, mode, i) ON true
            WHERE n.nspname = %s AND p.proname = %s
            ORDER BY p.oid, a.i
            """,
            (SCHEMA, fn),
        ).fetchall()
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
        if not rows:
            raise LookupError(f"no function {SCHEMA}.{fn}")
        params = [Param(name, typ) for _, name, typ, mode in rows
                  if typ is not None and mode in ("i", "b")]
        if any(not p.name for p in params):
            raise LookupError(f"{SCHEMA}.{fn} has unnamed parameters")
        _signatures[key] = (params, rows[0][0])
    return _signatures[key]


def _begin_request(cur: psycopg.Cursor, role: str, method: str, sub: str | None,
                   claims: dict[str, Any] | None = None) -> None:
    params = request_params(role, method, sub, claims)  # glue/db/postgrest.py: the one definition
    if is_read_only(method):
        cur.execute("SET TRANSACTION READ ONLY")
    cur.execute(REQUEST_SETTINGS, params)


def _params_for(conn: psycopg.Connection, fn: str, names: list[str]) -> dict[str, Param]:
    params, _ = signature(conn, fn)
    by_name = {p.name: p for p in params}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        arglist = ", ".join(sorted(names))
        raise PostgrestError(404, "PGRST202",
                             f"Could not find the function {SCHEMA}.{fn}({arglist})")
    return {n: by_name[_check_name(n, "argument")] for n in names}


def _call(conn: psycopg.Connection, query: sql.Composable, values: Any, *, rows: bool,
          role: str, method: str, sub: str | None, precheck: sql.Composable | None = None,
          claims: dict[str, Any] | None = None) -> Any:
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("rpc needs an idle connection: each call is its own transaction")
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            _begin_request(cur, role, method, sub, claims)
            if precheck is not None:
                # PostgREST's own argument conversion: a failure here is its 400, the function
                # never runs. Done in a savepoint so the request can tell the two apart.
                try:
                    with conn.transaction():
                        cur.execute(precheck, values)
                except psycopg.Error as exc:
                    if exc.sqlstate and exc.sqlstate.startswith("22"):
                        raise PostgrestError(400, exc.sqlstate,
                                             exc.diag.message_primary or str(exc)) from exc
                    raise
            cur.execute(query, values)
            if rows:
                return cur.fetchall()
            row = cur.fetchone()
            return None if row is None else next(iter(row.values()))
    except psycopg.Error as exc:
        if exc.sqlstate and exc.sqlstate.startswith("PT"):
            raise RpcError.from_psycopg(exc) from exc
        raise


def _typed_query(conn: psycopg.Connection, fn: str, args: dict[str, Any], rows: bool,
                 ) -> tuple[sql.Composable, sql.Composable, dict[str, Any]]:
    params = _params_for(conn, fn, list(args))
    values: dict[str, Any] = {}
    casts = []
    for name, param in params.items():
        value = args[name]
        if param.type in ("jsonb", "json") and value is not None:
            value = Jsonb(value)
        values[name] = value
        casts.append((name, sql.SQL("{}::{}").format(sql.Placeholder(name),
                                                     sql.SQL(param.type))))
    call = sql.SQL("{}.{}({})").format(
        sql.Identifier(SCHEMA), sql.Identifier(fn),
        sql.SQL(", ").join(sql.SQL("{} := {}").format(sql.Identifier(n), c) for n, c in casts))
    # the arguments alone, converted to the parameter types: a value that does not convert
    # fails here, before the function, as it would in PostgREST (HTTP 400)
    precheck = sql.SQL("SELECT {}").format(
        sql.SQL(", ").join([c for _, c in casts] or [sql.SQL("1")]))
    if rows:
        return sql.SQL("SELECT * FROM {}").format(call), precheck, values
    return sql.SQL("SELECT {} AS result").format(call), precheck, values


def rpc(conn: psycopg.Connection, fn: str, *, role: str = "service_role", method: str = "POST",
        sub: str | None = None, claims: dict[str, Any] | None = None, **args: Any) -> Any:
    """Call hubspot_sync.<fn>(p_a := ..., ...) as one PostgREST request; return its result
    (jsonb comes back as Python dicts/lists). Raises RpcError for PTnnn errors."""
    query, precheck, values = _typed_query(conn, fn, args, rows=False)
    return _call(conn, query, values, rows=False, role=role, method=method, sub=sub,
                 precheck=precheck, claims=claims)


def rpc_rows(conn: psycopg.Connection, fn: str, *, role: str = "service_role",
             method: str = "GET", sub: str | None = None, claims: dict[str, Any] | None = None,
             **args: Any) -> list[dict[str, Any]]:
    """A set-returning function as PostgREST calls it (GET, read-only): the rows as dicts."""
    query, precheck, values = _typed_query(conn, fn, args, rows=True)
    return _call(conn, query, values, rows=True, role=role, method=method, sub=sub,
                 precheck=precheck, claims=claims)


def _json_query(conn: psycopg.Connection, fn: str, payload: dict[str, Any], rows: bool,
                ) -> tuple[sql.Composable, sql.Composable, dict[str, Any]]:
    if not isinstance(payload, dict):
        raise PostgrestError(400, "PGRST102", "the RPC body must be a JSON object")
    params = _params_for(conn, fn, list(payload))
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(p.type)) for n, p in params.items())
    source = sql.SQL("json_to_record({}::json) AS _({})").format(sql.Placeholder("body"), columns)
    if not params:
        source = sql.SQL("(SELECT) AS _")
    named = sql.SQL(", ").join(
        sql.SQL("{} := _.{}").format(sql.Identifier(n), sql.Identifier(n)) for n in params)
    call = sql.SQL("{}.{}({})").format(sql.Identifier(SCHEMA), sql.Identifier(fn), named)
    if rows:
        query = sql.SQL("SELECT r.* FROM {}, LATERAL {} AS r").format(source, call)
    else:
        query = sql.SQL("SELECT {} AS result FROM {}").format(call, source)
    precheck = sql.SQL("SELECT * FROM {}").format(source)
    return query, precheck, {"body": json.dumps(payload)}


def rpc_json(conn: psycopg.Connection, fn: str, payload: dict[str, Any], *,
             role: str = "service_role", method: str = "POST", sub: str | None = None,
             claims: dict[str, Any] | None = None) -> Any:
    """POST /rpc/<fn> with this JSON body, converted to arguments as PostgREST converts it.
    Raises PostgrestError(400, 22xxx) when a value does not convert (the function never runs),
    RpcError for mockbook's PTnnn errors."""
    query, precheck, values = _json_query(conn, fn, payload, rows=False)
    return _call(conn, query, values, rows=False, role=role, method=method, sub=sub,
                 precheck=precheck, claims=claims)


def rpc_json_rows(conn: psycopg.Connection, fn: str, payload: dict[str, Any], *,
                  role: str = "service_role", method: str = "GET", sub: str | None = None,
                  claims: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """GET /rpc/<fn> of a set-returning function with these arguments, as JSON values."""
    query, precheck, values = _json_query(conn, fn, payload, rows=True)
    return _call(conn, query, values, rows=True, role=role, method=method, sub=sub,
                 precheck=precheck, claims=claims)


# PostgREST's SQLSTATE -> HTTP status table (docs.postgrest.org, "Errors"): exact codes first,
# then two-character classes; anything else is 400.
_STATUS_EXACT = {"23503": 409, "23505": 409, "25006": 405, "53400": 500, "P0001": 400,
                 "42883": 404, "42P01": 404}
_STATUS_CLASS = {"08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500,
                 "38": 500, "39": 500, "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500,
                 "57": 500, "58": 500, "F0": 500, "HV": 500, "P0": 500, "XX": 500}


def http_status(exc: BaseException, role: str = "service_role") -> int:
    """The HTTP status PostgREST would answer for this exception."""
    if isinstance(exc, (RpcError, PostgrestError)):
        return exc.status
    state = getattr(exc, "sqlstate", None)
    if not state:
        return 500
    if state.startswith("PT") and state[2:].isdigit():
        return int(state[2:])
    if state == "42501":
        return 401 if role == "anon" else 403
    return _STATUS_EXACT.get(state, _STATUS_CLASS.get(state[:2], 400))


# ---- table requests (GET/POST/PATCH/DELETE /<table>) -------------------------------------------
# What supabase-js' `.from(table).select/insert/upsert/update/delete` sends, as PostgREST runs it:
# one transaction as the request's role with its JWT claims, the JSON body turned into the
# table's row type with json_populate_record(set) (so every value converts as PostgREST converts
# it), the `.eq(column, value)` filters as a WHERE clause, `RETURNING *`.


def _table(name: str) -> sql.Composable:
    return sql.Identifier(SCHEMA, _check_name(name, "table"))


def _where(eq: dict[str, Any] | None, target: sql.Composable) -> tuple[sql.Composable, list]:
    if not eq:
        return sql.SQL(""), []
    conds = [sql.SQL("{}.{} = %s").format(target, sql.Identifier(_check_name(c, "column")))
             for c in eq]
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds), list(eq.values())


def table_request(conn: psycopg.Connection, method: str, table: str, *,
                  body: dict[str, Any] | list[dict[str, Any]] | None = None,
                  eq: dict[str, Any] | None = None, on_conflict: str | None = None,
                  role: str = "service_role", sub: str | None = None) -> list[dict[str, Any]]:
    """One PostgREST table request on hubspot_sync.<table>: GET (select, with `eq` filters),
    POST (insert one object or a list; `on_conflict=column` makes it supabase-js' `upsert`, i.e.
    `ON CONFLICT (column) DO UPDATE` of the given columns), PATCH (`update` of the body's columns
    on the rows `eq` selects) or DELETE. Returns the affected (or read) rows. A refused privilege
    propagates as psycopg's InsufficientPrivilege (42501: PostgREST answers 401/403)."""
    method = method.upper()
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("table_request needs an idle connection: one request, one transaction")
    target = _table(table)
    rows_in = body if isinstance(body, list) else [body] if body is not None else []
    columns = sorted({_check_name(c, "column") for row in rows_in for c in row})
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    payload = json.dumps(rows_in if isinstance(body, list) else body, default=str)
    if method == "GET":
        where, params = _where(eq, target)
        query = sql.SQL("SELECT * FROM {}").format(target) + where
    elif method == "POST":
        query = sql.SQL(
            "INSERT INTO {t} ({cols})"
            " SELECT {cols} FROM json_populate_recordset(NULL::{t}, %s::json)"
        ).format(t=target, cols=cols)
        if not isinstance(body, list):
            payload = json.dumps([body], default=str)
        if on_conflict:
            updates = sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in columns)
            query += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(
                sql.Identifier(_check_name(on_conflict, "column")), updates)
        query += sql.SQL(" RETURNING *")
        params = [payload]
    elif method == "PATCH":
        where, params = _where(eq, target)
        sets = sql.SQL(", ").join(
            sql.SQL("{c} = pgrst_body.{c}").format(c=sql.Identifier(c)) for c in columns)
        query = (sql.SQL("UPDATE {t} SET {sets} FROM json_populate_record(NULL::{t}, %s::json)"
                         " AS pgrst_body").format(t=target, sets=sets)
                 + where + sql.SQL(" RETURNING {}.*").format(target))
        params = [payload, *params]
    elif method == "DELETE":
        where, params = _where(eq, target)
        query = sql.SQL("DELETE FROM {}").format(target) + where + sql.SQL(" RETURNING *")
    else:
        raise ValueError(f"unsupported method {method!r}")
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        # the one request definition (glue/postgrest.py), with the table request's method
        settings = request_params(role, "POST" if method != "GET" else "GET", sub)
        if is_read_only(method):
            cur.execute("SET TRANSACTION READ ONLY")
        cur.execute(REQUEST_SETTINGS, (settings[0], settings[1], method))
        cur.execute(query, params)
        return cur.fetchall()
