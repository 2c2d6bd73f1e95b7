"""The README's first commands work as written (`mockbook` and `alembic` are console scripts of
.venv, so the README activates it before it first uses them bare, and the activation line it
shows, followed by its first `mockbook` command, runs), and the guide holds together: the README
links every page of docs/, every link to a section finds it, every file it names by its path
exists, and the figures it gives of the code (the demo's data, the test run's workers and
connections) are the code's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
ACTIVATE = re.compile(r"^(\.|source) \.venv/bin/activate\b")
BARE = re.compile(r"^(mockbook|alembic)\b")


def shell_lines() -> list[str]:
    """Every command line of the README's sh/bash blocks, in order, comments removed."""
    lines, inside = [], False
    for raw in README.read_text().splitlines():
        line = raw.strip()
        if line.startswith("```"):
            inside = not inside and line[3:] in ("sh", "bash", "shell")
            continue
        if inside and line and not line.startswith("#"):
            lines.append(line.split("  #")[0].strip())
    return lines


def test_the_readme_activates_the_venv_before_using_its_commands() -> None:
    lines = shell_lines()
    first_bare = next(i for i, line in enumerate(lines) if BARE.match(line))
    activations = [i for i, line in enumerate(lines) if ACTIVATE.match(line)]
    assert activations and activations[0] < first_bare, (
        f"{lines[first_bare]!r} is used before the README activates .venv"
    )


def test_the_readmes_first_commands_run_as_written() -> None:
    """The activation line and the first bare command after it, run as the README shows them,
    from the repository root (make has created .venv: the suite runs from it)."""
    lines = shell_lines()
    start = next(i for i, line in enumerate(lines) if ACTIVATE.match(line))
    command = next(line for line in lines[start + 1 :] if BARE.match(line))
    result = subprocess.run(
        ["sh", "-c", f"{lines[start]} && {command}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("mockbook "), result.stdout


DOCS = ROOT / "docs"
PAGES = [README, ROOT / "CHANGELOG.md", ROOT / "CONTRIBUTING.md", ROOT / "bench" / "README.md",
         *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to -."""
    headings = re.findall(r"^#+ (.*)$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S),
                          re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_links_every_page_of_docs() -> None:
    """The README is the guide's index: a page in docs/ that it does not link is lost."""
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in
              LINK.findall(README.read_text())}
    missing = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert not missing, f"docs/ pages the README does not link: {missing}"


def test_links_to_a_section_find_it() -> None:
    """Sections move between the README and docs/: every link to a section of a page in the
    repository names a heading that page has."""
    broken = []
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in LINK.findall(text):
            path, _, anchor = target.partition("#")
            if target.startswith("http") or not anchor:
                continue
            linked = (page.parent / path).resolve() if path else page
            if linked.suffix == ".md" and linked.exists() and anchor not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


# a file of the repository named in prose: tests/py/rpc/test_lock_order.py, db/schema/x.sql, ...
# (not one named at a commit, "`bench/results/<file>` at commit `<sha>`": git keeps it there, and
# tests/py/project/test_bench_tools.py reads it)
NAMED_FILE = re.compile(r"(?<![\w./<-])((?:tests|glue|db|bench|docs|clients)/[\w./-]*"
                        r"\.(?:py|sql|md|json|lock|ini|mako|toml|ts|png))\b(?!`? at commit )")


# a file a walkthrough tells the reader to create ("the new file `db/.../x.sql`")
TO_CREATE = re.compile(r"the new file\s+`([^`]+)`")


def test_the_files_the_guide_names_exist() -> None:
    """A test, a module or a SQL file named by its path is still at that path (files move
    between packages; a placeholder such as versions/NNNN_name.py, or a file a walkthrough
    creates, is no file)."""
    missing = sorted({f"{page.relative_to(ROOT)}: {name}"
                      for page in PAGES for name in NAMED_FILE.findall(page.read_text())
                      if "NNNN" not in name and name not in TO_CREATE.findall(page.read_text())
                      and not (ROOT / name).exists() and not (page.parent / name).exists()})
    assert not missing, missing


def _prose(page: Path) -> str:
    return " ".join(page.read_text().replace("**", "").split())


def test_the_demo_the_guide_describes_is_the_demos_data() -> None:
    """The demo's figures in the README, docs/development.md and docs/performance.md are those of
    its sample data (glue/demo/data.py), so a change of the data fails here until they follow."""
    from glue.demo.data import SCALES

    full = SCALES["full"]
    exams = len(full.rush_exams) + len(full.large_exams)
    seats = sum(capacity for _, capacity in full.rush_exams)
    smallest, largest = min(c for _, c in full.rush_exams), max(c for _, c in full.rush_exams)
    rush = f"{full.rush_requests} students on"
    pool = f"{full.connections}-connection pool"
    expected = {
        "README.md": [f"loads {exams} exams", f"{full.students:,} students", rush,
                      f"({seats} seats)", pool],
        "docs/development.md": [f"loads {exams} sample exams", f"{smallest}–{largest} seats",
                                f"{full.students:,} students",
                                f"{full.regular_bookings:,} ordinary booking requests", rush,
                                f"({seats} seats)", pool],
        "docs/performance.md": [f"{rush} the {seats} seats", pool],
    }
    missing = [f"{page}: {phrase!r}" for page, phrases in expected.items()
               for phrase in phrases if phrase not in _prose(ROOT / page)]
    assert not missing, missing


def test_the_test_runs_figures_are_the_codes() -> None:
    """docs/development.md's worker count and the races' connection cap are the Makefile's and
    test_concurrency.py's."""
    workers = re.search(r"^WORKERS \?= (\d+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    cap = re.search(r"^MAX_CONNECTIONS = (\d+)$",
                    (ROOT / "tests/py/rpc/test_concurrency.py").read_text(), re.M)[1]
    prose = _prose(ROOT / "docs" / "development.md")
    assert f"runs pytest on {workers} workers" in prose
    assert f"at most {cap} connections (`MAX_CONNECTIONS` in tests/py/rpc/test_concurrency.py)" \
        in prose


# the packages docs/development.md describes module by module (the CLI, the demo and the sandbox
# are described as a whole: one module per command, its own emulator)
DESCRIBED = ("glue", "glue/hubspot", "glue/sync", "glue/sync/push", "glue/run", "glue/db",
             "db/migrations")


def test_the_architecture_names_every_module() -> None:
    """docs/development.md's layout and architecture name each module of those packages (a
    module a release adds is described with it)."""
    prose = (DOCS / "development.md").read_text()
    missing = [f"{package}/{module.name}" for package in DESCRIBED
               for module in sorted((ROOT / package).glob("*.py"))
               if module.stem != "__init__" and f"`{module.stem}`" not in prose
               and f"`{package}/{module.name}`" not in prose]
    assert not missing, missing
