"""The docs' `mockbook` commands are real: every `mockbook …` command line of README.md,
docs/*.md and bench/README.md parses against the click command tree, each subcommand resolved
and each option and argument accepted, as `mockbook` itself would parse it (nothing runs:
click's parser only). A command is found wherever the docs show one: a code block's line
(after environment assignments, in a pipeline or a cron line), a comment of a code block, an
inline code span (one broken across lines included), and a span that names a subcommand without
the `mockbook` before it (`status --check`, `adoption list`)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from glue.cli import cli

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
# a fence may be indented (a code block inside a list item)
_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"`([^`]+)`")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
_REDIRECT = re.compile(r"\s\d*(>>|>|<)&?\s*\S+")
# a comment of a code block: after `#` (shell) or a line's leading `-- ` (SQL)
_COMMENT = re.compile(r"(?:^|\s)#\s*(.*)$|^--\s+(.*)$")
# a comment's own command: `# mockbook …`, `(mockbook …: what it does)`
_COMMENT_COMMAND = re.compile(r"(?:^|\()\s*((?:[^\s()]*/)?mockbook\s(?:[^():;,]|[:,](?=\S))+)")
# inline code: the commands of a span split at `&&`, `||`, `;` and at a pipe (`|`, `\|` in a
# table cell) that is not a placeholder's choice (`[--all | --exam ID]`)
_OPERATOR = re.compile(r"\s*(?:&&|\|\||;)\s*|\s\\?\|\s(?![^\[\]]*\])")
_OUTPUT_REDIRECT = re.compile(r"\s\d*>>?&?\s*\S+")  # inline `<id>` is a placeholder
_LEAD = re.compile(r"""^(?:(?:[A-Z_][A-Z0-9_]*=(?:'[^']*'|"[^"]*"|[^\s'"])*|…|\.\.\.|\()\s*)*""")
_MOCKBOOK = re.compile(r"^(?:\S*/)?mockbook\s+(?=\S)")
_CTX = click.Context(cli)
# the top-level subcommands, and whether each is a group (`adoption`) or a command (`status`)
SUBCOMMANDS = {name: isinstance(cli.get_command(_CTX, name), click.Group)
               for name in cli.list_commands(_CTX)}


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


def _shell_commands(line: str) -> list[str]:
    """The `mockbook …` commands of a code block's line."""
    found = []
    for command in _segments(line):
        while command and _ASSIGNMENT.match(command[0]):
            command = command[1:]
        if command and command[0].rsplit("/", 1)[-1] == "mockbook":
            found.append(shlex.join(["mockbook", *command[1:]]))
    return found


def _subcommand(words: list[str]) -> bool:
    """Whether a span's words are a subcommand written without `mockbook`: its name then an
    option (`status --check`), or a group's name then a name (`adoption list`). A name alone
    (`push`, prose's name of the command) and a command's name then words (`import done in
    9.8 s`, its log line) are not; nor is a shorthand (`dlq retry/discard`)."""
    if len(words) < 2 or words[0] not in SUBCOMMANDS:
        return False
    return words[1].startswith("-") or (SUBCOMMANDS[words[0]]
                                        and re.fullmatch(r"[a-z][a-z-]*", words[1]) is not None)


def _takes_value(words: list[str]) -> bool:
    """Whether `mockbook <words>` ends with an option that takes a value."""
    command: click.Command = cli
    for word in words[:-1]:
        if isinstance(command, click.Group) and word in command.list_commands(_CTX):
            command = command.get_command(_CTX, word)
    return any(words[-1] in p.opts and not (p.is_flag or p.count)
               for p in command.params if isinstance(p, click.Option))


def _span_commands(span: str) -> list[str]:
    """The `mockbook …` commands of an inline code span, as written (placeholders kept)."""
    span = " ".join(span.split())  # a span broken across lines reads as one line
    found = []
    for i, part in enumerate(_OPERATOR.split(_OUTPUT_REDIRECT.sub(" ", span))):
        part = _LEAD.sub("", part.strip()).rstrip(")").strip()
        if _MOCKBOOK.match(part):
            found.append(_MOCKBOOK.sub("mockbook ", part))
        elif i == 0 and _subcommand(part.split()):
            # `webhooks check --url`: the span names the option, its value left to the prose
            found.append(f"mockbook {part}" + (" <value>" if _takes_value(part.split()) else ""))
    return found


def _comment_commands(comment: str) -> list[str]:
    """The commands of a code block's comment: its inline code spans, and a `mockbook …` that
    opens it or a parenthesis of it."""
    found = [c for span in _SPAN.findall(comment) for c in _span_commands(span)]
    return found + [m.strip() for m in _COMMENT_COMMAND.findall(_SPAN.sub("", comment))]


def command_lines(text: str) -> list[str]:
    """Every `mockbook …` command of a page: code block lines (continuations joined) and their
    comments, then inline code spans."""
    found: list[str] = []
    for block in _FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if "mockbook" not in line or line.startswith("["):
                continue
            comment = _COMMENT.search(line)
            if comment:
                line = line[:comment.start()]
                found += _shell_commands(line) + _comment_commands(comment[1] or comment[2])
            elif not line.startswith("-"):
                found += _shell_commands(line)
    found += [c for span in _SPAN.findall(_FENCE.sub("", text)) for c in _span_commands(span)]
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
    assert len(lines) > 150  # not vacuous: the docs are full of commands
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


# each form the docs write a command in, the command wrong: found, and refused
@pytest.mark.parametrize("text", [
    "```sh\nalembic current   # what is left (mockbook adoption list --json: JSON)\n```\n",
    "```sh\nalembic upgrade head   # `mockbook migrate --sqll` prints the SQL\n```\n",
    "```ini\n# mockbook webhooks serve --hots 127.0.0.1\n```\n",
    "```sql\nNOTIFY pgrst, 'reload config';\n-- mockbook migrat\n```\n",
    "```sh\nPGOPTIONS='-c a.b=on' mockbook migrate --to\n```\n",
    "Set it for the upgrade (`PGOPTIONS='-c a.b=on' mockbook migrate --to`).",
    "`*/2 * * * * cd /srv/mockbook && set -a && . /etc/x.env && .venv/bin/mockbook run --jsn`",
    "`... mockbook run --jsn; rc=$?; [ $rc -eq 0 ] || echo failed | mail ops@example.com`",
    "as `mockbook\n  demo --scal` does",
    "a table cell: `mockbook dlq list --everything \\| head -1`",
    "`adoption list --json`",
    "`adoption lisst`",
    "`status --chek`",
    "`webhooks check --uri`",
])
def test_a_wrong_command_in_any_form_is_refused(text: str) -> None:
    [line] = command_lines(text)
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


def test_comments_spans_and_bare_subcommands_are_found() -> None:
    text = ("```sh\nmockbook adoption list   # what is left (mockbook --json adoption list: JSON)\n"
            "mockbook migrate   # `mockbook migrate --sql` prints the SQL\n"
            "# /etc/mockbook.env (mode 0600, owner mockbook)\n"
            "```\n```python\n    raise   # not a mockbook error\n```\n"
            "  ```sql\n  -- mockbook migrate\n  ```\n"
            "`HUBSPOT_BASE_URL=http://127.0.0.1:8765 HUBSPOT_ACCESS_TOKEN=x mockbook\n"
            "hubspot setup`, "
            "`mockbook\n  demo`, `status --check`, `webhooks check --url`, `dlq retry`, "
            "`mockbook push [--all | --exam ID] \\| head -1`.")
    assert command_lines(text) == [
        "mockbook adoption list", "mockbook --json adoption list", "mockbook migrate",
        "mockbook migrate --sql", "mockbook migrate", "mockbook hubspot setup", "mockbook demo",
        "mockbook status --check", "mockbook webhooks check --url <value>", "mockbook dlq retry",
        "mockbook push [--all | --exam ID]"]
    # a name alone, a log line, a shorthand, SQL, a file: prose, not commands
    assert command_lines("`push`, `import done in 9.8 s: read exams 40`, `dlq retry/discard`, "
                         "`webhooks subscriptions|check`, `SELECT status FROM x`, "
                         "`import.py`, `mockbook_glue`, `pip freeze --exclude mockbook`") == []
    assert set(SUBCOMMANDS) >= {"adoption", "migrate", "status", "webhooks"}
    assert SUBCOMMANDS["adoption"] and not SUBCOMMANDS["status"]
