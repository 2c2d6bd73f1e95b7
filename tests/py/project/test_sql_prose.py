"""How much of db/functions is prose, and how long an internal function's comment may be.

A function file says what and why in a few lines; history, measurements and a second copy of
the code or of docs/ do not belong there. Prose is every line of a `/* ... */` block, every
`--` comment line and every line of a `COMMENT ON ... IS '...';` statement. Its share is
measured over db/functions as a whole, the API's comments (the published contract from which
docs/rpc.md and the TypeScript client are generated) included. Each `COMMENT ON FUNCTION
mockbook_internal...` text is at most MAX_COMMENT_LINES lines and MAX_COMMENT_CHARS characters.
NOT_YET_TRIMMED lists the files still over these limits (left out of the share too); a listed
file that meets them fails its test until it leaves the list, so the list only shrinks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[3] / "db" / "functions"
FILES = sorted(FUNCTIONS.rglob("*.sql"))
MAX_PROSE_SHARE = 0.15
MAX_COMMENT_LINES = 6
MAX_COMMENT_CHARS = 600
NOT_YET_TRIMMED: frozenset[str] = frozenset()
COMMENT_ON = re.compile(r"^COMMENT ON (?P<kind>\w+) (?P<name>[\w.]+)[^']*?\bIS\s*'", re.I | re.M)


@dataclass
class Comment:
    kind: str
    name: str
    text: str


@dataclass
class Prose:
    lines: int = 0
    prose: int = 0
    comments: list[Comment] = field(default_factory=list)


def literal_end(text: str, start: int) -> int:
    """Index of the quote closing the literal opened just before `start` (`''` is a quote)."""
    i = start
    while True:
        i = text.index("'", i)
        if text.startswith("''", i):
            i += 2
            continue
        if re.match(r"'\s*;", text[i:]):
            return i
        i += 1


def measure(sql: str) -> Prose:
    """Count the prose lines of one SQL file and collect its COMMENT ON texts."""
    lines = sql.splitlines()
    result = Prose(lines=len(lines))
    prose = [False] * len(lines)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def line_of(pos: int) -> int:
        return next(n for n in range(len(lines)) if offsets[n + 1] > pos)

    n = 0
    while n < len(lines):
        stripped = lines[n].lstrip()
        if stripped.startswith("--"):
            prose[n] = True
        elif stripped.startswith("/*"):
            end = sql.index("*/", offsets[n] + len(lines[n]) - len(stripped))
            last = line_of(end)
            prose[n:last + 1] = [True] * (last + 1 - n)
            n = last
        elif m := COMMENT_ON.match(sql, offsets[n] + len(lines[n]) - len(stripped)):
            start = m.end()
            end = literal_end(sql, start)
            last = line_of(end)
            prose[n:last + 1] = [True] * (last + 1 - n)
            text = sql[start:end].replace("''", "'")
            result.comments.append(Comment(m["kind"].upper(), m["name"], text))
            n = last
        n += 1
    result.prose = sum(prose)
    return result


MEASURED = {path: measure(path.read_text()) for path in FILES}


def test_the_measure_counts_each_kind_of_prose() -> None:
    sql = (
        "/**\n * Why: a header.\n */\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n"
        "    -- a comment in the body\n    SELECT 1 -- a trailing one is code\n$$;\n\n"
        "COMMENT ON FUNCTION mockbook_internal.f() IS\n'What it is; it''s why.\n\n"
        "Two paragraphs: a '';'' inside.';\nREVOKE ALL ON FUNCTION f() FROM PUBLIC;\n"
    )
    got = measure(sql)
    assert (got.lines, got.prose) == (13, 8)
    assert [(c.kind, c.name) for c in got.comments] == [("FUNCTION", "mockbook_internal.f")]
    assert got.comments[0].text == "What it is; it's why.\n\nTwo paragraphs: a ';' inside."


def trimmed(path: Path) -> bool:
    return path.name not in NOT_YET_TRIMMED


def test_prose_is_at_most_15_percent_of_the_functions() -> None:
    counted = {path: p for path, p in MEASURED.items() if trimmed(path)}
    lines = sum(p.lines for p in counted.values())
    prose = sum(p.prose for p in counted.values())
    share = prose / lines
    worst = sorted(counted.items(), key=lambda item: -item[1].prose)[:5]
    report = ", ".join(f"{path.relative_to(FUNCTIONS)} {p.prose}" for path, p in worst)
    assert {path.parent.name for path in counted} == {"api", "internal"}
    assert len(counted) > len(MEASURED) / 2
    assert share <= MAX_PROSE_SHARE, (
        f"prose is {share:.1%} of db/functions ({prose} of {lines} lines; "
        f"at most {MAX_PROSE_SHARE:.0%}); most prose: {report}"
    )


INTERNAL_COMMENTS = [
    (path, c) for path, p in MEASURED.items() for c in p.comments
    if c.kind == "FUNCTION" and c.name.startswith("mockbook_internal.")
]


def test_every_internal_function_has_its_comment_measured() -> None:
    internal = [p for p in FILES if p.parent.name == "internal"]
    named = {path for path, _ in INTERNAL_COMMENTS}
    assert internal and named == set(internal)
    assert {p.name for p in internal} >= NOT_YET_TRIMMED


@pytest.mark.parametrize("path,comment", INTERNAL_COMMENTS,
                         ids=[c.name.split(".")[1] for _, c in INTERNAL_COMMENTS])
def test_an_internal_comment_says_what_and_why_in_a_few_lines(path: Path, comment: Comment) -> None:
    lines = comment.text.strip().splitlines()
    short = len(lines) <= MAX_COMMENT_LINES and len(comment.text) <= MAX_COMMENT_CHARS
    if not trimmed(path):
        assert not short, f"{path.name} meets the limits: take it off NOT_YET_TRIMMED"
        return
    assert short, (
        f"{path.relative_to(FUNCTIONS)}: COMMENT ON FUNCTION {comment.name} has {len(lines)} "
        f"lines, {len(comment.text)} characters (at most {MAX_COMMENT_LINES} and "
        f"{MAX_COMMENT_CHARS}); keep what and why, put the rest in docs/"
    )
