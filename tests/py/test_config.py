"""glue.config.Settings is the one table of settings: each variable's default
is written once, there. The README's Configuration table must list every variable the glue
reads (the table's, and the `envvar=` of CLI options) with the same default."""

from __future__ import annotations

import importlib
import re
from dataclasses import fields
from pathlib import Path

import click
import pytest

from glue.cli import LAZY_COMMANDS
from glue.config import ConfigError, Settings

README = Path(__file__).resolve().parents[2] / "README.md"
NO_DEFAULT = {"unset", "embedded", "—"}


def readme_rows() -> dict[str, str]:
    """{variable: its default cell} from the README's Configuration table."""
    text = README.read_text()
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n---")]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        default = re.sub(r"\s*\(.*\)$", "", cells[1])
        parts = [p.strip() for p in default.split(",")]
        for i, name in enumerate(names):
            rows[name] = parts[i] if len(parts) == len(names) else default
    return rows


def same(cell: str, default: object) -> bool:
    if default is None or not isinstance(default, str | int | float | Path):  # click's UNSET
        return cell in NO_DEFAULT
    if isinstance(default, int | float):
        return float(cell.replace("_", "")) == float(default)
    return cell.strip("`") == str(default)


def cli_options() -> dict[str, object]:
    """{variable: default} of every CLI option with an envvar, all commands loaded."""
    found: dict[str, object] = {}

    def walk(command: click.Command) -> None:
        for param in command.params:
            if isinstance(param, click.Option) and param.envvar:
                found[str(param.envvar)] = param.default
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    for target, _help in LAZY_COMMANDS.values():
        module_name, attribute = target.split(":")
        walk(getattr(importlib.import_module(module_name), attribute))
    return found


def test_every_setting_is_in_the_readme_with_its_default() -> None:
    rows = readme_rows()
    for f in fields(Settings):
        env = f.metadata["env"]
        assert env in rows, f"{env} is missing from the README's Configuration table"
        assert same(rows[env], f.default), f"{env}: README {rows[env]!r}, default {f.default!r}"


def test_every_cli_variable_is_in_the_readme_with_its_default() -> None:
    rows = readme_rows()
    table = {f.metadata["env"] for f in fields(Settings)}
    for env, default in cli_options().items():
        assert env in rows, f"{env} (a CLI option's envvar) is missing from the README"
        if env not in table:
            assert same(rows[env], default), f"{env}: README {rows[env]!r}, option {default!r}"


def test_the_readme_lists_no_variable_the_glue_does_not_read() -> None:
    known = {f.metadata["env"] for f in fields(Settings)} | set(cli_options())
    # read elsewhere: the webhook secret (two names) and the demo's scale
    known |= {"HUBSPOT_CLIENT_SECRET", "MOCKBOOK_DEMO_SCALE"}
    assert set(readme_rows()) - known == set()


def test_from_env_reads_each_type_and_refuses_bad_values() -> None:
    s = Settings.from_env(
        {"HUBSPOT_RATE_LIMIT": "5", "MOCKBOOK_RETENTION_DAYS": "2.5", "MOCKBOOK_DATA_DIR": "/d",
         "REDIS_URL": "", "HUBSPOT_BASE_URL": "http://127.0.0.1:1"}
    )
    assert (s.rate_limit_requests, s.retention_days, s.data_dir) == (5, 2.5, Path("/d"))
    assert s.redis_url is None and s.hubspot_base_url == "http://127.0.0.1:1"
    assert Settings.from_env({}) == Settings()
    for env, value in (("HUBSPOT_RATE_LIMIT", "-1"), ("HUBSPOT_RATE_LIMIT", "x"),
                       ("MOCKBOOK_RETENTION_DAYS", "0"), ("HUBSPOT_TIMEOUT_SECONDS", "soon")):
        with pytest.raises(ConfigError, match=env):
            Settings.from_env({env: value})
