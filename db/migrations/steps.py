"""What runs for each step of a revision: the one place that decides it, for every revision.

A revision is frozen SQL: `versions/<revision>/upgrade/` and `downgrade/`, pinned by
revisions.lock. env.py runs every revision through `run` below (a released revision's own file
carries the small runner it was released with; env.py runs `run` in its place, see `running`),
and the files of later releases call `run` themselves. This module is everything that comes
between a frozen file and the SQL the server receives, so that it is read, reviewed and tested
in one place (docs/dba.md, "How a revision runs"):

1. **The files, in name order**, each one step; a `*.nontx.sql` file (a released revision's,
   written to run outside a transaction) one step per statement.
2. **A `-- frozen: versions/<revision>/upgrade/<file> sha256:<hex>` line** stands for that
   earlier frozen file (a changed function's previous copy, in a downgrade): read from there,
   checked against the hash and run in its place.
3. **A frozen file listed in REPLACED runs as its pinned replacement** (`replaced/`, at the frozen
   file's path less `versions/`), only when the frozen file is the pinned one byte for byte; a
   replacement that is not its pin is refused.
4. **A revision is one transaction**, with its version stamp: the statements of a released
   revision's `*.nontx.sql` files run inside it, their index statements without CONCURRENTLY
   (which PostgreSQL refuses in a transaction). So a revision that fails, is cancelled, killed
   or cut off by a server restart leaves nothing of itself, and running it again starts clean.
   The files of later revisions have no `*.nontx.sql` and no CONCURRENTLY: they say what runs.
5. **Before `CREATE INDEX ... IF NOT EXISTS`, an invalid index of that name is dropped** (one a
   build outside mockbook cut short, such as a DBA's own CONCURRENTLY build ahead of the upgrade:
   IF NOT EXISTS alone would keep it, never used and still written).
6. **The lock step opens the transaction**: every table the revision's statements lock in a
   mode that conflicts with a booking's (SHARE or stronger: CREATE INDEX, CREATE TRIGGER, ALTER
   TABLE, DROP, a row write), read from the statements themselves (`locks`), is locked up front
   by one statement in the lock order of docs/rpc.md (contacts, then bookings and waitlist
   places, then exams, then the other tables by name), its whole wait bounded (`lock_sql`).
   Once it holds them, no statement of the revision waits for a booking; a lock not granted
   in time, or a deadlock, rolls the attempt back whole and env.py tries again. Tables
   created in the same transaction are not there yet, and nobody else can see them. A view is
   not locked (LOCK TABLE on a view locks every table it reads; PostgreSQL refuses it on a
   materialized view): no call holds a view's lock while it waits for a table, and a statement
   that changes one waits only for its readers.

Everything here is SQL text, the same online and printed (`--sql`): the printed SQL is the SQL
that runs. It lives beside the revisions, as dependents.py does: env.py and `mockbook` load it
by path, without importing mockbook.
"""

import contextlib
import functools
import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
VERSIONS = HERE / "versions"

# --- 3. frozen files run in another's place --------------------------------------------------
# What a later release changes about how a released revision's files run, each pinned by two
# hashes: the frozen file's (as revisions.lock pins it) and the file run instead.
#
# - versions/0002_mockbook_1_0/downgrade/0000_preamble.sql and 0004_schema_changes.sql: the way
#   down to the production schema takes the old app's duplicate bookings (two Active or
#   Completed of one student, mock type and day) as production held them. The frozen 0004
#   built a one-booking-a-day index that production's schema never had (0020_constraints.sql
#   drops it a few steps later), so the frozen preamble refused those pairs; the replacements
#   drop the index at once and check only what production's schema refuses (ndecc_exam_date
#   must be a date).
REPLACED = {
    "versions/0002_mockbook_1_0/downgrade/0000_preamble.sql": (
        "33749c01a7f629355f63ceea6c5edb7380f525ce4e1110f1d9cfb28dc0118216",
        "b8eb5a15cb75c10aa89e67e1353eb5e30bbbce392129357b8b69634df1f58489"),
    "versions/0002_mockbook_1_0/downgrade/0004_schema_changes.sql": (
        "55582da2bf63f7bbd920f89e5476f7cf5d8ab0454c387bb33bb1449756008ec0",
        "2b1a2fd37227278d3e03afbbc342c91bac55224906be30adc6f11395822ae962"),
}

