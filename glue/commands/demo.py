"""`mockbook demo`: the newcomer's first run on the zero-config default.

Today it migrates the database (embedded PostgreSQL unless DATABASE_URL is set) and shows the
applied revision and every hubspot_sync table with its row count. The booking rush, the sync to
the HubSpot sandbox and the dashboard of SPEC §8 are not built yet (README: what is not built).
"""

from __future__ import annotations

import click
import psycopg
from rich.console import Console
from rich.table import Table

from glue import migrations
from glue.cli import AppContext, redact

pass_app = click.make_pass_decorator(AppContext)


def table_counts(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'hubspot_sync' AND c.relkind = 'r' ORDER BY c.relname"
            )
        ]
        return [
            (name, conn.execute(f'SELECT count(*) FROM hubspot_sync."{name}"').fetchone()[0])
            for name in names
        ]


@click.command()
@pass_app
def demo(app: AppContext) -> None:
    """Migrate the (embedded) database and show what is in it."""
    console = Console(stderr=False)
    url = app.database_url()
    console.print(f"database: {redact(url)}")
    migrations.upgrade(url, "head")
    console.print(f"migrated to revision [bold]{migrations.current(url)}[/bold]")
    table = Table(title="hubspot_sync tables")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in table_counts(url):
        table.add_row(name, str(count))
    console.print(table)


COMMANDS = [demo]
