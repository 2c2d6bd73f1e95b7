"""The docs' `mockbook` commands are real: every `mockbook …` command line of README.md and
docs/*.md (in code blocks and in inline code) parses against the click command tree, each
subcommand resolved and each option and argument accepted, as `mockbook` itself would parse it
(nothing runs: click's parser only)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from glue.cli import cli

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`(?:[^`\s]*/)?(mockbook [^`]+)`")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
_REDIRECT = re.compile(r"\s\d*(>>|>|<)&?\s*\S+")


def _segments(line: str) -> list[list[str]]:
    """The simple commands of a shell line, as argument lists (operators split, environment
    assignments and redirections dropped)."""
    lexer = shlex.shlex(_REDIRECT.sub(" ", line), posix=True, punctuation_chars="&|;()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", "||", ";", "|", "&", "(", ")"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def command_lines(text: str) -> list[str]:
    """Every `mockbook …` command of a page: code block lines (continuations joined) and
    inline code spans."""
    found: list[str] = []
    for block in _FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if "mockbook" not in line or line.startswith(("#", "--", "[")):
                continue
            for command in _segments(line):
                while command and _ASSIGNMENT.match(command[0]):
                    command = command[1:]
                if command and command[0].rsplit("/", 1)[-1] == "mockbook":
                    found.append(shlex.join(["mockbook", *command[1:]]))
    prose = _FENCE.sub("", text)
    # a span may pipe the command into another (`mockbook … \| head -1` in a table cell)
    found += [re.split(r"\s\\?\|\s", span)[0] for span in _INLINE.findall(prose)]
    return found


_CHOICE = re.compile(r"\[([^\]|]+?)\s*\|[^\]]*\]")  # [--all | --exam ID]: its first part
_PLACEHOLDER = re.compile(r"<[^>]+>")  # <id>: a value


def _placeholders(line: str) -> list[str]:
    """A doc's command with its placeholders made concrete: `<id>` a value, `[a | b]` its
    first choice, `[--x]` kept, `…` dropped."""
    line = _PLACEHOLDER.sub("1", _CHOICE.sub(r"\1", line))
    return [arg.strip("[]") for arg in shlex.split(line)[1:] if arg not in ("…", "...")]


def parse(line: str) -> None:
    """Parse `mockbook …` as click would, down to the last subcommand; raise click's error."""
    args = _placeholders(line)
    try:
        ctx = cli.make_context("mockbook", list(args), resilient_parsing=False)
        command: click.Command = cli
        while isinstance(command, click.Group) and _rest(ctx):
            name, sub, rest = command.resolve_command(ctx, _rest(ctx))
            assert sub is not None, f"{line}: no command {name}"
            if "-h" in rest or "--help" in rest:
                return
            ctx = sub.make_context(name, rest, parent=ctx, resilient_parsing=False)
            command = sub
    except (click.exceptions.Exit, click.exceptions.NoArgsIsHelpError):
        return  # --version (printed, exit 0); a group named alone (`mockbook adoption`)


def _rest(ctx: click.Context) -> list[str]:
    """What a group left for its subcommand (click keeps the subcommand's name apart)."""
    protected = ctx._protected_args if hasattr(ctx, "_protected_args") else ctx.protected_args
    return [*protected, *ctx.args]


def all_lines() -> list[tuple[str, str]]:
    return [(page.relative_to(ROOT).as_posix(), line)
            for page in PAGES for line in command_lines(page.read_text())]


def test_every_documented_command_parses() -> None:
    lines = all_lines()
    assert len(lines) > 40  # not vacuous: the docs are full of commands
    problems = []
    for page, line in lines:
        try:
            parse(line)
        except (click.UsageError, AssertionError) as exc:
            problems.append(f"{page}: {line}\n    {exc}")
    assert not problems, "documented commands that mockbook refuses:\n" + "\n".join(problems)


@pytest.mark.parametrize("line", [
    "mockbook adoption list --json",  # --json is the root's option: mockbook --json adoption list
    "mockbook pushh",
    "mockbook migrate --to",
    "mockbook pull --full",
    "mockbook dlq retry notanumber",
])
def test_a_wrong_command_is_refused(line: str) -> None:
    with pytest.raises(click.UsageError):
        parse(line)


def test_commands_are_found_in_blocks_and_prose() -> None:
    text = ("Run `mockbook --json adoption list` or:\n\n```sh\n"
            "cd /srv/mockbook && DATABASE_URL=x .venv/bin/mockbook run --json >> log 2>&1\n"
            "(mockbook pull && mockbook reconcile --max-drift 10) >> log\n"
            "mockbook migrate \\\n  --check   # dry run\n```\n")
    assert command_lines(text) == [
        "mockbook run --json", "mockbook pull", "mockbook reconcile --max-drift 10",
        "mockbook migrate --check", "mockbook --json adoption list"]
    assert _placeholders("mockbook push [--all | --exam ID] <id> …") == ["push", "--all", "1"]