# The way down to the production schema checks first what production's schema would refuse
# (1.0's downgrade preamble, as replaced): env.py runs it before any lock, from whatever
# revision the database steps down (a later release's way down changes no row it reads), and
# `mockbook adoption list` runs it read-only.
ROLLBACK_CHECK = "versions/0002_mockbook_1_0/downgrade/0000_preamble.sql"


def replacement(frozen: str) -> Path:
    """The file run in place of `frozen` (a path relative to db/migrations)."""
    return HERE / "replaced" / frozen.removeprefix("versions/")


def text_of(frozen: str) -> str:
    """The text that runs for the frozen file `frozen` (relative to db/migrations): its pinned
    replacement (checked against both pins), or the file itself."""
    data = (HERE / frozen).read_bytes()
    if frozen not in REPLACED:
        return data.decode("utf-8")
    frozen_sha, replacement_sha = REPLACED[frozen]
    if hashlib.sha256(data).hexdigest() != frozen_sha:
        return data.decode("utf-8")  # not the file the replacement was written for
    data = replacement(frozen).read_bytes()
    if hashlib.sha256(data).hexdigest() != replacement_sha:
        raise RuntimeError(f"{replacement(frozen)} is not the file pinned to run in place of "
                           f"{frozen} (db/migrations/steps.py)")
    return data.decode("utf-8")


# --- 2. references to earlier frozen files ---------------------------------------------------
_REFERENCE = re.compile(r"^-- frozen: (\S+) sha256:([0-9a-f]{64})$", re.MULTILINE)


def _referenced(match: re.Match) -> str:
    data = (HERE / match[1]).read_bytes()
    if hashlib.sha256(data).hexdigest() != match[2]:
        raise RuntimeError(f"{match[1]} is not the file a revision refers to (sha256 {match[2]})")
    return data.decode("utf-8")


# --- SQL text, read as PostgreSQL reads it ---------------------------------------------------
# comments, quoted identifiers, strings and dollar-quoted bodies, each as one token
_SKIP = re.compile(r"""
    --[^\n]*
  | /\*.*?\*/
  | [Ee]'(?:[^'\\]|\\.|'')*'
  | '(?:[^']|'')*'
  | "(?:[^"]|"")*"
  | (?P<dollar>\$[A-Za-z_]*\$).*?(?P=dollar)
""", re.VERBOSE | re.DOTALL)


_TOKENS = re.compile(_SKIP.pattern + r"| (?P<semi>;)", re.VERBOSE | re.DOTALL)


def _spans(sql: str) -> list[tuple[int, int]]:
    """Where each statement of a script is (its `;` excluded), comments before it included."""
    found, start = [], 0
    for token in _TOKENS.finditer(sql):
        if token["semi"]:
            found.append((start, token.start()))
            start = token.end()
    found.append((start, len(sql)))
    return [(a, b) for a, b in found if _code(sql[a:b]).strip()]


def statements(sql: str) -> list[str]:
    """The statements of a script, each without its `;` (comments kept inside them)."""
    return [sql[a:b].strip() for a, b in _spans(sql)]


def _code(statement: str, *, bodies: bool = False) -> str:
    """The statement with comments and strings blanked (a dollar-quoted body too, unless
    ``bodies``: a DO block's, whose statements run)."""
    def blank(match: re.Match) -> str:
        text = match[0]
        if text.startswith('"'):
            return text
        if bodies and match["dollar"]:
            return " " + _code(text[len(match["dollar"]):-len(match["dollar"])]) + " "
        return " "
    return _SKIP.sub(blank, statement)


# --- 4. a released revision's statements written to run outside a transaction ----------------
_CONCURRENTLY = re.compile(
    r"\b((?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+|RE)INDEX)\s+CONCURRENTLY\b", re.IGNORECASE)

# --- 5. an invalid index of the name an index build would skip -------------------------------
_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_QUALIFIED = rf"{_NAME}\s*\.\s*{_NAME}"
_INDEX_IF_NOT_EXISTS = re.compile(
    rf"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?IF\s+NOT\s+EXISTS\s+({_NAME})\s+"
    rf"ON\s+(?:ONLY\s+)?({_NAME})\s*\.", re.IGNORECASE)
