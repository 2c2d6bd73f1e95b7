"""Copies of the run's template given back clean instead of dropped (tests/conftest.py).

A copy costs the server about 0.3 CPU s to make and drop on this project's machines (its pages
written through the WAL, the drop's checkpoint), and a run makes about a thousand: most of them
for one test each (``fresh_database``, ``push_helpers.push_db``). When a test is done with a
copy, the copy is made equal to the template again and kept for the process's next test, unless
anything but rows changed:

- nobody else is connected to it (a process a test left running: dropped as before);
- no catalog of the database gained, lost or changed a row since it was handed out: every
  catalog row written after the hand-out is newer than the transaction id read then, a row
  deleted changes its catalog's count, and ``pg_class`` (whose rows TRUNCATE rewrites with a new
  file number) is compared on every column but the file number and the planner's counts;
  ``pg_statistic`` is left out (ANALYZE writes it). A materialized view refreshed counts as a
  change: REFRESH gives the view a new TOAST table;
- the database's own settings are the template's (``pg_database``'s privileges, connection
  limit and flags, no ``ALTER DATABASE … SET``, no prepared transaction, replication slot or
  subscription in it).

Then, in one transaction with the tables' triggers off: every table holding a page since the
hand-out is truncated, the rows the template holds are copied back, every sequence is set to
the template's value, the planner's counts of the tables and indexes are the template's again,
the statistics ANALYZE wrote for them are removed (the template has none), and the database's
statistics counters are reset. Anything unexpected (an error, a lock not granted in a second)
drops the copy as before. What the template holds is read from the process's first copy,
before any test has it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

# pg_class's columns that change without DDL: the file (TRUNCATE, REFRESH, VACUUM FULL), the
# planner's counts (VACUUM, ANALYZE) and the freeze horizons
_CLASS_COLUMNS = ("oid, relname, relnamespace, reltype, reloftype, relowner, relam, reltablespace,"
                  " reltoastrelid, relhasindex, relisshared, relpersistence, relkind, relnatts,"
                  " relchecks, relhasrules, relhastriggers, relhassubclass, relrowsecurity,"
                  " relforcerowsecurity, relispopulated, relreplident, relispartition,"
                  " relacl, reloptions, relpartbound")
_CLASS_DIGEST = (f"SELECT md5(string_agg(row({_CLASS_COLUMNS})::text, ',' ORDER BY oid))"
                 " FROM pg_catalog.pg_class")
_CATALOGS = ("SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c"
             " WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'"
             " AND NOT c.relisshared"
             " AND c.relname NOT IN ('pg_class', 'pg_statistic', 'pg_statistic_ext_data')"
             " ORDER BY 1")
_TABLES = ("SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c"
           " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
           " WHERE c.relkind IN ('r', 'p')"
           " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
           " AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1")
# the materialized views: a REFRESH ... CONCURRENTLY writes their rows without a catalog change,
# and the reset cannot truncate them, so a copy whose views differ from the template's is refused
_VIEWS = ("SELECT c.oid::regclass::text, c.relispopulated, pg_catalog.pg_relation_size(c.oid)"
          " FROM pg_catalog.pg_class AS c WHERE c.relkind = 'm' ORDER BY 1")
_DATABASE = ("SELECT d.datacl::text, d.datconnlimit, d.datallowconn, d.datistemplate,"
             " (SELECT count(*) FROM pg_catalog.pg_db_role_setting WHERE setdatabase = d.oid)"
             " + (SELECT count(*) FROM pg_catalog.pg_prepared_xacts WHERE database = d.datname)"
             " + (SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE database = d.datname)"
             " + (SELECT count(*) FROM pg_catalog.pg_subscription WHERE subdbid = d.oid)"
             " FROM pg_catalog.pg_database AS d WHERE d.datname = current_database()")
# the tables' and indexes' rows of pg_class outside the system's schemas
_USER_RELATIONS = ("SELECT c.oid FROM pg_catalog.pg_class AS c"
                   " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
                   " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
                   " AND n.nspname NOT LIKE 'pg\\_toast%'")
_SIZES = ("SELECT oid::bigint, relpages, reltuples, relallvisible FROM pg_catalog.pg_class"
          f" WHERE oid IN ({_USER_RELATIONS}) ORDER BY oid")
# a session's temporary schemas stay behind it, empty (its temporary tables are dropped when it
# ends), and the next session with its backend number uses them: nothing a test sees
def _where(catalog: str) -> str:
    return " WHERE nspname !~ '^pg_(toast_)?temp_'" if catalog == "pg_namespace" else ""


_OTHERS = ("SELECT count(*) FROM pg_catalog.pg_stat_activity"
           " WHERE datname = current_database() AND pid <> pg_backend_pid()"
           " AND backend_type = 'client backend'")
# a connection the test has just closed leaves the server a moment later (later still on a
# loaded machine): waited for this long
OTHERS_WAIT = 3.0
# the reset's wait for its locks: longer than deadlock_timeout (1 s), after which an autovacuum
# worker on one of the copy's tables gives its lock up to the waiting TRUNCATE
RESET_LOCK_TIMEOUT = "3s"


@dataclass
class Template:
    """What a copy of the template holds, read from a copy no test has had."""

    catalogs: dict[str, int]
    class_digest: str
    database: tuple
    tables: list[str]
    rows: dict[str, bytes]  # the tables the template has rows in: their rows (COPY text)
    sequences: list[tuple[str, int | None]]
    sizes: list[tuple[int, int, float, int]]  # the tables' and indexes' planner counts
    views: list[tuple[str, bool, int, str]] = field(default_factory=list)  # see _views

    @classmethod
    def read(cls, conn: psycopg.Connection) -> Template:
        catalogs = [row[0] for row in conn.execute(_CATALOGS)]
        counts = dict(conn.execute(" UNION ALL ".join(
            f"SELECT '{name}', count(*) FROM {name}{_where(name)}" for name in catalogs
        )).fetchall())
        tables = [row[0] for row in conn.execute(_TABLES)]
        rows: dict[str, bytes] = {}
        for table in _with_pages(conn, tables):
            with conn.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                rows[table] = b"".join(bytes(chunk) for chunk in copy)
        return cls(
            catalogs=counts,
            class_digest=conn.execute(_CLASS_DIGEST).fetchone()[0],
            database=conn.execute(_DATABASE).fetchone(),
            tables=tables,
            rows={table: data for table, data in rows.items() if data},
            sequences=conn.execute(
                "SELECT format('%I.%I', schemaname, sequencename), last_value"
                " FROM pg_catalog.pg_sequences ORDER BY 1").fetchall(),
            sizes=conn.execute(_SIZES).fetchall(),
            views=_views(conn),
        )


def _views(conn: psycopg.Connection) -> list[tuple[str, bool, int, str]]:
    """Each materialized view: whether populated, its size and its rows' digest."""
    views = []
    for name, populated, size in conn.execute(_VIEWS).fetchall():
        digest = conn.execute(
            f"SELECT md5(coalesce(string_agg(v::text, ',' ORDER BY v::text), '')) FROM {name} AS v"
        ).fetchone()[0] if populated else ""
        views.append((name, populated, size, digest))
    return views


