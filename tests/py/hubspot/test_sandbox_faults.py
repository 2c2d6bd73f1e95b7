"""Rate limits and injected faults of the HubSpot sandbox, seen through the official SDK."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid

import pytest
import sandbox_fixtures
import urllib3
from hubspot.crm.objects import (
    ApiException,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from sandbox_fixtures import TOKEN, make_client

from glue.sandbox import BOOKINGS, Sandbox

# Shared fixtures (a fresh conformance-checked sandbox per test, and an SDK client for it).
sandbox = sandbox_fixtures.sandbox
hubspot_client = sandbox_fixtures.hubspot_client
clock = sandbox_fixtures.clock

RATE_HEADERS = (
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
)


def _create(client, key: str, **kwargs):
    return client.crm.objects.basic_api.create(
        BOOKINGS,
        SimplePublicObjectInputForCreate(properties={"booking_id": key}, associations=[]),
        **kwargs,
    )


def _get(client, key: str):
    return client.crm.objects.basic_api.get_by_id_with_http_info(
        BOOKINGS, key, id_property="booking_id"
    )


@pytest.fixture
def limited(clock) -> Sandbox:
    with Sandbox(
        access_token=TOKEN, rate_limit=5, rate_window=2.0, daily_limit=9, setup=True, clock=clock
    ) as sb:
        yield sb
        assert sb.conformance_failures == []


def test_rolling_window_429_body_headers_and_retry_after(limited: Sandbox, clock) -> None:
    client = make_client(limited)
    _create(client, "K")
    for expected_remaining in range(3, -1, -1):
        _, status, headers = _get(client, "K")
        assert status == 200
        assert all(h in headers for h in RATE_HEADERS)
        assert headers["X-HubSpot-RateLimit-Max"] == "5"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "2000"
        assert headers["X-HubSpot-RateLimit-Remaining"] == str(expected_remaining)
    with pytest.raises(ApiException) as err:
        _get(client, "K")
    exc = err.value
    assert exc.status == 429
    body = json.loads(exc.body)
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    uuid.UUID(body["correlationId"])
    assert exc.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    wait = int(exc.headers["Retry-After"])
    assert 1 <= wait <= 2
    clock.advance(wait)  # a client that honours Retry-After gets through
    assert _get(client, "K")[1] == 200
    assert limited.stats["429"] == 1


def test_daily_limit(limited: Sandbox) -> None:
    limited.limiter.configure(rate_limit=None)
    client = make_client(limited)
    _create(client, "K")
    for _ in range(8):
        _get(client, "K")
    with pytest.raises(ApiException) as err:
        _get(client, "K")
    body = json.loads(err.value.body)
    assert err.value.status == 429 and body["policyName"] == "DAILY"
    assert err.value.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert int(err.value.headers["Retry-After"]) > 0


def test_storm_answers_429_for_a_while(sandbox: Sandbox, hubspot_client, clock) -> None:
    sandbox.faults.storm(0.3)
    with pytest.raises(ApiException) as err:
        _create(hubspot_client, "S")
    assert err.value.status == 429
    assert json.loads(err.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert "Retry-After" in err.value.headers
    clock.advance(0.35)  # the storm is over
    _create(hubspot_client, "S")
    assert sandbox.stats["faults"]["storm"] == 1 and len(sandbox.objects(BOOKINGS)) == 1


def test_error_rate_gives_hubspot_shaped_5xx_and_applies_nothing(
    sandbox: Sandbox, hubspot_client
) -> None:
    sandbox.faults.error_rate = 1.0
    for i in range(3):
        with pytest.raises(ApiException) as err:
            _create(hubspot_client, f"E{i}")
        assert err.value.status in (500, 502, 503)
        body = json.loads(err.value.body)
        assert body["status"] == "error" and body["category"] and body["correlationId"]
    assert sandbox.objects(BOOKINGS) == []
    assert sandbox.stats["faults"]["error"] == 3
    sandbox.faults.error_rate = 0.0
    _create(hubspot_client, "E0")


def test_latency_is_added(sandbox: Sandbox, hubspot_client, clock) -> None:
    sandbox.faults.latency = 0.25
    _create(hubspot_client, "L")
    # the sandbox waited 0.25 s (on its clock) before it handled the call, and only then
    assert clock.sleeps == [0.25]
    assert len(sandbox.objects(BOOKINGS)) == 1


def test_timeout_drops_the_call_without_applying_it(sandbox: Sandbox, hubspot_client) -> None:
    sandbox.faults.timeout_rate = 1.0
    sandbox.faults.timeout_seconds = 30.0  # far beyond the client's timeout
    # The client's own read timeout ends the call: the sandbox neither answers nor closes the
    # connection before its 30 s are up (stopping the sandbox ends that wait).
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        _create(hubspot_client, "T", _request_timeout=0.2)
    # on a loaded machine the client's 0.2 s can run out before the server has logged the call
    assert sandbox.wait_for(lambda reqs: bool(reqs) and reqs[-1].get("fault") == "timeout", 10)
    assert sandbox.objects(BOOKINGS) == []
    sandbox.faults.timeout_rate = 0.0
    _create(hubspot_client, "T")


def test_lost_response_applies_the_change(sandbox: Sandbox, hubspot_client) -> None:
    _create(hubspot_client, "LR")
    sandbox.faults.lost_response_rate = 1.0
    with pytest.raises(urllib3.exceptions.ProtocolError):
        hubspot_client.crm.objects.basic_api.update(
            BOOKINGS,
            "LR",
            SimplePublicObjectInput(properties={"name": "applied"}),
            id_property="booking_id",
        )
    # The client saw a dropped connection, yet HubSpot has the change.
    assert sandbox.get_by(BOOKINGS, "booking_id", "LR")["properties"]["name"] == "applied"
    assert sandbox.requests[-1]["status"] == 200
    assert sandbox.stats["faults"]["lost_response"] == 1


def test_seeded_faults_are_reproducible() -> None:
    def fates(seed: int) -> list:
        with Sandbox(conformance=False, seed=seed, setup=True) as sb:
            sb.faults.error_rate, sb.faults.lost_response_rate = 0.3, 0.3
            client = make_client(sb, None)
            out = []
            for i in range(12):
                try:
                    _create(client, f"F{i}")
                    out.append(201)
                except ApiException as exc:
                    out.append(exc.status)
                except urllib3.exceptions.HTTPError:
                    out.append("dropped")
            return out

    first = fates(7)
    assert first == fates(7)
    assert {201, "dropped"} <= set(first) and any(isinstance(x, int) and x >= 500 for x in first)


def test_serve_runs_until_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"from glue.sandbox import serve; serve({port})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert "listening on" in proc.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/crm/v3/schemas") as resp:
            assert resp.status == 200
            assert "X-HubSpot-RateLimit-Remaining" in resp.headers
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


# Sent while the main thread holds the lock inside the stop event's wait: a handler that took
# that lock (Event.set) would wait on itself for ever.
_SIGTERM_INSIDE_THE_WAIT = """
import os, signal, threading
from glue.sandbox import foreground

class Event(threading.Event):
    def wait(self, timeout=None):
        # serve's own wait: the main thread's, with its half-second beat
        with self._cond:
            if threading.current_thread() is threading.main_thread() and timeout == 0.5 \
                    and not getattr(self, "sent", False):
                self.sent = True
                print("signalling", flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
        return super().wait(timeout)

foreground.threading.Event = Event
foreground.serve({port})
"""


def test_serve_stops_on_a_sigterm_that_lands_inside_its_wait() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SIGTERM_INSIDE_THE_WAIT.format(port=port)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert "listening on" in proc.stdout.readline()
        assert proc.stdout.readline() == "signalling\n"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
