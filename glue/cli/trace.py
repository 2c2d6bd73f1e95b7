"""`mockbook trace KEY`: one booking's, student's or exam's story (glue.sync.trace), HubSpot's
values beside ours when HUBSPOT_ACCESS_TOKEN is set (glue.sync.trace_hubspot), and one last line
that answers "is it in HubSpot, and if not, why". Tables on a terminal, plain lines in a pipe,
one JSON object with --json. Reads only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from glue import exitcodes
from glue.cli import AppContext, streams
from glue.config import ConfigError
from glue.db.database import Database
from glue.sync.trace import TABLES, Story, TraceError, credits, read_story, short, when
from glue.sync.trace_answer import answer

pass_app = click.make_pass_decorator(AppContext)
CELL = 28  # characters of a value in the plain comparison's columns


@click.command("trace")
@click.argument("key")
@click.option("--kind", type=click.Choice(sorted(TABLES)),
              help="Only a record of this kind (when KEY names several).")
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True,
              help="Rows of each kind shown (audit, ledger, outbox ...), the newest.")
@click.option("--no-hubspot", is_flag=True,
              help="Do not read HubSpot, even with HUBSPOT_ACCESS_TOKEN set.")
@click.option("--json", "json_flag", is_flag=True, help="Print one JSON object.")
@pass_app
def trace(app: AppContext, key: str, kind: str | None, limit: int, no_hubspot: bool,
          json_flag: bool) -> None:
    """One record's story: a booking (code, id or HubSpot id), a student (student id, email,
    id or HubSpot id) or an exam (HubSpot id or id).

    In time order: its row and every change with who made it, the credit ledger rows, its
    outbox rows (attempts, leases, errors, dead letters), HubSpot's webhook deliveries and the
    pulls, the adoption's notes and the exam-change conflicts; with HUBSPOT_ACCESS_TOKEN,
    HubSpot's values beside ours, each difference explained. The last line answers: in HubSpot
    since ..., waiting ..., dead letter ..., held ..., conflict .... A key that names several
    records lists them (exit 2); so does one that names none. Reads only (one read-only
    transaction: no booking waits for it)."""
    as_json = json_flag or app.json_output
    with Database(app.database_url(), max_size=2, application_name="mockbook-trace") as db:
        try:
            story = read_story(db, key, kind=kind, limit=limit)
        except TraceError as exc:
            _refuse(exc, as_json)
        if app.settings.hubspot_access_token and not no_hubspot:
            story.hubspot = _hubspot(db, app, story)
        else:
            story.unread = "--no-hubspot" if no_hubspot else "HUBSPOT_ACCESS_TOKEN is not set"
    story.answer_kind, story.answer = answer(story)
    if as_json:
        click.echo(json.dumps(story.as_dict(), default=str))
    elif sys.stdout.isatty():
        _rich(story)
    else:
        _plain(story)


def _refuse(exc: TraceError, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": str(exc), "matches": exc.matches}))
    else:
        click.echo(f"mockbook trace: {exc}", err=True)
        for m in exc.matches:
            click.echo(f"  {m['kind']} {m['label']} ({m['matched']}): mockbook trace {m['id']}",
                       err=True)
    sys.exit(exitcodes.CONFIG_ERROR)


def _hubspot(db: Database, app: AppContext, story: Story) -> Any:
    """HubSpot's side, or what kept it from being read (the story is told either way)."""
    from glue.hubspot.client import HubSpotClient, HubSpotError
    from glue.hubspot.reads import HubSpotReader
    from glue.sync.portal import check_portal
    from glue.sync.trace import HubSpotView
    from glue.sync.trace_hubspot import compare

    try:
        client = HubSpotClient.from_settings(app.settings)
        # another portal's ids name other records: compare nothing with them (never recorded)
        check_portal(db, client, app.settings, record=False)
        return compare(HubSpotReader(client), app.settings, story)
    except (HubSpotError, ConfigError) as exc:
        return HubSpotView("error", detail=f"HubSpot not read: {short(exc, 300)}")


# ---- output --------------------------------------------------------------------------------------
def header(story: Story) -> list[str]:
    """The record in a few lines: what it is, what it belongs to, its notes."""
    return HEADERS[story.kind](story) + story.notes


def _booking_header(story: Story) -> list[str]:
    """A booking, its student and its exam, its token and attendance."""
    row, data = story.record, story.data
    lines = [f"booking {story.key} ({row.get('is_active')}), id {row['id']}, {_hubspot_id(row)}"]
    if c := data.get("contact"):
        lines.append(f"student {c['student_id']} {c.get('firstname') or ''} "
                     f"{c.get('lastname') or ''} <{c['email']}> (HubSpot id "
                     f"{c.get('hubspot_id') or 'none'})".replace("  ", " "))
    if e := data.get("exam"):
        lines.append(f"exam {e['hubspot_id']} {e.get('mock_exam_name') or ''}: "
                     f"{e.get('mock_type')} {e.get('exam_date')} {e.get('location') or ''}"
                     f" (active: {e.get('is_active')})")
    lines.append(f"token {row.get('token_used')}; attendance "
                 f"{row.get('attendance') or 'not marked'}")
    return lines


