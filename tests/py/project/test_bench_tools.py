"""The benchmark tools' own logic, and the code they borrow from the tests. B10
(bench/adoption.py) loads the production dump and fills it with the adoption tests' own
helpers, and once lost them when the tests moved into packages (the full `make bench` then
reported B10 as an error); B1-scaling is derived from B1's figures; B4r's reference trigger
comes and goes without a trace. Code that imports the bench's modules by their own names runs
in a child process: the bench puts its own directory first on sys.path, whose module names
(common, fixtures, report) would shadow the tests'."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg

from bench import fixtures as bench_fixtures

ROOT = Path(__file__).resolve().parents[3]


def test_b10_finds_the_adoption_helpers() -> None:
    code = ("import sys; sys.path.insert(0, 'bench'); import adoption; "
            "baseline, load_dump, populate_sql = adoption.production_helpers(); "
            "print(baseline, callable(load_dump), callable(populate_sql))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0001_baseline", "True", "True"]


def test_b10_splits_the_upgrade_per_frozen_file() -> None:
    """B10's `locked_steps`: a file's statement groups add up (a *.nontx.sql file is one group
    per statement), the first group starts with the upgrade, the longest come first."""
    code = """
import json, sys
sys.path.insert(0, 'bench')
import adoption
from glue.db import migrations
names = migrations.steps('0001_baseline')
ticks = [30.0 + i for i in range(len(names))]  # from 10: the first group 20 s, others 1 s
print(json.dumps(adoption.where_the_time_goes(names, 10.0, ticks, top=2)))
print(len(names), len({n.split(': ')[1].removesuffix('.nontx') for n in names}),
      sum(n.endswith(': 0000_preamble') for n in names))
try:
    adoption.where_the_time_goes(names, 10.0, ticks[:-1])
except AssertionError as e:
    print('refused:', e)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    spent_line, counts_line, refused = done.stdout.splitlines()
    groups, files, preambles = map(int, counts_line.split())
    first, second, rest = json.loads(spent_line).items()
    # every revision's preamble is one file name: the first group's 20 s and 1 s for each other
    assert first == ("0000_preamble", 20.0 + preambles - 1)
    assert second[1] > 1.0  # a *.nontx.sql file of several statements: one group each, summed
    assert rest[0] == f"the other {files - 2} files"
    assert round(first[1] + second[1] + rest[1], 3) == 20.0 + groups - 1
    assert refused.startswith("refused:")


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


def test_b4r_bare_rows_come_and_go(make_database) -> None:
    """What `make bench` does for B4r on its database: the bare design installed, switched on in
    place of record_row_change (its rows go to its own tables, the outbox's sequence, which the
    worker reads, is not drawn from), switched back, and dropped without a trace."""
    url = make_database("b4r", migrated=True)

    def book(conn: psycopg.Connection, exam: str) -> None:
        with conn.transaction():
            conn.execute(bench_fixtures.POSTGREST_PREAMBLE)
            result = conn.execute(
                "SELECT hubspot_sync.create_booking(p_student_id := 'TD1', "
                "p_email := 'td1@example.com', p_mock_exam_id := %s, "
                "p_idempotency_key := %s, p_attending_location := 'mississauga')",
                (exam, f"b4r-{exam}")).fetchone()[0]
        assert result["success"] is True, result

    def state(conn: psycopg.Connection) -> tuple[int, int, int]:
        return conn.execute(
            "SELECT (SELECT count(*) FROM hubspot_sync.sync_queue),"
            " (SELECT count(*) FROM hubspot_sync.bare_sq),"
            " pg_sequence_last_value('hubspot_sync.sync_queue_id_seq')").fetchone()

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO hubspot_sync.hubspot_contact_credits
                   (hubspot_id, student_id, email, firstname, lastname, sj_credits)
               VALUES ('TD1', 'TD1', 'td1@example.com', 'Trigger', 'Designs', 100)""")
        bench_fixtures.add_exam(conn, "B4R1", 10, 10)
        bench_fixtures.add_exam(conn, "B4R2", 11, 10)
        conn.execute(bench_fixtures.BARE_DROP)
        conn.execute(bench_fixtures.BARE)
        bench_fixtures.set_bare(url, True)
        queued, bare, last = state(conn)
        book(conn, "B4R1")
        assert state(conn) == (queued, bare + 3, last)
        bench_fixtures.set_bare(url, False)
        book(conn, "B4R2")
        after = state(conn)
        assert after[:2] == (queued + 3, bare + 3) and after[2] > last
        conn.execute(bench_fixtures.BARE_DROP)
        left = conn.execute(
            "SELECT (SELECT count(*) FROM pg_class WHERE relname IN ('bare_sq', 'bare_audit')),"
            " (SELECT count(*) FROM pg_proc WHERE proname = 'bench_bare'),"
            " (SELECT count(*) FROM pg_trigger WHERE tgname = 'bench_bare')").fetchone()
    assert left == (0, 0, 0)


STAMP = re.compile(r"\b\d{8}T\d{6}Z\b")


def test_committed_results_are_the_runs_the_documentation_cites() -> None:
    """bench/results holds the latest full run (the Results block of bench/README.md names it)
    and the runs a page cites, nothing else: the history of the others is in git."""
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "bench" / "README.md",
             *sorted((ROOT / "docs").glob("*.md"))]
    cited = {stamp for page in pages for stamp in STAMP.findall(page.read_text())}
    committed = {STAMP.search(p.name)[0] for p in (ROOT / "bench" / "results").iterdir()
                 if STAMP.search(p.name)}
    assert committed - cited == set(), "results no page cites: delete them (git keeps them)"
    assert cited - committed == set(), "runs cited whose results are not committed"


def test_the_benchmark_pages_stay_short() -> None:
    """The method and the answer, not the history: bench/README.md within 300 lines,
    docs/performance.md within 400."""
    assert len((ROOT / "bench" / "README.md").read_text().splitlines()) <= 300
    assert len((ROOT / "docs" / "performance.md").read_text().splitlines()) <= 400
