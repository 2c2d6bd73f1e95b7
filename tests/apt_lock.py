"""apt-get for `make test`'s install steps, one at a time.

`make test` checks the server's extensions (tests/pg_extensions.py) and the pooler's tools
(tests/pooler_tools.py) at the same time; on a fresh machine both install Debian packages. apt
refuses a second apt-get while one holds dpkg's lock or the package lists' lock ("Could not get
lock /var/lib/dpkg/lock-frontend"), so every apt-get these scripts run takes LOCK first (an
exclusive flock, released when the command ends) and waits for dpkg's own locks besides (another
program's apt-get: DPkg::Lock::Timeout).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

LOCK = Path(os.environ.get("MOCKBOOK_APT_LOCK", "/tmp/mockbook-apt.lock"))
WAIT_SECONDS = 600  # dpkg's lock held by another program (an unattended upgrade, a user)
NONINTERACTIVE = {"DEBIAN_FRONTEND": "noninteractive"}


def apt_get(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `apt-get ARGS` (output captured) once no other of these scripts runs apt-get."""
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return subprocess.run(
            ["apt-get", "-o", f"DPkg::Lock::Timeout={WAIT_SECONDS}", *args],
            capture_output=True, text=True, check=False,
            env=(env or os.environ) | NONINTERACTIVE)
