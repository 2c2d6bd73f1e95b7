"""HubSpot's rate limits: the tier setting (MOCKBOOK_HUBSPOT_TIER) gives the limiter HubSpot's
documented limits of that subscription, an explicit HUBSPOT_RATE_LIMIT / HUBSPOT_DAILY_LIMIT
still wins, an unknown tier is refused; and the push follows the X-HubSpot-RateLimit-* headers
of HubSpot's answers, so a portal allowing less than the setting says, or a budget other
integrations are spending, slows the push instead of earning 429s. Against the sandbox, its
window scaled down (20 requests per 2 s) to keep the tests short; the limiter is the same code."""

from __future__ import annotations

import push_helpers
import pytest
from push_helpers import book, client_for, hubspot_bookings, make_world, pending, settings_for

from glue.config import ConfigError, PushSettings, Settings
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.sandbox import Sandbox
from glue.sync.push import Pusher

push_db = push_helpers.push_db

LIMIT, WINDOW = 20, 2.0


@pytest.mark.parametrize(("tier", "per_window", "daily"), [
    ("free", 100, 250_000),
    ("starter", 100, 250_000),
    ("professional", 190, 650_000),
    ("enterprise", 190, 1_000_000),
    ("Professional+increase", 250, 1_650_000),
    ("enterprise+increase2", 250, 3_000_000),
])
def test_the_tier_sets_the_limiter(tier: str, per_window: int, daily: int) -> None:
    settings = Settings.from_env({"MOCKBOOK_HUBSPOT_TIER": tier, "HUBSPOT_ACCESS_TOKEN": "t"})
    client = HubSpotClient.from_settings(settings)
    assert client.limiter.window.limit == per_window
    assert client.limiter.daily.limit == daily


def test_explicit_limits_win_over_the_tier_and_an_unknown_tier_is_refused() -> None:
    settings = Settings.from_env({"MOCKBOOK_HUBSPOT_TIER": "enterprise",
                                  "HUBSPOT_RATE_LIMIT": "50", "HUBSPOT_DAILY_LIMIT": "1000"})
    assert (settings.rate_limit_requests, settings.rate_limit_daily) == (50, 1000)
    assert Settings().rate_limit_requests == 100  # the default tier: starter
    with pytest.raises(ConfigError, match="MOCKBOOK_HUBSPOT_TIER must be one of"):
        Settings.from_env({"MOCKBOOK_HUBSPOT_TIER": "gold"})


def _push_all(url: str, sb: Sandbox, **overrides) -> None:
    settings = settings_for(url, sb, rate_limit_window_seconds=WINDOW, **overrides)
    with Database(url) as db:
        # small batches: many calls, several windows' worth
        Pusher(
            db, client_for(settings), settings, push_settings=PushSettings(batch_size=30)
        ).run(linger=1)


def test_a_portal_allowing_less_than_the_setting_slows_the_push(push_db: str) -> None:
    """The setting says 40 per window (a higher tier than the portal's); HubSpot's answers say
    -Max 20: the push keeps to 20."""
    with Sandbox(rate_limit=LIMIT, rate_window=WINDOW, setup=True) as sb:
        world = make_world(push_db, sb, students=150, exams=2)
        book(push_db, [(s, world.exams[i % 2]) for i, s in enumerate(world.students)])
        _push_all(push_db, sb, rate_limit_requests=2 * LIMIT)
        stats = sb.stats
        assert len(hubspot_bookings(sb)) == 150
    assert pending(push_db) == 0
    assert stats["calls"] > LIMIT  # more than one window's worth
    assert stats["429"] == 0


def test_calls_of_other_integrations_slow_the_push(push_db: str) -> None:
    """Another integration of the portal spends 12 of the 20 just before the push: the
    headers' -Remaining shows it, and the push keeps to what is left."""
    with Sandbox(rate_limit=LIMIT, rate_window=WINDOW, setup=True) as sb:
        world = make_world(push_db, sb, students=150, exams=2)
        book(push_db, [(s, world.exams[i % 2]) for i, s in enumerate(world.students)])
        sb.limiter.spend_elsewhere(12)
        _push_all(push_db, sb, rate_limit_requests=LIMIT)
        stats = sb.stats
        assert len(hubspot_bookings(sb)) == 150
    assert pending(push_db) == 0
    assert stats["calls"] > LIMIT
    assert stats["429"] == 0


def test_an_unknown_tier_stops_a_command_with_exit_2(monkeypatch, capsys) -> None:
    code, _, err = push_helpers.run_main(["push"], {"MOCKBOOK_HUBSPOT_TIER": "gold"},
                                         monkeypatch, capsys)
    assert code == 2
    assert "MOCKBOOK_HUBSPOT_TIER must be one of free, starter, professional" in err
