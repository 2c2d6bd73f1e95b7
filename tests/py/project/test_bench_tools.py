"""The benchmark tools' own logic, and the code they borrow from the tests. B10
(bench/adoption.py) loads the production dump and fills it with the adoption tests' own
helpers, and once lost them when the tests moved into packages (the full `make bench` then
reported B10 as an error); B1-scaling is derived from B1's figures. Run in a child process: the
bench puts its own directory first on sys.path, whose module names (common, fixtures, report)
would shadow the tests'."""

from __future__ import annotations

import json
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


def test_b1_scaling_divides_b1_at_the_most_clients_by_b1_at_8() -> None:
    code = """
import json, sys
sys.path.insert(0, 'bench')
import workloads
from common import Figure

def b1(n, ratio):
    f = Figure(id=f'B1@{n}', bench='B1', title='', ratio=ratio)
    f.details.update(clients_requested=n, clients=min(n, 86))
    return f

out = []
for ratios in ((0.3, 0.25, 0.24), (0.3, 0.31, 0.27), (0.3, None, None)):
    figs = [b1(n, r) for n, r in zip((8, 32, 128), ratios)]
    got = workloads._b1_scaling(figs)
    out.append([got.id, got.status, got.ratio, got.passed, got.details.get('clients')])
got = workloads._b1_scaling([b1(8, 0.3)])
out.append([got.id, got.status, got.ratio, got.passed, None])
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        ["B1-scaling", "measured", 0.8, False, 86],
        ["B1-scaling", "measured", 0.9, True, 86],
        ["B1-scaling", "not measured", None, None, None],
        ["B1-scaling", "not measured", None, None, None],
    ]
