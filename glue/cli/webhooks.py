"""`mockbook webhooks serve | subscriptions | check`: the HubSpot webhook intake
(glue.sync.webhooks).

Exit codes: 0 stopped cleanly (SIGTERM, SIGINT or SIGHUP), or `check` passed; 1 `check` failed
(the line says why); 2 configuration error (no client secret, no database, a malformed URL, an
address that cannot be listened on, no HUBSPOT_ACCESS_TOKEN, `check` without a URL).
"""

from __future__ import annotations

import json
import logging
import sys

import click

from glue import lifecycle, logs
from glue.cli import AppContext
from glue.cli.options import setting_option
from glue.config import WEBHOOKS_PATH, WEBHOOKS_PUBLIC_URL, ConfigError
from glue.exitcodes import CHECK_FAILED, OK

pass_app = click.make_pass_decorator(AppContext)
log = logging.getLogger("glue.sync.webhooks")


@click.group()
def webhooks() -> None:
    """HubSpot webhooks: receive changes made in HubSpot within seconds (polling stays on)."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@setting_option(WEBHOOKS_PATH)
@setting_option(WEBHOOKS_PUBLIC_URL)
@click.option("--json", "json_flag", is_flag=True, help="JSON log lines even on a terminal.")
@pass_app
def serve(
    app: AppContext, host: str, port: int, path: str, public_url: str | None, json_flag: bool
) -> None:
    """Receive HubSpot's webhook deliveries: check the v3 signature (401 when forged or older
    than 5 minutes), store the events (200), then apply them as the pull does, re-reading the
    objects from HubSpot. The secret is HUBSPOT_CLIENT_SECRET. Runs until SIGTERM, SIGINT or
    SIGHUP (the batch in hand finished, exit 0)."""
    from glue.sync.webhooks import WebhookConfig, WebhookService

    config = WebhookConfig.from_env(public_url=public_url, path=path, settings=app.settings)
    with logs.configured(json_lines=logs.wants_json(json_flag or app.json_output)):
        url = app.database_url()
        with lifecycle.graceful(service=True) as stop:
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


@webhooks.command("check")
@setting_option(WEBHOOKS_PUBLIC_URL, "--url")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the answer (HubSpot waits 5).",
)
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def check(app: AppContext, url: str | None, timeout: float, json_flag: bool) -> None:
    """Send a signed test delivery through the public URL, as HubSpot would (v3 signature with
    HUBSPOT_CLIENT_SECRET, for that URL), and prove that it reaches the intake and that the
    intake accepts its signature; nothing is stored. Exit 0 when it does, 1 with the reason
    (unreachable, 401: the URL or the secret differs, 404: wrong path, ...). HubSpot does not
    retry a 4xx: run it after every change of the URL, the proxy or the secret."""
    from glue.sync.webhook_check import check_intake
    from glue.sync.webhooks import WebhookConfig

    config = WebhookConfig.from_env(public_url=url, settings=app.settings)
    if config.public_url is None:
        raise ConfigError(
            "no URL to check: set MOCKBOOK_WEBHOOKS_PUBLIC_URL (the target URL registered in "
            "HubSpot) or pass --url"
        )
    result = check_intake(config.public_url, config.secret, timeout=timeout)
    if json_flag or app.json_output:
        answer = {"ok": result.ok, "url": config.public_url, "message": result.message}
        click.echo(json.dumps(answer))
    elif result.ok:
        click.echo(result.message)
    else:
        click.echo(f"mockbook: webhooks check: {result.message}", err=True)
    sys.exit(OK if result.ok else CHECK_FAILED)


COMMANDS = [webhooks]