def _with_pages(conn: psycopg.Connection, tables: list[str]) -> list[str]:
    """The tables holding at least one page (rows, or rows that were deleted)."""
    if not tables:
        return []
    sizes = conn.execute("SELECT " + ", ".join(
        f"pg_catalog.pg_relation_size('{table}')" for table in tables)).fetchone()
    return [table for table, size in zip(tables, sizes, strict=True) if size]


def _alone(conn: psycopg.Connection) -> bool:
    """Whether no other client is connected to ``conn``'s database, within OTHERS_WAIT."""
    until = time.monotonic() + OTHERS_WAIT
    while conn.execute(_OTHERS).fetchone()[0]:
        if time.monotonic() >= until:
            return False
        time.sleep(0.05)
    return True


def handed_out(conn: psycopg.Connection) -> int:
    """A transaction id that every catalog row ``conn``'s database gets from now on is at least
    as new as."""
    return int(conn.execute("SELECT pg_catalog.pg_current_xact_id()::text").fetchone()[0])


@dataclass
class Recycler:
    """The copies of one template a process holds: ``mark`` when one is handed out, ``give_back``
    when its test is done (True: kept, clean, for ``take``), ``take`` for the next."""

    template: Template | None = None
    marks: dict[str, int] = field(default_factory=dict)  # copy -> its hand-out's handed_out()
    ready: list[str] = field(default_factory=list)
    keep: int = 2
    params: dict[str, str] | None = None  # the server's, as the copies were made

    def mark(self, url: str, name: str, xid: int) -> None:
        """``name``, a copy of the template, is handed out; ``xid``: handed_out() read after it
        was made or made clean."""
        if self.template is None:
            with psycopg.connect(url, autocommit=True) as conn:
                self.template = Template.read(conn)
        self.marks[name] = xid

    def take(self) -> tuple[str, int] | None:
        """A clean copy kept, and its mark (the caller renames it and marks it again under its
        new name with ``mark``), or None."""
        if not self.ready:
            return None
        name = self.ready.pop()
        return name, self.marks.pop(name)

    def give_back(self, url: str, name: str) -> bool:
        """Whether the copy is clean again and kept (else the caller drops it)."""
        xid = self.marks.pop(name, None)
        if xid is None or self.template is None or len(self.ready) >= self.keep:
            return False
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                if not self._unchanged(conn, xid):
                    return False
                self._reset(conn)
                self.marks[name] = handed_out(conn)
        except psycopg.Error:
            self.marks.pop(name, None)
            return False
        self.ready.append(name)
        return True

    def _unchanged(self, conn: psycopg.Connection, xid: int) -> bool:
        template = self.template
        assert template is not None
        if not _alone(conn):
            return False
        if conn.execute(_DATABASE).fetchone() != template.database:
            return False
        # age(): newer rows have smaller ages, so "written at or after the hand-out" holds across
        # the 32-bit transaction ids' wraparound; frozen rows are the oldest of all
        counts = conn.execute(" UNION ALL ".join(
            f"SELECT '{name}', count(*), count(*) FILTER (WHERE age(xmin) <= age(%(x)s::xid))"
            f" FROM {name}{_where(name)}" for name in template.catalogs),
            {"x": str(xid % 2**32)}).fetchall()
        if any(new or template.catalogs.get(name) != count for name, count, new in counts):
            return False
        if len(counts) != len(template.catalogs):
            return False
        if conn.execute(_CLASS_DIGEST).fetchone()[0] != template.class_digest:
            return False
        return _views(conn) == template.views

    def _reset(self, conn: psycopg.Connection) -> None:
        template = self.template
        assert template is not None
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{RESET_LOCK_TIMEOUT}'")
            conn.execute("SET LOCAL session_replication_role = replica")  # no triggers
            dirty = sorted(set(_with_pages(conn, template.tables)) | set(template.rows))
            if dirty:
                conn.execute(f"TRUNCATE {', '.join(dirty)} CASCADE")
            for table, data in template.rows.items():
                with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(data)
            if template.sequences:
                conn.execute(sql.SQL("SELECT {}").format(sql.SQL(", ").join(
                    sql.SQL("pg_catalog.setval({}, {}, {})").format(
                        sql.Literal(name), sql.Literal(value if value is not None else 1),
                        sql.Literal(value is not None))
                    for name, value in template.sequences)))
            sizes = conn.execute(_SIZES).fetchall()
            if sizes != template.sizes:
                with conn.cursor() as cur:
                    cur.executemany(
                        "UPDATE pg_catalog.pg_class SET relpages = %s, reltuples = %s,"
                        " relallvisible = %s WHERE oid = %s::oid",
                        [(pages, tuples, visible, oid)
                         for oid, pages, tuples, visible in set(template.sizes) - set(sizes)])
            for catalog in ("pg_statistic", "pg_statistic_ext_data"):
                column = "starelid" if catalog == "pg_statistic" else (
                    "(SELECT stxrelid FROM pg_catalog.pg_statistic_ext WHERE oid = stxoid)")
                conn.execute(f"DELETE FROM pg_catalog.{catalog}"
                             f" WHERE {column} IN ({_USER_RELATIONS})")
        # the rows copied back are counted once their transaction's counts are flushed, which a
        # backend does when it is idle next (at most once a second unless asked)
        conn.execute("SELECT pg_catalog.pg_stat_force_next_flush()")
        conn.execute("SELECT pg_catalog.pg_stat_reset()")
