"""`make test` runs the compatibility job's majors among the units of its main run: its pytest is
given `tests` and tests/compat/majors.py, and each major must be collected once from that (pytest
counts a file named beside its directory as inside the directory, whose file pattern leaves
majors.py out), while a plain `pytest` of the directory leaves them out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MAJORS = ROOT / "tests" / "compat" / "majors.py"
VERSIONS = (16, 17, 18)  # MOCKBOOK_COMPAT_MAJORS, as make test gives it


def collected(*args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MOCKBOOK_"))}
    env["MOCKBOOK_COMPAT_MAJORS"] = " ".join(map(str, VERSIONS))
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:randomly", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    # 5: nothing collected
    assert done.returncode in (0, 5), done.stdout[-3000:] + done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def main_run_args() -> list[str]:
    """The paths `make test` gives its main run's pytest, PYTEST_ARGS at its default."""
    makefile = (ROOT / "Makefile").read_text()
    default = re.search(r"^PYTEST_ARGS \?= (.+)$", makefile, re.M).group(1).split()
    line = re.search(r"-m pytest -n \$\(WORKERS\) \$\(PYTEST_ARGS\) ([^;]+);", makefile).group(1)
    return [*default, *line.split()]


def test_make_tests_main_run_collects_each_major_once() -> None:
    args = main_run_args()
    assert "tests/compat/majors.py" in args
    majors = [n for n in collected(*args) if n.startswith("tests/compat/majors.py::")]
    assert sorted(majors) == sorted(
        f"tests/compat/majors.py::test_the_selection_passes_on_the_major[PostgreSQL {m}]"
        for m in VERSIONS), majors


def test_a_plain_pytest_of_the_directory_leaves_the_majors_out() -> None:
    assert MAJORS.is_file()
    nodes = collected("tests/compat")
    assert not [n for n in nodes if "majors.py" in n], nodes
    # named alone, the file is collected once, as any file named on the command line
    assert len([n for n in collected(str(MAJORS.relative_to(ROOT)))
                if "majors.py::" in n]) == len(VERSIONS)
