"""The README's first commands work as written (`mockbook` and `alembic` are console scripts of
.venv, so the README activates it before it first uses them bare, and the activation line it
shows, followed by its first `mockbook` command, runs), and the guide holds together: the README
links every page of docs/, and every link to a section finds it."""

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
