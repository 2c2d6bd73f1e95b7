"""How a run tells HubSpot's refusal (a setting to fix: exit 2) from HubSpot not answering (try
again later: exit 75) when the start-up check fails: the probe that decides, given each answer
the client can raise."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from glue.config import ConfigError, Settings
from glue.hubspot.client import UNREADABLE, HubSpotError
from glue.run import cycle as cycle_module
from glue.run.cycle import CONFIG, FAILED, Cycle, check_hubspot


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
