"""What HubSpot's X-HubSpot-RateLimit-* headers do to a grant (glue.hubspot.ratelimit.HeaderBudget):
the window's limit at most -Max, less the calls HubSpot counted that were not ours for one
interval, a second's pause after a -Secondly-Remaining of 0, a stop for the day after a
-Daily-Remaining of 0. A fake clock: nothing waits."""

from __future__ import annotations

import pytest

from glue.hubspot.ratelimit import DailyBudgetExhausted, HeaderBudget

WINDOW = {"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}


def test_the_calls_of_others_lower_the_limit_for_one_interval() -> None:
    now = [0.0]
    budget = HeaderBudget(clock=lambda: now[0])
    assert budget.limit(190) == (190, 0.0)  # nothing heard yet: the setting's
    budget.observe({**WINDOW, "X-HubSpot-RateLimit-Remaining": "30"}, ours=20)
    assert budget.limit(190) == (50, 0.0)  # at most -Max 100, less the 50 not ours
    now[0] = 10.5
    assert budget.limit(190) == (100, 0.0)  # their calls have left HubSpot's window
    budget.observe({**WINDOW, "X-HubSpot-RateLimit-Remaining": "0"}, ours=100)
    assert budget.limit(190) == (100, 0.0)  # all ours: no one else's to leave room for


def test_an_older_answer_observed_last_does_not_lower_the_others_count() -> None:
    """Two calls in flight together: the answer HubSpot sent first (more remaining) may be read
    last. Its smaller count of others' calls waits for the larger one's interval to end."""
    now = [0.0]
    budget = HeaderBudget(clock=lambda: now[0])
    budget.observe({**WINDOW, "X-HubSpot-RateLimit-Remaining": "0"}, ours=87)  # others: 13
    budget.observe({**WINDOW, "X-HubSpot-RateLimit-Remaining": "1"}, ours=88)  # older: 11
    assert budget.limit(100) == (87, 0.0)
    now[0] = 10.5
    budget.observe({**WINDOW, "X-HubSpot-RateLimit-Remaining": "90"}, ours=5)  # others left
    assert budget.limit(100) == (95, 0.0)


def test_secondly_and_daily_budgets() -> None:
    now = [0.0]
    budget = HeaderBudget(clock=lambda: now[0])
    budget.observe({"X-HubSpot-RateLimit-Secondly": "10",
                    "X-HubSpot-RateLimit-Secondly-Remaining": "0"}, ours=1)
    assert budget.limit(100) == (100, 1.0)
    now[0] = 1.0
    assert budget.limit(100) == (100, 0.0)
    budget.observe({"X-HubSpot-RateLimit-Daily": "250000",
                    "X-HubSpot-RateLimit-Daily-Remaining": "0"}, ours=1)
    with pytest.raises(DailyBudgetExhausted, match="250000"):
        budget.limit(100)
