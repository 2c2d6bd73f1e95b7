"""`mockbook webhooks serve | subscriptions`: the HubSpot webhook intake (glue.sync.webhooks).

Exit codes: 0 stopped cleanly (SIGTERM/SIGINT); 2 configuration error (no client secret, no
database, a malformed URL, an address that cannot be listened on, no HUBSPOT_ACCESS_TOKEN).
"""

from __future__ import annotations

import json
import logging

import click

from glue import logs
from glue.cli import AppContext

pass_app = click.make_pass_decorator(AppContext)
log = logging.getLogger("glue.sync.webhooks")


@click.group()
def webhooks() -> None:
    """HubSpot webhooks: receive changes made in HubSpot within seconds (polling stays on)."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--path",
    envvar="MOCKBOOK_WEBHOOKS_PATH",
    default="/webhooks/hubspot",
    show_default=True,
    help="The path HubSpot posts to.",
)
@click.option(
    "--public-url",
    envvar="MOCKBOOK_WEBHOOKS_PUBLIC_URL",
    help="The target URL registered in HubSpot, as HubSpot calls it (behind a reverse proxy): "
    "the URI HubSpot signs.",
)
@click.option("--json", "json_flag", is_flag=True, help="JSON log lines even on a terminal.")
@pass_app
def serve(
    app: AppContext, host: str, port: int, path: str, public_url: str | None, json_flag: bool
) -> None:
    """Receive HubSpot's webhook deliveries: check the v3 signature (401 when forged or older
    than 5 minutes), store the events (200), then apply them as the pull does, re-reading the
    objects from HubSpot. The secret is HUBSPOT_CLIENT_SECRET. Runs until SIGTERM/SIGINT."""
    from glue.cli.runner import stop_on_signals
    from glue.sync.webhooks import WebhookConfig, WebhookService

    config = WebhookConfig.from_env(public_url=public_url, path=path)
    with logs.configured(json_lines=logs.wants_json(json_flag or app.json_output)):
        url = app.database_url()
        with stop_on_signals() as stop:
            service = WebhookService(app.settings, url, config, host=host, port=port, stop=stop)
            bound = service.start()
            log.info("webhook intake listening on http://%s:%d%s", host, bound, config.path)
            click.echo(f"webhook intake listening on http://{host}:{bound}{config.path}")
            try:
                while not stop.wait(0.5):
                    pass
            finally:
                service.stop()


@webhooks.command("subscriptions")
@click.option("--json", "json_flag", is_flag=True, help="Print a JSON list.")
@pass_app
def subscriptions_command(app: AppContext, json_flag: bool) -> None:
    """Print the webhook subscriptions to create in the HubSpot app (Webhooks settings)."""
    from glue.sync.webhooks import subscription_lines, subscriptions

    subs = subscriptions(app.settings)
    if json_flag or app.json_output:
        click.echo(json.dumps(subs, indent=2))
        return
    for line in subscription_lines(subs):
        click.echo(line)


COMMANDS = [webhooks]
