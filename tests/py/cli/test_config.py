"""glue.config.Settings is the one table of settings: each variable's default
is written once, there. The README keeps the few settings a first run needs (the full table is
docs/settings.md, checked by its own test): each must be a variable the glue reads, with the
glue's default."""

from __future__ import annotations

import importlib
import re
from dataclasses import fields
from pathlib import Path

import click
import pytest

from glue.cli import LAZY_COMMANDS
from glue.config import ConfigError, Settings

README = Path(__file__).resolve().parents[3] / "README.md"
NO_DEFAULT = {"unset", "embedded", "—"}


def readme_rows() -> dict[str, str]:
    """{variable: its default cell} from the README's Settings table."""
    text = README.read_text()
    section = text[text.index("\n## Settings\n") + 1 :]
    section = section[: section.index("\n## ")]
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


def test_the_readmes_first_run_settings_have_the_glues_defaults() -> None:
    rows = readme_rows()
    assert {"DATABASE_URL", "HUBSPOT_ACCESS_TOKEN"} <= set(rows), rows
    table = {f.metadata["env"]: f.default for f in fields(Settings)}
    options = cli_options()
    for env, cell in rows.items():
        default = table[env] if env in table else options.get(env)
        assert same(cell, default), f"{env}: README {cell!r}, glue {default!r}"


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
