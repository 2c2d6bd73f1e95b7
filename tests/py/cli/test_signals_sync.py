"""The signals of test_signals.py sent to the sync's commands (`run`, `push`, `pull`, `notes`,
`import`, `worker`): the same scenarios and assertions, in a file of their own so that a
parallel run shares the work out."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
import sandbox_fixtures
from test_signals import SIGNALS, SYNC, signalled

from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("name", sorted(SYNC))
def test_a_signal_stops_the_sync_command(name: str, signum: signal.Signals, fresh_database: Any,
                                         sandbox: Sandbox, tmp_path: Path) -> None:
    signalled(name, signum, fresh_database, sandbox, tmp_path)
