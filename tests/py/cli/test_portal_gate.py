"""The one portal gate (glue/sync/portal.py), on every path in: every `mockbook` command, taken
from the click command tree so that a new command cannot be left out, run against a second
portal once the database is synced with a first one; and the webhook intake, at start and on
each event (an event of another portal is refused, logged once with its count, never applied)."""

from __future__ import annotations

import json
import logging
import subprocess
import time

import click
import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import exam, fast, hubspot, seed_exams
from push_helpers import book, env_for, make_world, mockbook, query, run_main
from waiting import wait_until

from glue.cli import cli
from glue.db.database import Database
from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sync.pull import pull
from glue.sync.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConfig,
    WebhookService,
    sign_v3,
)

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
OTHER_PORTAL = 7777777
SECRET = "client-secret-for-tests"

# Every command that reads or writes HubSpot: refused against another portal (exit 2, a line
# naming both portals), before any record is read or written.
GATED: dict[tuple[str, ...], list[str]] = {
    ("pull",): ["pull"],
    ("push",): ["push", "--linger", "0"],
    ("import",): ["import"],
    ("notes",): ["notes"],
    ("reconcile",): ["reconcile", "--repair"],
    ("run",): ["run"],
    ("worker",): ["worker", "--webhooks", "127.0.0.1:0"],
    ("webhooks", "serve"): ["webhooks", "serve", "--port", "0"],
    ("hubspot", "setup"): ["hubspot", "setup"],
}
# Commands that never call the configured HubSpot: run against the second portal, which must see
# no request at all.
NO_HUBSPOT: dict[tuple[str, ...], list[str]] = {
    ("adoption", "list"): ["adoption", "list"],
    ("adoption", "resolve"): ["adoption", "resolve"],
    ("dlq", "list"): ["dlq", "list"],
    ("dlq", "retry"): ["dlq", "retry", "--all"],
    ("dlq", "discard"): ["dlq", "discard", "--all"],
    ("migrate",): ["migrate", "--check"],
    ("refresh-analytics",): ["refresh-analytics"],
    ("status",): ["status"],
    ("webhooks", "subscriptions"): ["webhooks", "subscriptions"],
    ("webhooks", "check"): ["webhooks", "check", "--url", "http://127.0.0.1:9/x", "--timeout", "1"],
}
# the schema owner's commands (README: `migrate`, and the adoption that comes with it)
AS_OWNER = {("adoption", "list"), ("adoption", "resolve"), ("migrate",)}
# Commands that tell a record's story from the database and compare it with HubSpot's copy:
# against another portal they read its identity only (no record), tell the story and say why
# HubSpot was not read. The key is filled in with a booking of the synced database.
STORY_ONLY: dict[tuple[str, ...], list[str]] = {
    ("trace",): ["trace", "{booking}"],
}
# Commands that never read HUBSPOT_BASE_URL at all, and are not run here: what they do instead.
LOCAL: dict[tuple[str, ...], str] = {
    ("db", "lock"): "pins the checkout's db/migrations files",
    ("db", "release"): "records a release in the checkout's db/migrations/releases.json",
    ("db", "revision"): "writes a revision into the checkout's db/",
    ("demo",): "pushes only to its own in-process sandbox (tests/py/cli/test_demo.py)",
    ("down",): "stops the embedded PostgreSQL",
    ("up",): "starts the embedded PostgreSQL",
    ("sandbox",): "serves a sandbox portal of its own",
}


def leaves(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()) -> set[tuple]:
    found: set[tuple] = set()
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found |= leaves(command, ctx, (*path, name))
        else:
            found.add((*path, name))
    return found


def test_every_command_is_classified() -> None:
    """A new command must be put in one of the tables above, which the next test runs."""
    commands = leaves(cli, click.Context(cli))
    classified = [*GATED, *NO_HUBSPOT, *STORY_ONLY, *LOCAL]
    assert len(classified) == len(set(classified))
    assert commands == set(classified), commands ^ set(classified)


