"""A CLI option built from its setting's row in glue.config (flag, variable, default, bounds,
meaning): ``@setting_option(PUSH_BATCH_SIZE)``. A setting Settings reads from the environment
gets an option with no default (given, it overrides Settings' value); any other gets the row's
variable as ``envvar`` and the row's default. No command writes a setting's default or meaning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from glue.config import PUSH_BATCH_SIZE, PUSH_LEASE_SECONDS, PushSettings, Variable, declared


def click_type(row: Variable) -> Any:
    """The click type of a row: a bounded range for numbers, a path for paths, else text."""
    kind = row.value_type
    if kind is int:
        return click.IntRange(min=row.minimum, max=row.maximum)
    if kind is float:
        return click.FloatRange(min=row.minimum, max=row.maximum)
    if kind is Path:
        return click.Path(path_type=Path)
    return click.STRING


def option_help(row: Variable) -> str:
    """The row's meaning; for a Settings row its variable and default too (the option has no
    default of its own: unset, Settings' value stands)."""
    meaning = row.meaning[0].upper() + row.meaning[1:]
    if not row.in_settings:
        return f"{meaning}."
    default = "unset" if row.default is None else row.default
    return f"{meaning} ({row.name}, default {default})."


def setting_option(row: Variable | str, *decls: str, **extra: Any) -> Callable[[Any], Any]:
    """``click.option`` of a setting, from its row (or its variable's name). ``decls``: the
    parameter declarations when not just the row's flag (another parameter name, an alias);
    ``extra``: click's presentation (``metavar``, ``hidden``), or a ``type`` narrower than the
    row's (the choices the row's module cannot import)."""
    if isinstance(row, str):
        row = declared(row)
    if row.flag is None:
        raise ValueError(f"{row.name} has no CLI flag in glue.config's table")
    params: dict[str, Any] = {"type": click_type(row), "help": option_help(row), **extra}
    if not row.in_settings:
        params.update(envvar=row.name, default=row.default, show_default=row.default is not None)
    return click.option(*(decls or (row.flag,)), **params)


def push_settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--batch-size`` and ``--lease-seconds`` of a command that pushes (`push`, `run`,
    `worker`), handed to it as one :class:`~glue.config.PushSettings`: its ``push_settings``
    parameter."""

    @functools.wraps(command)
    def with_push_settings(*args: Any, batch_size: int, lease_seconds: int, **kwargs: Any) -> Any:
        push_settings = PushSettings(batch_size=batch_size, lease_seconds=lease_seconds)
        return command(*args, push_settings=push_settings, **kwargs)

    # applied innermost first: --batch-size is listed before --lease-seconds
    return setting_option(PUSH_BATCH_SIZE)(setting_option(PUSH_LEASE_SECONDS)(with_push_settings))