_DROP_INVALID = """DO $invalid$
BEGIN
    -- an index of this name that a build outside this transaction left INVALID
    IF EXISTS (SELECT FROM pg_catalog.pg_index AS i
               WHERE i.indexrelid = pg_catalog.to_regclass('{index}') AND NOT i.indisvalid) THEN
        DROP INDEX {index};
    END IF;
END
$invalid$;
"""


def _invalid_index_drops(sql: str) -> tuple[str, list[str]]:
    """``sql`` with, before each statement that builds an index IF NOT EXISTS, the DO block
    dropping an invalid index of that name; and those indexes' names."""
    out, names, last = [], [], 0
    for start, end in _spans(sql):
        match = _INDEX_IF_NOT_EXISTS.match(_code(sql[start:end]).strip())
        if match is None:
            continue
        index = f"{match[2]}.{match[1]}"
        names.append(index)
        at = start + len(sql[start:end]) - len(sql[start:end].lstrip())
        out += [sql[last:at], _DROP_INVALID.format(index=index.replace("'", "''"))]
        last = at
    return "".join([*out, sql[last:]]), names


# --- 6. what a statement locks ---------------------------------------------------------------
# the modes that conflict with a call's ROW EXCLUSIVE (a write) or weaker, weakest first: each
# conflicts with everything the ones before it conflict with
MODES = ("SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE")
SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE = MODES
# The lock order of docs/rpc.md at the level of tables: contact rows (with their credit merge
# bookkeeping), booking rows and waitlist places, exam rows (with their HubSpot sync guard); the
# other tables follow by name. It is where the lock step starts: calls first touch these tables
# in more than one order (a booking in a warm session its contact, a cancellation its booking:
# a read of a table is a lock on it too), so the step lets go of a table it cannot have in time
# and takes it first on its next pass (lock_sql).
LOCK_ORDER = (
    "hubspot_sync.hubspot_contact_credits", "hubspot_sync.contact_credit_sync",
    "hubspot_sync.hubspot_bookings", "hubspot_sync.waitlist_entries",
    "hubspot_sync.hubspot_mock_exams", "hubspot_sync.exam_hubspot_sync",
)


@dataclass(frozen=True, order=True)
class Lock:
    """A lock a statement takes: ``kind`` 'relation' (a table or an index: an index's table is
    locked), 'domain' (the tables with a column of it) or 'schema' (its tables), its name as
    written, and the mode."""

    kind: str
    name: str
    mode: str


def _names(code: str) -> list[str]:
    """The qualified names a statement's code uses as relations: not followed by "(" (a
    function) or a dot (a column), and not PostgreSQL's own catalogs or a row's field."""
    return [m[1] for m in re.finditer(
                rf"(?<![\w.$\"])({_QUALIFIED})(?![\w$\"])(?!\s*\.)(?!\()", code)
            if not _not_a_relation(m[1])]


def _not_a_relation(name: str) -> bool:
    """PostgreSQL's own catalogs, and a row's field in a PL/pgSQL body (NEW.x, OLD.x, an alias
    or a variable's: a.x, v_row.x), which no schema of mockbook's is named like."""
    schema = name.split(".", 1)[0].strip('"').lower()
    return (schema in ("pg_catalog", "information_schema", "pg_toast", "new", "old")
            or len(schema) <= 2 or schema.startswith("v_"))


# statements that lock no table a call may hold in a conflicting mode: code, comments,
# privileges and settings, schemas, types and roles (SHARE UPDATE EXCLUSIVE at most: COMMENT)
_NO_TABLE_LOCK = re.compile(r"""^(?:
      CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|AGGREGATE)
    | (?:ALTER|DROP)\s+(?:FUNCTION|PROCEDURE|AGGREGATE|SCHEMA|ROLE|TYPE|EXTENSION)
    | DROP\s+DOMAIN
    | ALTER\s+DEFAULT\s+PRIVILEGES | ALTER\s+DATABASE
    | CREATE\s+(?:SCHEMA|ROLE|TYPE|DOMAIN|EXTENSION|SEQUENCE|COLLATION)
    | COMMENT | GRANT | REVOKE | SET | RESET | NOTIFY | SHOW | ANALYZE | SECURITY\s+LABEL
    )\b""", re.IGNORECASE | re.VERBOSE)
