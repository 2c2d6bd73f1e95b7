"""`mockbook webhooks check`: a test delivery signed as HubSpot signs one (v3, for the URL it is
sent to) and sent through the public URL, proving before HubSpot sends anything that the URL
reaches the intake and that the intake checks signatures against that same URL and secret.
HubSpot does not retry a delivery answered 400, 401, 403, 404 or 405: a wrong public URL or an
http-vs-https mismatch would drop every delivery until the next pull.
"""
# HubSpot's retries: https://developers.hubspot.com/docs/methods/webhooks/webhooks-overview
# ("Retries": connection failures, timeouts and any status but 400, 401, 403, 404, 405; now
# https://developers.hubspot.com/docs/api/webhooks), confirmed by HubSpot on its forum:
# https://community.hubspot.com/t5/APIs-Integrations/Webhooks-response/m-p/277653

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

import urllib3

from glue.sync.webhooks import CHECK_TYPE, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_v3

TIMEOUT_SECONDS = 5.0  # HubSpot's: a delivery not answered within 5 s is retried


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def test_delivery(check_id: str, now_ms: int) -> list[dict[str, object]]:
    """The body: one event the intake answers without storing or applying anything."""
    return [
        {
            "eventId": 0,
            "subscriptionType": CHECK_TYPE,
            "objectId": 0,
            "occurredAt": now_ms,
            "checkId": check_id,
        }
    ]


def check_intake(url: str, secret: str, *, timeout: float = TIMEOUT_SECONDS) -> CheckResult:
    """Send the signed test delivery to ``url`` (the target URL registered in HubSpot) and say
    whether the intake accepted it, or what the answer means."""
    now_ms = int(time.time() * 1000)
    check_id = secrets.token_hex(8)
    body = json.dumps(test_delivery(check_id, now_ms)).encode()
    timestamp = str(now_ms)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_v3(secret, "POST", url, body, timestamp),
        TIMESTAMP_HEADER: timestamp,
    }
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=timeout))
    try:
        answer = http.request("POST", url, body=body, headers=headers, redirect=False)
    except urllib3.exceptions.NewConnectionError as exc:  # (a TimeoutError in urllib3's tree)
        return CheckResult(False, f"{url} is unreachable: {_reason(exc)}")
    except urllib3.exceptions.TimeoutError:
        return CheckResult(
            False,
            f"{url}: no answer within {timeout:g} s (HubSpot gives up after 5 s and retries)",
        )
    except urllib3.exceptions.HTTPError as exc:
        return CheckResult(False, f"{url} is unreachable: {_reason(exc)}")
    finally:
        http.clear()
    return _judge(url, answer.status, answer.data, check_id)


def _judge(url: str, status: int, data: bytes, check_id: str) -> CheckResult:
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    message = payload.get("message") if isinstance(payload, dict) else None
    said = f": {message}" if message else ""
    if status == 200 and isinstance(payload, dict) and payload.get("checkId") == check_id:
        return CheckResult(True, f"{url}: the intake accepted the signed test delivery")
    if 200 <= status < 300:
        return CheckResult(
            False,
            f"{url} answered {status} but not as the mockbook intake does (another server or "
            "route answers there: check the proxy's location)",
        )
    if status == 401:
        return CheckResult(
            False,
            f"{url}: the intake refused the signature (401{said}): it checks signatures against "
            "MOCKBOOK_WEBHOOKS_PUBLIC_URL, which must be exactly this URL (scheme http vs https, "
            "host, port, path), with the same HUBSPOT_CLIENT_SECRET; its log names the URI it "
            "checked. HubSpot does not retry a 401: every delivery would be lost",
        )
    if status in (404, 405):
        return CheckResult(
            False,
            f"{url}: {status}, no intake on this path (it serves MOCKBOOK_WEBHOOKS_PATH, "
            "/webhooks/hubspot by default; check the proxy's location). HubSpot does not retry "
            f"a {status}",
        )
    if status in (301, 302, 307, 308):
        return CheckResult(
            False,
            f"{url}: redirected ({status}): register the URL it redirects to in HubSpot (the "
            "signature covers the URL a delivery is posted to)",
        )
    if status in (502, 504):
        return CheckResult(
            False, f"{url}: {status}, the proxy gets no answer from the intake (is it running?)"
        )
    if status >= 500:
        return CheckResult(False, f"{url}: {status}{said} (HubSpot retries a 5xx)")
    return CheckResult(False, f"{url}: {status}{said} (HubSpot does not retry it)")


def _reason(exc: urllib3.exceptions.HTTPError) -> str:
    text = str(getattr(exc, "reason", None) or exc)
    # "HTTPConnection(host='…', port=…): Failed to establish a new connection: [Errno 111] …"
    return text.split("): ", 1)[1] if "): " in text else text
