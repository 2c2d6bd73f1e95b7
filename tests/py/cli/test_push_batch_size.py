"""`--batch-size` of `mockbook push`, `run` and `worker` (MOCKBOOK_PUSH_BATCH_SIZE) is the pusher's
batch: records per batch, gathered from claims of up to 1,000 outbox rows. Its default is the
pusher's own (glue.sync.push.BATCH_RECORDS, from the setting's one row in glue.config), so the
commands push as the push benchmark measures: a default of 1,000 records, left from when a batch
was one claim, split every 4,000 bookings into eight batches, each with its own association
calls and partial calls."""

from __future__ import annotations

import importlib

import click
import pytest

from glue.cli import LAZY_COMMANDS
from glue.config import PUSH_BATCH_MAX, PUSH_BATCH_SIZE
from glue.sync.push import BATCH_RECORDS

COMMANDS = ("push", "run", "worker")


def command(name: str) -> click.Command:
    module_name, attribute = LAZY_COMMANDS[name][0].split(":")
    return getattr(importlib.import_module(module_name), attribute)


def batch_size_option(name: str) -> click.Option:
    [option] = [p for p in command(name).params if p.name == "batch_size"]
    assert isinstance(option, click.Option)
    return option


@pytest.mark.parametrize("name", COMMANDS)
def test_the_default_batch_is_the_pushers(name: str) -> None:
    option = batch_size_option(name)
    assert option.default == PUSH_BATCH_SIZE.default == BATCH_RECORDS
    assert option.envvar == "MOCKBOOK_PUSH_BATCH_SIZE"


@pytest.mark.parametrize("name", COMMANDS)
def test_a_batch_of_up_to_the_maximum_is_accepted(name: str) -> None:
    option = batch_size_option(name)
    ctx = click.Context(command(name))
    assert option.type_cast_value(ctx, str(BATCH_RECORDS)) == BATCH_RECORDS
    assert option.type_cast_value(ctx, str(PUSH_BATCH_MAX)) == PUSH_BATCH_MAX
    for bad in ("0", str(PUSH_BATCH_MAX + 1)):
        with pytest.raises(click.BadParameter):
            option.type_cast_value(ctx, bad)