_RULES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), mode) for pattern, mode in (
        (rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\s+{_NAME}\s.*?\bON\s+"
         rf"({_QUALIFIED})", SHARE_ROW_EXCLUSIVE),
        (rf"^DROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?{_NAME}\s+ON\s+({_QUALIFIED})",
         ACCESS_EXCLUSIVE),
        (rf"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:{_NAME}\s+)?ON\s+"
         rf"(?:ONLY\s+)?({_QUALIFIED})", SHARE),
        (rf"^(?:CREATE|ALTER|DROP)\s+(?:POLICY|RULE)\s+{_NAME}\s+ON\s+({_QUALIFIED})",
         ACCESS_EXCLUSIVE),
        (rf"^REFRESH\s+MATERIALIZED\s+VIEW\s+CONCURRENTLY\s+({_QUALIFIED})", EXCLUSIVE),
        (rf"^(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+(?:ONLY\s+)?({_QUALIFIED})",
         EXCLUSIVE),
        (rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?"
         rf"({_QUALIFIED})", ACCESS_EXCLUSIVE),
        (rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?({_QUALIFIED})", ACCESS_EXCLUSIVE),
    ))
_VALIDATE_ONLY = re.compile(
    rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QUALIFIED}\s+"
    rf"VALIDATE\s+CONSTRAINT\s+{_NAME}\s*$", re.IGNORECASE)
_REFERENCES = re.compile(rf"\bREFERENCES\s+({_QUALIFIED})", re.IGNORECASE)
_CREATE_TABLE = re.compile(r"^CREATE\s+(?:UNLOGGED\s+)?TABLE\b", re.IGNORECASE)
_ALTER_DOMAIN = re.compile(rf"^ALTER\s+DOMAIN\s+({_QUALIFIED})", re.IGNORECASE)
_LOCK_TABLE = re.compile(r"^LOCK\s+(?:TABLE\s+)?(?:ONLY\s+)?(.*?)(?:\bIN\s+(.*?)\s+MODE)?"
                         r"(?:\s+NOWAIT)?\s*$", re.IGNORECASE | re.DOTALL)


def locks(sql: str) -> set[Lock]:
    """What the statements of ``sql`` lock in a mode a call's may conflict with, read from the
    statements themselves (tests/py/db/test_revision_locks.py compares it with what PostgreSQL
    reports each step of every revision took): a statement this does not know locks every
    relation it names ACCESS EXCLUSIVE, and so does a DO block (every relation named in its
    body)."""
    found: set[Lock] = set()
    for statement in statements(sql):
        code = " ".join(_code(statement).split())
        if _NO_TABLE_LOCK.match(code) or _VALIDATE_ONLY.match(code):
            continue
        found |= {Lock("relation", name, SHARE_ROW_EXCLUSIVE)
                  for name in _REFERENCES.findall(code)}
        if _CREATE_TABLE.match(code):
            continue
        if match := _ALTER_DOMAIN.match(code):
            found.add(Lock("domain", match[1], SHARE))
            continue
        if match := _LOCK_TABLE.match(code):
            mode = " ".join((match[2] or ACCESS_EXCLUSIVE).upper().split())
            if mode in MODES:
                found |= {Lock("relation", name, mode) for name in _names(match[1])}
            continue
        rule = next(((m, mode) for pattern, mode in _RULES if (m := pattern.match(code))), None)
        if rule is not None:
            found.add(Lock("relation", rule[0][1], rule[1]))
            continue
        body = code if not re.match(r"^DO\b", code, re.I) else " ".join(
            _code(statement, bodies=True).split())
        found |= {Lock("relation", name, ACCESS_EXCLUSIVE) for name in _names(body)}
    return found


