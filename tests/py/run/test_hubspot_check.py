"""How a run tells HubSpot's refusal (a setting to fix: exit 2) from HubSpot not answering (try
again later: exit 75) when the start-up check fails: the probe that decides, given each answer
the client can raise, and a whole `mockbook run` whose probe meets 429s on the wire."""

from __future__ import annotations

import json
import threading
from typing import Any

import push_helpers
import pytest
import sandbox_fixtures
from push_helpers import env_for, run_main
from wire_proxy import WireProxy

from glue.config import ConfigError, Settings
from glue.hubspot.client import UNREADABLE, HubSpotError
from glue.run import cycle as cycle_module
from glue.run.cycle import CONFIG, FAILED, Cycle, check_hubspot
from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


class RefusingPusher:
    """The start-up check as it ends when HubSpot refused the portal's set-up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def preflight(self, uses: Any) -> None:
        raise ConfigError("the HubSpot portal is not set up for push: object type 2-404")


class Probe:
    """The HubSpot client as the probe sees it: its schema read raises ``answer`` (or returns)."""

    def __init__(self, answer: HubSpotError | None) -> None:
        self.answer = answer
        self.asked = 0

    def schema(self, object_type: str) -> dict[str, Any]:
        self.asked += 1
        if self.answer is not None:
            raise self.answer
        return {"objectTypeId": object_type}


def checked(monkeypatch, answer: HubSpotError | None):
    monkeypatch.setattr(cycle_module, "Pusher", RefusingPusher)
    monkeypatch.setattr(cycle_module, "check_portal", lambda *a, **k: None)
    probe = Probe(answer)
    cycle = Cycle(
        settings=Settings(hubspot_access_token="pat-test"),
        conn=None,  # type: ignore[arg-type]  # the check reads only HubSpot
        stop=threading.Event(),
        db=object(),  # type: ignore[arg-type]
        hubspot=probe,  # type: ignore[arg-type]
        reader=object(),  # type: ignore[arg-type]
    )
    return check_hubspot(cycle), probe


@pytest.mark.parametrize(
    ("answer", "status", "transient"),
    [
        (None, CONFIG, False),  # HubSpot answers the probe: the refusal stands
        (HubSpotError("404", status=404), CONFIG, False),
        # a 429 (after the client's own waits) is an answer too: HubSpot is up
        (HubSpotError("429 Too Many Requests", status=429, retry_after=10.0), CONFIG, False),
        # no answer, a 5xx, a body that is not HubSpot's JSON: down, try again later
        (HubSpotError("connection refused", status=None), FAILED, True),
        (HubSpotError("502 Bad Gateway", status=502), FAILED, True),
        (HubSpotError("not JSON", status=200, category=UNREADABLE), FAILED, True),
    ],
    ids=["answered", "404", "429", "no-answer", "502", "unreadable"],
)
def test_a_refused_check_is_config_unless_hubspot_did_not_answer_the_probe(
    monkeypatch, answer, status, transient
) -> None:
    problem, probe = checked(monkeypatch, answer)
    assert probe.asked == 1
    assert problem is not None
    assert (problem.status, problem.transient) == (status, transient)
    if status == CONFIG:
        assert "not set up" in (problem.error or "")
    else:
        assert (problem.error or "").startswith("HubSpot unreachable")


def test_a_run_whose_probe_meets_429s_reports_the_refusal(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """An object type the portal lacks, and the probe's schema read answered 429 on the wire
    (Retry-After 0) every time, past the client's waits: HubSpot answered, so the run is exit 2
    with push config_error, not 75 with HubSpot unreachable."""
    with WireProxy(sandbox.base_url) as proxy:
        probes: list[str] = []

        def busy(method: str, path: str, status: int) -> tuple[int, dict[str, str]] | None:
            if method == "GET" and path.endswith("/schemas/2-404"):
                probes.append(path)
                return 429, {"Retry-After": "0"}
            return None

        proxy.restatus = busy
        env = env_for(push_db, sandbox, HUBSPOT_BASE_URL=proxy.url,
                      HUBSPOT_BOOKINGS_OBJECT_TYPE="2-404")
        code, out, _ = run_main(["run", "--json"], env, monkeypatch, capsys)
    report = json.loads(out)
    assert probes, "the probe was not sent"
    assert code == 2, report
    assert report["steps"]["push"]["status"] == "config_error"
    assert "unreachable" not in json.dumps(report)
