"""The benchmark tools that borrow code from the tests find it: B10 (bench/adoption.py) loads the
production dump and fills it with the adoption tests' own helpers, and once lost them when the
tests moved into packages (the full `make bench` then reported B10 as an error). Run in a child
process: the bench puts its own directory first on sys.path, whose module names (common,
fixtures, report) would shadow the tests'."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_b10_finds_the_adoption_helpers() -> None:
    code = ("import sys; sys.path.insert(0, 'bench'); import adoption; "
            "baseline, load_dump, populate_sql = adoption.production_helpers(); "
            "print(baseline, callable(load_dump), callable(populate_sql))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0001_baseline", "True", "True"]
