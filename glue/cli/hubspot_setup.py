"""`mockbook hubspot setup`: create (or check) what mockbook needs in a HubSpot portal."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from glue import exitcodes
from glue.cli import AppContext
from glue.config import ConfigError
from glue.hubspot.client import HubSpotClient, HubSpotError
from glue.hubspot.setup import (
    HubSpotUnavailable,
    Portal,
    PortalReport,
    config_message,
    inspect,
    setup,
)

pass_app = click.make_pass_decorator(AppContext)


@click.group("hubspot")
def hubspot_group() -> None:
    """The HubSpot portal mockbook syncs with."""


@hubspot_group.command("setup")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only verify; exit 1 if anything is missing or different.",
)
@click.option("--dry-run", is_flag=True, help="Print the calls setup would make; change nothing.")
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def setup_command(app: AppContext, check_only: bool, dry_run: bool, json_flag: bool) -> None:
    """Create on the portal, idempotently, the bookings and mock-exam objects, every property
    mockbook reads or writes, the contact credit properties, the note property of the audit
    trail and the association definitions (booking-contact, booking-exam, the exam -> exam
    'requires attendance at' label); give a property of another type mockbook's type and add
    missing options. Prints the ids to put in the environment, and one line per thing to do by
    hand where HubSpot does not allow the change.

    Exit 0 when the portal is ready, 1 when something is missing or different (--check,
    --dry-run) or could not be fixed, 2 on a configuration error."""
    client = HubSpotClient.from_settings(app.settings)
    _same_portal(app, client)
    try:
        if check_only or dry_run:
            report = inspect(Portal(client, app.settings))
        else:
            report = setup(client, app.settings)
    except HubSpotError as exc:  # no proper answer: try again later (75); a refusal: 2
        error = HubSpotUnavailable if exc.transient else ConfigError
        raise error(config_message(exc, client, app.settings)) from None
    env = [f.env for f in report.findings if f.env]
    problems = [f for f in report.findings if not f.env]
    if dry_run:
        calls = [f.call for f in report.findings if f.fix is not None]
        if any(f.call.startswith("POST /crm-object-schemas/v3/schemas ") for f in report.findings):
            calls.append("(then the association definitions of the new objects)")
    else:
        calls = report.calls
    subs = _webhook_subscriptions(app, report.ids)
    if app.json_output or json_flag:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "findings": [str(f) for f in report.findings],
                    "calls": calls,
                    "ids": report.ids,
                    "set": dict(env),
                    "webhook_subscriptions": subs,
                }
            )
        )
    else:
        _print_report(report, calls, env, subs, check_only=check_only, dry_run=dry_run)
    if check_only or dry_run:
        if not report.ok:
            sys.exit(exitcodes.PARTIAL_FAILURE)
    elif problems:
        sys.exit(exitcodes.PARTIAL_FAILURE)



def _print_report(
    report: PortalReport,
    calls: list[str],
    env: list[tuple[str, str]],
    subs: list[dict[str, str]],
    *,
    check_only: bool,
    dry_run: bool,
) -> None:
    """The report for people: the calls, the findings, the environment to set and the webhook
    subscriptions to create."""
    from glue.sync.webhooks import subscription_lines

    for line in calls:
        click.echo(("would call: " if dry_run else "called: ") + line)
    for f in report.findings:
        if f.env:
            click.echo(f"environment: {f}")
        elif check_only or dry_run:
            click.echo(f"missing/different: {f}")
        else:
            click.echo(f"not fixed: {f}")
    if report.ok:
        click.echo("the portal has everything mockbook needs")
    elif not (check_only or dry_run) and all(f.env for f in report.findings):
        click.echo("the portal has everything mockbook needs once the environment is set")
    click.echo("environment:")
    ids = {**report.ids, **dict(env)}
    for name in sorted(ids):
        click.echo(f"  {name}={ids[name]}")
    # Subscriptions belong to the app, made in its settings (Webhooks) or by the webhooks API
    # with the developer account's key, not the portal's token
    # (https://developers.hubspot.com/docs/api/webhooks): printed, not created.
    click.echo(
        "webhook subscriptions to create (HubSpot app settings -> Webhooks; the API cannot "
        "create them with the portal's token):"
    )
    for line in subscription_lines(subs):
        click.echo(f"  {line}")

def _same_portal(app: AppContext, client: HubSpotClient) -> None:
    """The portal gate (glue.sync.portal) when a database is configured: setting up another
    portal than the one it is synced with is refused (exit 2); nothing is recorded here. A
    database not reachable or not migrated yet holds no portal to compare with."""
    if not app.settings.database_url:
        return
    import psycopg

    from glue.db.database import Database
    from glue.sync.portal import check_portal, recorded_portal

    try:
        url = app.database_url()
    except ConfigError:
        return  # not reachable: setting up a new portal needs no database
    with Database(url, max_size=1, application_name="mockbook-setup") as db:
        try:
            recorded = recorded_portal(db)
        except psycopg.Error:
            return  # not migrated yet
        if recorded is not None:
            check_portal(db, client, app.settings, record=False)


def _webhook_subscriptions(app: AppContext, ids: dict[str, str]) -> list[dict[str, str]]:
    """The webhook subscriptions for the objects this portal has, which may be ones
    setup just created (their ids not in the environment yet)."""
    from glue.sync.webhooks import subscriptions

    s = app.settings
    return subscriptions(
        dataclasses.replace(
            s,
            exams_object_type=ids.get("HUBSPOT_EXAMS_OBJECT_TYPE") or s.exams_object_type,
            bookings_object_type=ids.get("HUBSPOT_BOOKINGS_OBJECT_TYPE") or s.bookings_object_type,
        )
    )


COMMANDS = [hubspot_group]
