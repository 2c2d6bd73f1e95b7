"""`make pg-extensions`: make sure the test server has pgTAP and plpgsql_check.

What counts is the server (``pg_available_extensions`` of DATABASE_URL, default the local
postgres), not the Debian directories of this machine: a server of another major, or on another
host, may have both while this machine has neither, and the reverse. Only when the server lacks
one, the server is on this machine, we are root and apt knows the package
(``postgresql-<major>-pgtap``, ``postgresql-<major>-plpgsql-check``) are the packages installed,
and the server is asked again. Otherwise one clear message says what is missing where, and the
exit status is 1.

    python tests/pg_extensions.py [--require NAME ...]

Supported majors: 15 to 18.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

import psycopg
from apt_lock import apt_get  # tests/apt_lock.py (this script's folder is on the path)
from psycopg.conninfo import conninfo_to_dict

REQUIRED = ("pgtap", "plpgsql_check")
SUPPORTED_MAJORS = range(15, 19)
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


def test_server_url() -> str:
    """The server the suite uses (tests/conftest.py): DATABASE_URL, else PGHOST/PGPORT/PGUSER
    (default postgres at 127.0.0.1:5432; libpq reads PGPASSWORD itself)."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    env = os.environ
    return (
        f"postgresql://{env.get('PGUSER', 'postgres')}@{env.get('PGHOST', '127.0.0.1')}:"
        f"{env.get('PGPORT', '5432')}/postgres"
    )


def package(extension: str, major: int) -> str:
    """The Debian/PGDG package of an extension for a major: postgresql-16-plpgsql-check."""
    return f"postgresql-{major}-{extension.replace('_', '-')}"


def server_state(url: str, required: tuple[str, ...]) -> tuple[int, dict[str, str], list[str]]:
    """(major, {extension: default version} available on the server, missing extensions)."""
    with psycopg.connect(url, connect_timeout=10) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
        rows = conn.execute(
            "SELECT name, default_version FROM pg_available_extensions WHERE name = ANY(%s)",
            (list(required),),
        ).fetchall()
    available = dict(rows)
    return major, available, [e for e in required if e not in available]


def is_local(url: str) -> bool:
    host = str(conninfo_to_dict(url).get("host") or "")
    return host in LOCAL_HOSTS or host.startswith("/")


def apt_can_install(packages: list[str]) -> tuple[bool, str]:
    """(True, "") when we are root and apt knows every package; else (False, why not)."""
    if os.geteuid() != 0:
        return False, "not root"
    if not shutil.which("apt-get") or not shutil.which("apt-cache"):
        return False, "no apt-get on this machine"

    def known() -> bool:
        return all(
            subprocess.run(
                ["apt-cache", "show", p], capture_output=True, check=False
            ).returncode
            == 0
            for p in packages
        )

    if known():
        return True, ""
    apt_get("update", "-qq")
    if known():
        return True, ""
    return False, "apt has no package " + " / ".join(packages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--require", nargs="+", default=list(REQUIRED), metavar="EXTENSION")
    args = parser.parse_args(argv)
    required = tuple(args.require)
    url = test_server_url()
    try:
        major, available, missing = server_state(url, required)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"pg-extensions: cannot ask the test server ({first})", file=sys.stderr)
        return 1
    if major not in SUPPORTED_MAJORS:
        print(
            f"pg-extensions: the test server is PostgreSQL {major}; mockbook supports "
            f"{SUPPORTED_MAJORS.start} to {SUPPORTED_MAJORS.stop - 1}",
            file=sys.stderr,
        )
        return 1
    if not missing:
        found = ", ".join(f"{e} {available[e]}" for e in required)
        print(f"PostgreSQL {major} server has {found}")
        return 0

    packages = [package(e, major) for e in missing]
    can, why = apt_can_install(packages) if is_local(url) else (False, "the server is remote")
    if can:
        print("installing " + " ".join(packages))
        done = apt_get("install", "-y", "-qq", *packages)
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
        major, available, missing = server_state(url, required)
        if not missing:
            found = ", ".join(f"{e} {available[e]}" for e in required)
            print(f"PostgreSQL {major} server has {found}")
            return 0
        why = "installed, but the server still does not list them (another installation?)"
    print(
        f"pg-extensions: the test server (PostgreSQL {major}) lacks "
        + ", ".join(missing)
        + f" and they cannot be installed from here ({why}). Install "
        + " ".join(packages)
        + " on the server's host (Debian/Ubuntu: apt-get install; majors Debian itself does"
        " not ship come from the PostgreSQL apt repository), or point DATABASE_URL at a server"
        " that has them.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