def _student_header(story: Story) -> list[str]:
    """A student, its credits and its first ten bookings."""
    row, data = story.record, story.data
    lines = [f"student {story.key} {row.get('firstname') or ''} {row.get('lastname') or ''} "
             f"<{row['email']}>, id {row['id']}, {_hubspot_id(row)}".replace("  ", " "),
             "credits: " + credits({f: row.get(f) for f in
                                    ("sj_credits", "cs_credits", "sjmini_credits",
                                     "mock_discussion_token", "shared_mock_credits")})]
    bookings = data.get("bookings", [])[: data["limit"]]
    for b in bookings[:10]:
        lines.append(f"  booking {b['booking_id']} {b['mock_type']} {b['exam_date']} "
                     f"{b['is_active']} (exam {b['associated_mock_exam']}, HubSpot id "
                     f"{b.get('hubspot_id') or 'none'})")
    if len(bookings) > 10:
        lines.append(f"  … {len(bookings) - 10} more bookings (--json lists them)")
    return lines


def _exam_header(story: Story) -> list[str]:
    """An exam, its time and place, its seats and its bookings by status."""
    row, data = story.record, story.data
    counts = ", ".join(f"{k} {v}" for k, v in sorted(data["bookings_by_status"].items()))
    return [f"exam {story.key} {row.get('mock_exam_name') or ''}, id {row['id']}",
            f"{row.get('mock_type')} {row.get('exam_date')} {row.get('start_time')}–"
            f"{row.get('end_time')} {row.get('location') or ''}; active: "
            f"{row.get('is_active')}",
            f"capacity {row.get('capacity')}, total_bookings {row.get('total_bookings')}; "
            f"bookings: {counts or 'none'}"]


def _hubspot_id(row: dict[str, Any]) -> str:
    return f"HubSpot id {row.get('hubspot_id') or '(none)'}"


HEADERS: dict[str, Callable[[Story], list[str]]] = {
    "booking": _booking_header, "student": _student_header, "exam": _exam_header,
}


def _when(at: Any) -> str:
    return when(at).removesuffix(" UTC") if at else "-"


def _plain(story: Story) -> None:
    for line in header(story):
        click.echo(line)
    click.echo(f"\nstory (matched by {story.matched}; times UTC, oldest first):")
    for e in story.events:
        who = f" [{e.actor}]" if e.actor else ""
        click.echo(f"  {_when(e.at)}  {e.source:<11} {e.text}{who}")
    view = story.hubspot
    if view is not None:
        click.echo(f"\n{_hubspot_title(story)}")
        if view.values:
            width = max(len(v.field) for v in view.values)
            click.echo(f"  {'property':<{width}}  {'Postgres':<{CELL}}  HubSpot")
        for v in view.values:  # HubSpot's values beside ours, a difference marked and explained
            line = f"  {v.field:<{width}}  {short(v.postgres, CELL):<{CELL}}  "
            line += f"{short(v.hubspot, CELL):<{CELL}}  ≠ {v.why}" if v.why else short(v.hubspot)
            click.echo(line.rstrip())
    click.echo("")
    click.echo(story.answer)


def _hubspot_title(story: Story) -> str:
    view = story.hubspot
    assert view is not None
    if view.state == "error":
        return view.detail
    noun = {"booking": "booking", "student": "contact", "exam": "exam"}[story.kind]
    where = (f"HubSpot's {noun} {view.hubspot_id or '(none)'}"
             + (f" (object {view.object_type})" if view.object_type else "") + ": ")
    if view.state in ("same", "differs"):
        n = len(view.differences)
        return where + (f"{view.compared} properties compared, "
                        + ("none differs" if not n else f"{n} differ{'s' if n == 1 else ''}"))
    if view.state == "deleted":
        return where + f"deleted at {when(view.at)}"
    if view.state == "merged":
        return where + f"merged into {view.merged_into}: {view.detail}"
    return where + f"{view.state}: {view.detail}"


def _rich(story: Story) -> None:
    console = streams.console()
    lines = header(story)
    console.print(Text(lines[0], style="bold"))
    for line in lines[1:]:
        console.print(line, markup=False, highlight=False)
    table = Table(title=f"story (matched by {story.matched}; times UTC)", title_justify="left")
    for column in ("time", "source", "what", "who"):
        table.add_column(column, overflow="fold", no_wrap=column == "time")
    for e in story.events:
        table.add_row(_when(e.at), e.source, e.text, e.actor or "")
    console.print(table)
    if story.hubspot is not None:
        if story.hubspot.values:
            diff = Table(title=_hubspot_title(story), title_justify="left")
            for column in ("property", "Postgres", "HubSpot", "why it differs"):
                diff.add_column(column, overflow="fold")
            for v in story.hubspot.values:
                diff.add_row(v.field, short(v.postgres), short(v.hubspot), v.why,
                             style="yellow" if v.why else None)
            console.print(diff)
        else:
            console.print(_hubspot_title(story), markup=False, highlight=False)
    style = "green" if story.answer_kind == "in HubSpot" else "bold yellow"
    console.print(Text(story.answer, style=style), soft_wrap=True)  # one line, however long


COMMANDS = [trace]