# The tables of the wanted locks that exist now, each with the strongest mode wanted of it
# (1 SHARE ... 4 ACCESS EXCLUSIVE), in the lock order: an index stands for its table, a domain
# for the tables with a column of it, a schema for its tables; PostgreSQL's own schemas, views
# and materialized views (which LOCK TABLE does not take alone) left out.
_RESOLVE_SQL = r"""WITH wanted (kind, name, strength) AS (VALUES
            {wanted}),
        found (rel, strength) AS (
            SELECT coalesce(i.indrelid, c.oid), w.strength
            FROM wanted AS w
            JOIN pg_catalog.pg_class AS c ON c.oid = pg_catalog.to_regclass(w.name)
            LEFT JOIN pg_catalog.pg_index AS i ON i.indexrelid = c.oid
            WHERE w.kind = 'relation'
            UNION ALL
            SELECT a.attrelid, w.strength
            FROM wanted AS w
            JOIN pg_catalog.pg_attribute AS a ON a.atttypid = pg_catalog.to_regtype(w.name)
            WHERE w.kind = 'domain' AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT c.oid, w.strength
            FROM wanted AS w
            JOIN pg_catalog.pg_class AS c ON c.relnamespace = pg_catalog.to_regnamespace(w.name)
            WHERE w.kind = 'schema')
        SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS rel,
               max(f.strength) AS strength
        FROM found AS f
        JOIN pg_catalog.pg_class AS c ON c.oid = f.rel
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT LIKE 'pg\_%'
          AND n.nspname <> 'information_schema'
        GROUP BY n.nspname, c.relname
        -- the lock order of docs/rpc.md, then the other tables by name
        ORDER BY coalesce(pg_catalog.array_position(ARRAY[
                     {order}]::text[],
                     pg_catalog.format('%I.%I', n.nspname, c.relname)), {last}), 1"""

_LOCK_SQL = """-- the lock step: {what}
SET LOCAL statement_timeout = '{timeout}';
DO $lock$
DECLARE
    v_tables text[];
    v_modes text[];
    v_at integer;
BEGIN
    SELECT array_agg(t.rel ORDER BY t.n), array_agg(t.mode ORDER BY t.n)
    INTO v_tables, v_modes
    FROM (SELECT r.rel, (ARRAY['SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE',
                               'ACCESS EXCLUSIVE'])[r.strength] AS mode,
                 row_number() OVER () AS n
          FROM (
        {resolve}
          ) AS r) AS t;
    -- the first table waited for as long as the step may (nothing is held meanwhile); each
    -- next one a short while: one not had in time is let go with those taken before it (the
    -- block's subtransaction) and taken first next time (a call that touched it before a table
    -- taken earlier waits on that one, and goes on once it is let go)
    LOOP
        BEGIN
            FOR i IN 1 .. coalesce(cardinality(v_tables), 0) LOOP
                v_at := i;
                PERFORM pg_catalog.set_config('lock_timeout',
                                              CASE WHEN i = 1 THEN '0' ELSE '{each}' END, true);
                EXECUTE pg_catalog.format('LOCK TABLE %s IN %s MODE', v_tables[i], v_modes[i]);
            END LOOP;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            v_tables := v_tables[v_at:v_at] || v_tables[1:v_at - 1] || v_tables[v_at + 1:];
            v_modes := v_modes[v_at:v_at] || v_modes[1:v_at - 1] || v_modes[v_at + 1:];
        END;
    END LOOP;
END
$lock$;
SET LOCAL statement_timeout TO DEFAULT;
SET LOCAL lock_timeout TO DEFAULT;
"""


