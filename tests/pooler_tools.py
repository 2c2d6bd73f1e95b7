"""`make pooler-tools`: make sure this machine has PgBouncer and openssl, which the pooler and
TLS tests start and use (tests/py/pooler_fixtures.py: a PgBouncer on a private port in front of
the test server; tests/py/tls_fixtures.py: a PostgreSQL with its own CA).

Both run on this machine (unlike pgTAP, which the server needs: tests/pg_extensions.py). When
one is missing, we are root and apt knows its Debian package (``pgbouncer``, ``openssl``), the
package is installed; PgBouncer is never started as a service (the tests start their own, with a
configuration they write). Otherwise one clear message says what to install, and the exit
status is 1.

    python tests/pooler_tools.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from apt_lock import apt_get  # tests/apt_lock.py (this script's folder is on the path)

# tool -> its Debian package; Debian installs pgbouncer in /usr/sbin, outside a user's PATH
TOOLS = {"pgbouncer": "pgbouncer", "openssl": "openssl"}
SBIN = (Path("/usr/sbin"), Path("/usr/local/sbin"))


def which(tool: str) -> str | None:
    """The tool's path: PATH, then the sbin directories."""
    found = shutil.which(tool)
    if found:
        return found
    for folder in SBIN:
        if (folder / tool).is_file() and os.access(folder / tool, os.X_OK):
            return str(folder / tool)
    return None


def version(path: str) -> str:
    flag = "version" if Path(path).name == "openssl" else "--version"
    done = subprocess.run([path, flag], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def apt_install(packages: list[str]) -> str | None:
    """Install the packages with apt; None when done, else why not."""
    if os.geteuid() != 0:
        return "not root"
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    # noninteractive, and no service started by the package's scripts (policy-rc.d is not ours
    # to write: RUNLEVEL=1 makes Debian's invoke-rc.d start nothing)
    env = os.environ | {"RUNLEVEL": "1"}
    for attempt in range(2):
        # `make test` checks the server's extensions at the same time, which may install
        # packages too: apt_get runs one apt-get at a time
        done = apt_get("install", "-y", "-qq", "--no-install-recommends", *packages, env=env)
        if done.returncode == 0:
            return None
        if attempt == 0:  # the package lists may be missing or stale: update once, try again
            apt_get("update", "-qq", env=env)
    return (done.stdout + done.stderr).strip().splitlines()[-1] if (done.stdout + done.stderr) \
        else "apt-get failed"


def main() -> int:
    missing = [tool for tool in TOOLS if which(tool) is None]
    if missing:
        packages = [TOOLS[tool] for tool in missing]
        print("installing " + " ".join(packages))
        why = apt_install(packages)
        still = [tool for tool in missing if which(tool) is None]
        if still:
            print(f"pooler-tools: {', '.join(still)} missing and not installed here "
                  f"({why or 'installed, but not found on PATH or in /usr/sbin'}). Install the "
                  f"Debian package(s) {' '.join(TOOLS[t] for t in still)} (apt-get install), or "
                  "put the tools on PATH.", file=sys.stderr)
            return 1
    print("; ".join(f"{version(which(tool) or tool)} ({which(tool)})" for tool in TOOLS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
