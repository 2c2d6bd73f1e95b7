"""Fixtures for tests that talk to the HubSpot sandbox. Bind them in a test module with

    import sandbox_fixtures
    sandbox = sandbox_fixtures.sandbox
    hubspot_client = sandbox_fixtures.hubspot_client
    clock = sandbox_fixtures.clock  # where a test moves time

(plain assignments: importing the names would make ruff report F811 on every test argument).

``sandbox`` is a fresh sandbox per test with conformance checking on and a bearer token, set up
as a ready portal (what `mockbook hubspot setup` creates: both custom objects with the glue's
default ids, every property, the association definitions); at the end of the test it asserts
that every exchange conformed to HubSpot's OpenAPI specs. ``empty_sandbox`` is the same on an
empty portal (HubSpot's own objects and properties only), for the strictness and setup tests.
Search lag is 0 in both; tests of the pull's overlap window set a realistic one
(``REALISTIC_SEARCH_LAG``).

A test that also takes ``clock`` (a tests/py/fakeclock.py ``FakeClock``) gets its sandbox on that
clock: record times, the search lag, rate-limit windows, storms and latency follow it, and the
test moves time with ``clock.advance(seconds)`` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakeclock import FakeClock
from hubspot import HubSpot
from urllib3.util.retry import Retry

from glue.clock import SYSTEM, Clock
from glue.sandbox import Sandbox

TOKEN = "sandbox-test-token"
REALISTIC_SEARCH_LAG = 3.0  # seconds: HubSpot's search index trails writes by a few seconds


def make_client(sb: Sandbox, token: str | None = TOKEN) -> HubSpot:
    """The official SDK pointed at the sandbox (its ``host`` config), without urllib3 retries so
    tests see every fault as the glue would."""
    return HubSpot(access_token=token, host=sb.base_url, retry=Retry(total=0))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def clock_of(request: pytest.FixtureRequest) -> Clock:
    """The test's ``clock`` if it takes one, else the system clock."""
    return request.getfixturevalue("clock") if "clock" in request.fixturenames else SYSTEM


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(access_token=TOKEN, conformance=True, setup=True, clock=clock_of(request)) as sb:
        yield sb
        # This module is not rewritten by pytest, so the messages name what went wrong.
        assert sb.errors == [], sb.errors
        assert sb.conformance_failures == [], sb.conformance_failures


@pytest.fixture
def empty_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(access_token=TOKEN, conformance=True, clock=clock_of(request)) as sb:
        yield sb
        assert sb.errors == [], sb.errors
        assert sb.conformance_failures == [], sb.conformance_failures


@pytest.fixture
def hubspot_client(sandbox: Sandbox) -> HubSpot:
    return make_client(sandbox)