def _synced(push_db: str, sandbox: Sandbox, monkeypatch, capsys) -> dict:
    """A database synced with ``sandbox`` (portal recorded by its first push)."""
    world = make_world(push_db, sandbox, students=2)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    code, _, err = run_main(
        ["push", "--linger", "0"], env_for(push_db, sandbox), monkeypatch, capsys
    )
    assert code == 0, err
    recorded = query(push_db, "SELECT mockbook_internal.get_sync_cursor('hubspot_portal') AS c")
    assert recorded[0]["c"]["portal_id"] == sandbox.store.portal_id
    return recorded[0]["c"]


def _rows(url: str) -> list:
    return [
        query(url, f"SELECT * FROM hubspot_sync.{table} ORDER BY id")
        for table in ("hubspot_mock_exams", "hubspot_contact_credits", "hubspot_bookings")
    ]


def test_every_command_refuses_another_portal_or_never_calls_hubspot(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """The other portal is set up by `mockbook hubspot setup` as a real one is: its objects get
    ids of its own, not the configured ones, and every command names the other portal first
    (never the object types it lacks under the configured ids)."""
    _synced(push_db, sandbox, monkeypatch, capsys)
    with Sandbox(access_token=push_helpers.TOKEN, portal_id=OTHER_PORTAL) as other:
        code, out, err = run_main(["hubspot", "setup"], {
            "HUBSPOT_ACCESS_TOKEN": push_helpers.TOKEN, "HUBSPOT_BASE_URL": other.base_url,
            "DATABASE_URL": ""}, monkeypatch, capsys)
        assert code == 0, (out, err)
        assert "HUBSPOT_BOOKINGS_OBJECT_TYPE=2-50158943" not in out  # ids of its own
        other.seed(CONTACTS, [{"email": "stranger@example.com"}])
        skip = len(other.requests)  # (the setup's)
        env = env_for(push_db, other, HUBSPOT_CLIENT_SECRET=SECRET)
        before = _rows(push_db)
        for path, argv in GATED.items():
            # each as a real process: a long-running command that missed the gate would serve
            proc = mockbook(argv, env)
            try:
                out, err = proc.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                pytest.fail(f"{path} ran against portal {OTHER_PORTAL}")
            assert proc.returncode == 2, (path, out, err)
            said = [line for line in err.splitlines() if not line.startswith("{")]  # no log
            assert f"synced with HubSpot portal {sandbox.store.portal_id}" in said[0], (path, err)
            assert f"answers for portal {OTHER_PORTAL}" in err and "Traceback" not in err, err
        # the gate reads the portal's identity and the set-up check; no record is read or written
        assert not [r for r in other.requests[skip:] if r["method"] != "GET"], other.requests
        assert not [
            r for r in other.requests[skip:] if "/objects/" in r["path"] or "/search" in r["path"]
        ], other.requests
        assert _rows(push_db) == before
        for path, argv in NO_HUBSPOT.items():
            seen = len(other.requests)
            as_role = {**env, "DATABASE_URL": push_db} if path in AS_OWNER else env
            code, _, err = run_main(argv, as_role, monkeypatch, capsys)
            assert code in (0, 1, 2) and "Traceback" not in err, (path, code, err)
            assert len(other.requests) == seen, (path, other.requests[seen:])
        booking = query(push_db, "SELECT booking_id FROM hubspot_sync.hubspot_bookings LIMIT 1")
        for path, argv in STORY_ONLY.items():
            seen = len(other.requests)
            argv = [a.format(booking=booking[0]["booking_id"]) for a in argv]
            code, out, err = run_main(argv, env, monkeypatch, capsys)
            assert code == 0 and "Traceback" not in err, (path, code, out, err)
            assert "HubSpot not read" in out and f"{OTHER_PORTAL}" in out, (path, out)
            assert not [r for r in other.requests[seen:]
                        if "/objects/" in r["path"] or "/search" in r["path"]], path
        assert _rows(push_db) == before


# ---- the webhook intake, on each event ----------------------------------------------------------
def _post(url: str, events: list[dict]) -> tuple[int, dict]:
    import urllib3

    body = json.dumps(events).encode()
    ts = str(int(time.time() * 1000))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_v3(SECRET, "POST", url, body, ts),
        TIMESTAMP_HEADER: ts,
    }
    answer = urllib3.PoolManager(retries=False).request("POST", url, body=body, headers=headers)
    return answer.status, json.loads(answer.data)


