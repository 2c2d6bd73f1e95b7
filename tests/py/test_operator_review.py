"""A review of `mockbook run` as an operator runs it under cron (README "For operators",
docs/operations.md): a configuration value that cannot work is a configuration error — one line
on stderr naming the variable, exit 2, nothing done — not a run that fails or hangs every time.

What went wrong before:
- a number setting accepted ``nan`` and ``inf`` (``float()`` reads both, and ``nan <= 0`` is
  false): ``MOCKBOOK_RETENTION_DAYS=nan`` made every run's purge fail ('interval out of
  range', exit 1 for ever), ``MOCKBOOK_ANALYTICS_INTERVAL=nan`` refreshed the views on every
  run, ``MOCKBOOK_RUN_PUSH_BUDGET=inf`` (or nan) took the time budget away;
- ``HUBSPOT_RATE_LIMIT=0`` was accepted: the rate limiter never granted a call, and the run
  waited for one for ever (past SIGTERM, which only stops a run between batches);
- a bad value of a variable read by a command's option (``MOCKBOOK_PUSH_BATCH_SIZE=abc``) was
  click's usage error: four lines naming the flag ``--batch-size``, which the cron line does
  not use, instead of the variable.
"""

from __future__ import annotations

import push_helpers
import pytest
import sandbox_fixtures
from push_helpers import env_for, query, run_main

from glue.config import ConfigError, Settings
from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MOCKBOOK_RETENTION_DAYS", "nan"),
        ("MOCKBOOK_RETENTION_DAYS", "inf"),
        ("MOCKBOOK_ANALYTICS_INTERVAL", "nan"),
        ("MOCKBOOK_RUN_PUSH_BUDGET", "inf"),
        ("HUBSPOT_TIMEOUT_SECONDS", "inf"),
        ("HUBSPOT_RATE_LIMIT", "0"),
    ],
)
def test_a_setting_that_cannot_work_is_refused(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MOCKBOOK_RETENTION_DAYS", "nan"),  # a setting of the table (glue/config.py)
        ("MOCKBOOK_PUSH_BATCH_SIZE", "abc"),  # a command option's envvar (glue/cli/runner.py)
        ("MOCKBOOK_PUSH_LEASE_SECONDS", "0"),
    ],
)
def test_run_with_a_bad_value_is_one_line_exit_2_and_does_nothing(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys, variable: str, value: str
) -> None:
    env = env_for(push_db, sandbox, **{variable: value})
    code, out, err = run_main(["run", "--json"], env, monkeypatch, capsys)
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("mockbook: "), err
    assert variable in lines[0] and "Traceback" not in err, err
    assert out == ""
    # nothing ran: no pull, push, refresh or purge was recorded
    assert query(push_db, "SELECT count(*) AS n FROM hubspot_sync.sync_metadata")[0]["n"] == 0