def _each(timeout: str) -> str:
    """The wait for one table of the lock step: a twentieth of its whole wait, at least 10 ms."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min)?\s*", timeout)
    if match is None:
        return timeout
    ms = float(match[1]) * {"ms": 1, "s": 1000, "min": 60000, None: 1}[match[2]]
    return f"{max(10, int(ms // 20))}ms"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def resolve_sql(wanted: set[Lock]) -> str:
    """The query listing (table, strength) the lock step locks, in its order (section 6)."""
    strongest: dict[tuple[str, str], int] = {}
    for lock in wanted:
        key = (lock.kind, lock.name)
        strongest[key] = max(strongest.get(key, 0), MODES.index(lock.mode) + 1)
    rows = ",\n            ".join(f"({_literal(kind)}, {_literal(name)}, {strength})"
                                  for (kind, name), strength in sorted(strongest.items()))
    return _RESOLVE_SQL.format(
        wanted=rows, order=",\n                     ".join(_literal(n) for n in LOCK_ORDER),
        last=len(LOCK_ORDER) + 1)


def lock_sql(wanted: set[Lock], timeout: str, what: str) -> str:
    """The lock step: the tables of ``wanted`` that exist now, locked in the lock order, each in
    the strongest mode wanted of it, by one statement whose whole wait is bounded by
    ``timeout`` (its statement_timeout). The first table is waited for as long as that (nothing
    is held then: no cycle); each next one a twentieth of it, far under the server's
    deadlock_timeout: one not had in time (a call holds it, perhaps waiting for a table taken
    before it) is let go with the others and taken first on the next pass, which adapts the
    order to the calls that run; so a call waiting on one of these tables is never the one
    PostgreSQL cancels to break a deadlock: this statement lets go first."""
    return _LOCK_SQL.format(what=what, timeout=timeout.replace("'", "''"),
                            each=_each(timeout).replace("'", "''"),
                            resolve=resolve_sql(wanted))


# What a released revision's file locks through dynamic SQL (EXECUTE), which reading its text
# cannot see: ALTER POLICY on the tables whose policies it narrows (those of the production
# schema that mockbook does not own included). A later revision's file that needs this takes
# those tables with a LOCK TABLE statement of its own, which the reading reads.
UNSEEN = {
    "versions/0002_mockbook_1_0/upgrade/0041_close_legacy_grants.sql":
        frozenset({Lock("schema", "hubspot_sync", ACCESS_EXCLUSIVE)}),
    "versions/0002_mockbook_1_0/downgrade/0005_close_legacy_grants.sql":
        frozenset({Lock("schema", "hubspot_sync", ACCESS_EXCLUSIVE)}),
}


# --- 1. the steps of a revision --------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One step: a frozen file, or one statement of a released revision's `*.nontx.sql` file.
    ``sql``: what runs (its first line names the file); ``changed``: how it differs from the
    frozen file's text, in words; ``locks``: what its statements lock (section 6)."""

    revision: str
    direction: str
    file: str  # relative to db/migrations
    sql: str
    changed: tuple[str, ...]
    locks: frozenset[Lock]

    @property
    def name(self) -> str:
        return f"{self.revision}: {Path(self.file).name.removesuffix('.sql')}"


def _step(revision: str, direction: str, frozen: str, sql: str, changed: list[str]) -> Step:
    if not _code(sql).rstrip().endswith(";"):
        sql = sql.rstrip() + "\n;"  # a frozen file whose last statement has no `;`
    taken = locks(sql)
    sql, indexes = _invalid_index_drops(sql)
    if indexes:
        changed = [*changed, "an invalid index of the name it builds is dropped first"]
        # DROP INDEX locks the index's table
        taken |= {Lock("relation", index, ACCESS_EXCLUSIVE) for index in indexes}
    taken |= UNSEEN.get(frozen, frozenset())
    header = f"-- {frozen}" + "".join(f"\n--   ({why})" for why in changed)
    return Step(revision, direction, frozen, f"{header}\n{sql}", tuple(changed),
                frozenset(taken))


@functools.cache
def plan(revision: str, direction: str) -> tuple[Step, ...]:
    """The steps of ``revision``'s ``direction`` (upgrade, downgrade), in order (frozen files:
    read once)."""
    folder = VERSIONS / revision / direction
    files = sorted(folder.glob("*.sql"))
    if not files:
        raise RuntimeError(f"{folder}: no frozen SQL")
    found: list[Step] = []
    for path in files:
        frozen = path.relative_to(HERE).as_posix()
        text = text_of(frozen)
        changed = [f"runs as db/migrations/{replacement(frozen).relative_to(HERE).as_posix()}"
                   ] if text != path.read_text(encoding="utf-8") else []
        if _REFERENCE.search(text):
            text = _REFERENCE.sub(_referenced, text)
            changed.append("its `-- frozen:` lines replaced by the files they name")
        if not path.name.endswith(".nontx.sql"):
            found.append(_step(revision, direction, frozen, text, changed))
            continue
        for statement in statements(text):
            why = list(changed)
            if _CONCURRENTLY.search(statement):
                statement = _CONCURRENTLY.sub(r"\1", statement)
                why.append("inside the revision's transaction: CONCURRENTLY removed")
            else:
                why.append("inside the revision's transaction")
            found.append(_step(revision, direction, frozen, statement + ";", why))
    return tuple(found)