def _event(event_id: int, exam_id: str, portal: int | str | None) -> dict:
    event = {
        "eventId": event_id,
        "subscriptionId": 5,
        "appId": 1,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "object.propertyChange",
        "propertyName": "capacity",
        "objectTypeId": EXAMS,
        "attemptNumber": 0,
        "objectId": int(exam_id),
    }
    return event if portal is None else event | {"portalId": portal}


def test_the_intake_refuses_every_event_of_another_portal(
    push_db: str, sandbox: Sandbox, caplog
) -> None:
    """Events signed with the app's secret but sent for another portal (a public app is installed
    in many) are answered 200 so that HubSpot drops them, and are neither stored nor applied;
    the first is logged with its count, the totals again at stop. The database's own portal's
    events in the same delivery are applied."""
    fast(sandbox)
    settings, _client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "10"}])
    with Database(settings.database_url) as db:
        pull(db, reader.client, settings, reader=reader)
    sandbox.touch(EXAMS, exam_id, capacity="30")
    service = WebhookService(
        settings, settings.database_url, WebhookConfig(secret=SECRET), reader=reader
    )
    port = service.start()
    assert service.gate.portal == sandbox.store.portal_id
    url = f"http://127.0.0.1:{port}/webhooks/hubspot"
    caplog.set_level(logging.WARNING, logger="glue.sync.portal")
    try:
        foreign = [_event(i, exam_id, portal) for i, portal in ((1, OTHER_PORTAL), (3, None))]
        status, answer = _post(url, foreign)
        assert status == 200 and answer == {"stored": 0, "refused_portal": 2}, answer
        # a portalId that is not a whole number is a malformed event, not another portal's:
        # 400, as for any malformed field, and nothing stored
        malformed = [_event(i, exam_id, portal) for i, portal in ((2, str(OTHER_PORTAL)), (4, "x"))]
        status, answer = _post(url, malformed)
        assert status == 400 and answer["stored"] == 0, answer
        status, answer = _post(url, [_event(5, exam_id, OTHER_PORTAL)])
        assert status == 200 and answer["refused_portal"] == 1, answer
        stored = query(push_db, "SELECT payload FROM hubspot_sync.webhook_events")
        assert stored == []
        assert exam(push_db, exam_id)["capacity"] == 10
        refusals = [r for r in caplog.records
                    if r.name == "glue.sync.portal" and "refused" in r.getMessage()]
        # once per portal: 7777777, and none (no portalId)
        assert len(refusals) == 2, [r.getMessage() for r in refusals]
        # the database's own portal's event of a mixed delivery is applied
        status, answer = _post(
            url, [_event(6, exam_id, OTHER_PORTAL), _event(7, exam_id, sandbox.store.portal_id)]
        )
        assert status == 200 and answer["refused_portal"] == 1, answer
        wait_until(
            "the own portal's event applied", lambda: exam(push_db, exam_id)["capacity"] == 30
        )
    finally:
        service.stop()
    totals = [
        r.getMessage() for r in caplog.records if "event(s) of HubSpot portal" in r.getMessage()
    ]
    assert f"3 webhook event(s) of HubSpot portal {OTHER_PORTAL} refused" in " ".join(totals), (
        totals
    )


def test_events_of_another_portal_stored_earlier_are_never_applied(
    push_db: str, sandbox: Sandbox
) -> None:
    """Events already in the table (stored before the intake checked portals) pass the gate
    again before they are applied: another portal's are given up, never applied."""
    fast(sandbox)
    settings, _client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "10"}])
    with Database(settings.database_url) as db:
        pull(db, reader.client, settings, reader=reader)
        sandbox.touch(EXAMS, exam_id, capacity="31")
        db.store_webhook_events([_event(11, exam_id, OTHER_PORTAL)])
    service = WebhookService(
        settings, settings.database_url, WebhookConfig(secret=SECRET), reader=reader
    )
    service.start()
    try:
        wait_until(
            "the stored event finished",
            lambda: query(
                push_db,
                "SELECT processed_at IS NOT NULL AS done, last_error "
                "FROM hubspot_sync.webhook_events",
            )[0]["done"],
        )
        row = query(push_db, "SELECT last_error FROM hubspot_sync.webhook_events")[0]
        assert row["last_error"].startswith("PORTAL:"), row
        assert exam(push_db, exam_id)["capacity"] == 10
    finally:
        service.stop()
