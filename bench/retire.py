"""Retire benchmark runs from the tree: their results leave bench/results and every page that
cites them cites them by commit instead (git keeps them).

    .venv/bin/python bench/retire.py 20261128T164245Z 20261128T222219Z ...

bench/results holds at most RESULTS_CAP files: the latest full run and the runs the pages cite of
the current code. A run measured of code that has changed since is cited where it lived:

- a link to one of its files, ``[text](results/<file>)``, becomes
  ``text (`bench/results/<file>` at commit `<sha>`)`` (the text left out where it is only the
  run's stamp);
- a run named by its stamp alone becomes ``<stamp> (commit `<sha>`)``;

``<sha>`` is the commit that added the file (``git show <sha>:bench/results/<file>`` prints it).
The figures quoted beside a citation do not change. Then the run's files are removed from the
index and the working tree (``git rm``); commit the result. tests/py/project/test_bench_tools.py
checks the cap and that every citation of a removed run names a commit that has it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_CAP = 12
STAMP = re.compile(r"\b\d{8}T\d{6}Z\b")
# the pages that cite runs, as git pathspecs
PAGES = ("README.md", "CHANGELOG.md", "bench/README.md", ":(glob)docs/*.md")
# a citation by commit of one file, and of a run by its stamp
BY_FILE = re.compile(r"`bench/results/(?P<file>[^`\s]+)` at commit `(?P<sha>[0-9a-f]{7,40})`")
BY_STAMP = re.compile(r"(?P<stamp>\d{8}T\d{6}Z)`? \(commit `(?P<sha>[0-9a-f]{7,40})`\)")
SHA_LENGTH = 12


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                          timeout=60).stdout


def tracked_results(root: Path) -> list[str]:
    """The file names git tracks in bench/results."""
    return [Path(p).name for p in git(root, "ls-files", "-z", "--", "bench/results").split("\0")
            if p]


def pages(root: Path) -> list[str]:
    return [p for p in git(root, "ls-files", "-z", "--", *PAGES).split("\0") if p]


def added_in(root: Path, name: str) -> str:
    """The commit that added bench/results/<name> (abbreviated)."""
    sha = git(root, "log", "--diff-filter=A", "--format=%H", "-1", "--",
              f"bench/results/{name}").strip()
    if not sha:
        raise SystemExit(f"bench/results/{name} was never committed: nothing to cite")
    return sha[:SHA_LENGTH]


def cite_by_commit(text: str, stamp: str, commits: dict[str, str]) -> str:
    """``text`` with every citation of run ``stamp`` turned into a citation by commit;
    ``commits``: {file name: the commit that has it} of the run's files."""
    first = commits[min(commits)]

    def link(m: re.Match[str]) -> str:
        label, name = m["label"], m["name"]
        if name not in commits:
            raise SystemExit(f"a page links results/{name}, which git does not track")
        cited = f"`bench/results/{name}` at commit `{commits[name]}`"
        if label.strip("`") in (stamp, name, f"results/{name}", f"bench/results/{name}"):
            return cited
        return f"{label} ({cited})"

    text = re.sub(r"\[(?P<label>[^\]]*)\]\((?:\.\./)?(?:bench/)?results/"
                  rf"(?P<name>{stamp}[^)\s]*)\)", link, text)

    # the run named by its stamp alone (in backticks or not), not yet cited by commit
    plain = rf"(?<![/\w-])`?{stamp}(?![\w-])(?!`? \(commit `)`?"
    return re.sub(plain, lambda m: f"{m[0]} (commit `{first}`)", text)


def retire(root: Path, stamps: list[str]) -> list[str]:
    """Cite ``stamps`` by commit on every page and remove their results; the pages changed."""
    tracked = tracked_results(root)
    plans = {}
    for stamp in stamps:
        names = [n for n in tracked if n.startswith(stamp)]
        if not names:
            raise SystemExit(f"no results of run {stamp} in bench/results")
        plans[stamp] = {name: added_in(root, name) for name in names}
    changed = []
    for page in pages(root):
        path = root / page
        text = original = path.read_text()
        for stamp, commits in plans.items():
            if stamp in text:
                text = cite_by_commit(text, stamp, commits)
        if text != original:
            path.write_text(text)
            changed.append(page)
    for commits in plans.values():
        git(root, "rm", "-q", "--", *(f"bench/results/{name}" for name in commits))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stamps", nargs="+", help="the runs to retire (their UTC stamps)")
    args = parser.parse_args(argv)
    bad = [s for s in args.stamps if not STAMP.fullmatch(s)]
    if bad:
        parser.error(f"not a run's stamp: {', '.join(bad)}")
    changed = retire(ROOT, args.stamps)
    left = len(tracked_results(ROOT))
    print(f"retired {len(args.stamps)} run(s); pages changed: {', '.join(changed) or 'none'}; "
          f"{left} results file(s) left (at most {RESULTS_CAP})")
    return 0 if left <= RESULTS_CAP else 1


if __name__ == "__main__":
    sys.exit(main())