# --- running them ----------------------------------------------------------------------------
class Run:
    """How env.py runs the revisions of one command: ``timeout``, the lock step's bound;
    ``locked`` (the adoption and its rollback: one transaction for every revision, whose lock
    step env.py runs before the first); ``progress`` (called after each step online). What a
    failure is said with: ``revision`` and ``current`` (the step) running, ``locking`` (the
    lock step running), ``done`` (the revisions this run committed, one transaction each)."""

    def __init__(self, timeout: str, progress=None, *, locked: bool = False) -> None:
        self.timeout, self.progress, self.locked = timeout, progress, locked
        self.revision: str | None = None
        self.current: Step | None = None
        self.locking = False
        self.wanted: set[Lock] = set()
        self.done: list[str] = []
        self._open: tuple[float, float] | None = None
        self._windows: list[tuple[float, float]] = []

    def lock_step(self, execute, wanted: "set[Lock]", what: str) -> None:
        """Run the lock step (with ``execute``) for ``wanted``; the transaction's window opens."""
        requested = time.monotonic()
        if wanted:
            self.locking, self.wanted = True, wanted
            execute(lock_sql(wanted, self.timeout, what))
            self.locking = False
        self._open = (requested, time.monotonic())

    def committed(self) -> None:
        """The open transaction committed (its revisions are there): its window closes."""
        if self._open is not None:
            requested, locked = self._open
            now = time.monotonic()
            self._windows.append((now - requested, now - locked))
            self._open = None
        if self.revision and self.revision not in self.done:
            self.done.append(self.revision)

    def window(self) -> dict:
        """The longest window of a committed transaction: ``locked_s`` from its lock step to its
        commit (how long a call waited on it at most), ``requested_s`` with the lock step's own
        wait."""
        return {"locked_s": round(max((w[1] for w in self._windows), default=0.0), 3),
                "requested_s": round(max((w[0] for w in self._windows), default=0.0), 3)}


_run: list[Run] = []


def run(revision: str, direction: str) -> None:
    """Run ``revision``'s ``direction`` in the migration's transaction (Alembic's context):
    the lock step, then each step; printed instead with `--sql`."""
    from alembic import context

    state = _run[-1] if _run else Run("1s")
    if not state.locked:
        state.committed()  # one transaction per revision: the one before committed
    steps = plan(revision, direction)
    state.revision, state.current = revision, None
    if not state.locked:
        state.lock_step(lambda sql: _execute(context, sql),
                        set().union(*(step.locks for step in steps)),
                        f"the tables {revision}'s {direction} locks")
    for step in steps:
        state.current = step
        _execute(context, step.sql)
        if state.progress is not None and not context.get_context().as_sql:
            state.progress()
    state.current = None


def _execute(context, sql: str) -> None:
    migration = context.get_context()
    if migration.as_sql:
        # printed as it runs (no bind parameters: nothing to escape)
        migration.impl.static_output(sql.rstrip())
    else:
        # the driver runs a multi-statement script with the simple query protocol
        migration.bind.connection.driver_connection.execute(sql)


def released_runner(module) -> bool:
    """A released revision's file, which carries the runner it was released with (`_run`)."""
    return callable(getattr(module, "_run", None))


def _runs(revision: str, direction: str):
    def step() -> None:
        run(revision, direction)
    step.__name__ = direction  # what Alembic names ("Running upgrade ... -> ...")
    return step


@contextlib.contextmanager
def running(script, state: Run) -> Iterator[Run]:
    """For one command: every revision runs through `run` (a released revision's own
    `upgrade`/`downgrade`, which ran its files with the runner it was released with, are set
    aside for the command's length), with ``state``."""
    patched = []
    for rev in script.walk_revisions():
        module = rev.module
        if not released_runner(module):
            continue
        patched.append((module, module.upgrade, module.downgrade))
        module.upgrade = _runs(rev.revision, "upgrade")
        module.downgrade = _runs(rev.revision, "downgrade")
    _run.append(state)
    try:
        yield state
    finally:
        _run.remove(state)
        for module, upgrade, downgrade in patched:
            module.upgrade, module.downgrade = upgrade, downgrade
