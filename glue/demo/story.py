"""`mockbook demo`: a first run, told step by step on the terminal.

The building blocks (sample data, reset, the PostgREST-style calls, the checks, the push, the
analytics) live in glue/demo/data.py and glue/demo/rush.py; this module runs them in order and
prints what happened. Exit 0 when every check passed, 1 when one did not (the output says which),
2 on misconfiguration, 75 when another demo runs on the same database.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import click
import psycopg
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from glue import exitcodes
from glue.cli import AppContext, redact, streams
from glue.cli.options import setting_option
from glue.config import DEMO_SCALE
from glue.db import demo as demo_db
from glue.db import migrations
from glue.db.connection import connect
from glue.db.pooler import refuse_transaction
from glue.demo import data as d
from glue.demo import rush as r
from glue.sandbox import Sandbox

pass_app = click.make_pass_decorator(AppContext)


class Story:
    """The demo's output: steps with their time, tables, and the failures it noticed."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.failures: list[str] = []

    def say(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def done(self, text: str, started: float) -> None:
        self.say(f"[green]✓[/green] {text} [dim]({time.monotonic() - started:.1f} s)[/dim]")

    def check(self, name: str, ok: bool, detail: str) -> None:
        if ok:
            self.say(f"[bold green]{name}: PASSED[/bold green] — {detail}")
        else:
            self.failures.append(name)
            self.say(f"[bold red]{name}: FAILED[/bold red] — {detail}")

    @contextmanager
    def step(self, doing: str) -> Iterator[None]:
        with self.console.status(doing):
            yield

    def run(self, runner: r.Runner, label: str, calls: Sequence[r.Call]) -> list[r.Answer]:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        quiet = not self.console.is_terminal  # progress bars only on a terminal
        with Progress(*columns, console=self.console, transient=True, disable=quiet) as progress:
            task = progress.add_task(label, total=len(calls))
            answers = runner.run(calls, lambda: progress.advance(task))
        unexpected = [a for a in answers if r.unexpected(a)]
        if unexpected:
            self.failures.append(f"{label}: unexpected errors")
            for answer in unexpected[:5]:
                self.say(f"[red]unexpected error[/red] {answer.code or answer.resent_code}")
        return answers


def _n(value: int) -> str:
    return f"{value:,}"


def _codes(counter: Counter[str]) -> str:
    return ", ".join(f"{code} {_n(n)}" for code, n in counter.most_common()) or "none"


def _bar(fraction: float | None, width: int = 20) -> str:
    if fraction is None:
        return ""
    filled = round(min(float(fraction), 1.0) * width)
    return "█" * filled + "·" * (width - filled)


def connection_budget(conn: psycopg.Connection, wanted: int) -> int:
    """At most ``wanted`` connections, leaving room for the server's other sessions."""
    free = demo_db.free_connections(conn)
    return max(4, min(wanted, free))


# ---- the story ----------------------------------------------------------------------------------
def migrate_and_reset(story: Story, app: AppContext, url: str, conn: psycopg.Connection) -> None:
    started = time.monotonic()
    with story.step("migrating…"):
        migrations.upgrade(url, "head")
    story.done(f"database at revision [bold]{migrations.current(url)}[/bold]", started)
    started = time.monotonic()
    with story.step("removing the previous demo's data…"):
        counts = d.reset(conn)
    if counts["hubspot_contact_credits"] or counts["hubspot_mock_exams"]:
        story.done(
            f"reset the previous demo: {_n(counts['hubspot_bookings'])} bookings, "
            f"{_n(counts['hubspot_contact_credits'])} students, "
            f"{_n(counts['hubspot_mock_exams'])} exams, {_n(counts['credit_ledger'])} ledger, "
            f"{_n(counts['supabase_audit_log'])} audit and {_n(counts['sync_queue'])} outbox rows",
            started,
        )
    else:
        story.done("no earlier demo data to reset", started)


def book(story: Story, runner: r.Runner, plan: d.Plan, rng: random.Random) -> None:
    """The ordinary bookings, the rush, cancellations, a second wave and a few rebooks."""
    rush_exams = [e for e in plan.exams if e.rush]
    seats = sum(e.capacity for e in rush_exams)

    started = time.monotonic()
    answers = story.run(runner, "ordinary bookings on the large exams", r.regular_calls(plan, rng))
    tally = r.tally(answers)
    story.done(
        f"{_n(len(answers))} ordinary booking requests on {len(plan.exams) - len(rush_exams)} "
        f"larger exams: {_n(tally.booked)} booked; refused: {_codes(tally.refused)}",
        started,
    )

    calls = r.rush_calls(plan, rng)
    students = len({c.args["p_student_id"] for c in calls})
    story.say(
        f"[bold]Booking rush[/bold]: {_n(students)} students on {len(rush_exams)} small exams "
        f"({seats} seats), {_n(len(calls))} requests released at once through "
        f"{runner.connections} connections"
    )
    started = time.monotonic()
    rush = story.run(runner, "booking rush", calls)
    tally = r.tally(rush)
    story.done(
        f"rush: {_n(tally.booked)} booked for {seats} seats; refused: {_codes(tally.refused)}",
        started,
    )
    story.say(
        f"  idempotency: {tally.resends} clients resent their request with the same key → "
        f"{tally.resend_replays} replays of their booking (no second booking, no second "
        f"charge) and {_n(tally.resend_refused)} refusals (a refused call stores nothing, so its "
        f"retry is decided afresh); {tally.doubles} double submits raced → "
        f"{tally.double_replays} answered as replays of the other; "
        f"BUSY retried with the same key: {tally.busy_retries}"
    )

    started = time.monotonic()
    cancels = story.run(runner, "cancellations", r.cancel_calls(rush, 0.15, rng))
    freed: Counter[str] = Counter(a.call.exam for a in cancels if a.result)
    wave = story.run(runner, "second wave", r.second_wave_calls(rush, freed, rng))
    wave_tally = r.tally(wave)
    moves = story.run(runner, "rebooks", r.rebook_calls(plan, answers, rng))
    story.done(
        f"{sum(freed.values())} rush bookings cancelled by their students (credit refunded); "
        f"{len(wave)} turned-away students tried again: {wave_tally.booked} got a freed seat "
        f"({_codes(wave_tally.refused)}); {sum(1 for a in moves if a.result)} bookings moved to "
        "another exam with rebook",
        started,
    )


def live(story: Story, conn: psycopg.Connection, plan: d.Plan, stand_in: bool) -> None:
    """What live pages were sent (docs/apps.md, Live pages): each small exam's seats messages in
    commit order, and the students' own; the last message of an exam says its seats now."""
    rush_exams = [e.hubspot_id for e in plan.exams if e.rush]
    messages = demo_db.sent_messages(conn, rush_exams)
    where = ("on this database, which has no Supabase Realtime, through a stand-in for "
             "realtime.send (removed after the demo)" if stand_in else "through Supabase Realtime")
    students = sum(1 for m in messages if m["topic"].startswith("mockbook:student:"))
    story.say(f"[bold]Live pages[/bold]: the messages the booking calls sent {where}: "
              f"{_n(students)} to the students' own topics (their bookings, balances, offers)")
    table = Table(title="seats messages of the rush's exams, in commit order", title_justify="left")
    for column in ("exam topic", "messages", "remaining seats each message said", "now"):
        table.add_column(column)
    consistent = True
    for exam in rush_exams:
        said = [m["payload"] for m in messages if m["topic"] == f"mockbook:exam:{exam}"]
        seats = [str(p["remaining_seats"]) + ("F" if p["is_full"] else "") for p in said]
        shown = " ".join(seats) if len(seats) <= 16 else \
            " ".join(seats[:8]) + " … " + " ".join(seats[-6:])
        capacity, total, _active, held = demo_db.exam_seats(conn, exam)
        now = max(capacity - total - held, 0)
        consistent = consistent and bool(said) and said[-1]["remaining_seats"] == now
        table.add_row(f"mockbook:exam:{exam}", str(len(said)), shown, str(now))
    story.console.print(table)
    story.check("live pages check", consistent,
                "each exam's last seats message says the seats it has (F: full)")


def waitlist(story: Story, conn: psycopg.Connection, plan: d.Plan) -> None:
    """The waitlist moving: join a full exam, a cancellation, the offer, accepted."""
    started = time.monotonic()
    scene = d.waitlist_scene(conn, plan)
    if scene is None:
        story.check("waitlist", False, "no demo student left who could book a rush exam")
        return
    story.say(f"[bold]Waitlist[/bold] on {escape(scene.exam_name)}"
              + (" (the admin closed its last free seats first)" if scene.capacity_lowered else "")
              + f": {scene.student} joins (position {scene.joined.get('position')})")
    story.say(f"  booking {scene.cancelled} is cancelled → the seat is offered to {scene.student}, "
              f"held until {scene.offer_expires_at:%H:%M %Z}" if scene.offer_expires_at else
              f"  booking {scene.cancelled} is cancelled → [red]no offer was made[/red]")
    story.done(f"{scene.student} accepts: booking {scene.accepted.get('booking_id')} "
               f"({scene.accepted.get('credit_field')} spent now)", started)
    capacity_, _total, active, held = scene.seats
    story.check("waitlist", scene.ok,
                f"{active} Active + {held} held of {capacity_} seats; the offer went to the first "
                "in line and nobody else could take the freed seat")


def capacity(story: Story, conn: psycopg.Connection, plan: d.Plan) -> None:
    rows = d.capacity_rows(conn, plan)
    table = Table(title="Capacity vs bookings, per exam", title_justify="left")
    for name, justify in (
        ("exam", "left"),
        ("capacity", "right"),
        ("total_bookings", "right"),
        ("Active", "right"),
        ("cancelled", "right"),
        ("", "left"),
    ):
        table.add_column(name, justify=justify)
    bad = []
    for row in rows:
        ok = row["active"] <= row["capacity"] and row["total_bookings"] == row["active"]
        if not ok:
            bad.append(row["mock_exam_name"])
        full = "full" if row["active"] == row["capacity"] else ""
        table.add_row(
            row["mock_exam_name"].removeprefix(d.EXAM_PREFIX),
            str(row["capacity"]),
            str(row["total_bookings"]),
            str(row["active"]),
            str(row["cancelled"]),
            ("[green]ok[/green] " if ok else "[red]OVER[/red] ") + full,
        )
    story.console.print(table)
    story.check(
        "capacity check",
        not bad,
        "no exam over capacity, total_bookings = Active bookings on every exam"
        if not bad
        else f"{len(bad)} exams wrong: {', '.join(bad[:5])}",
    )


def credits(story: Story, conn: psycopg.Connection, plan: d.Plan) -> None:
    check = d.credit_check(conn, plan)
    table = Table(title="Credits of the demo students, from the ledger", title_justify="left")
    for name in (
        "field",
        "start",
        "spent",
        "refunded",
        "rebook (net)",
        "other",
        "now",
        "start − spent + refunded",
        "",
    ):
        table.add_column(name, justify="left" if name == "field" else "right")
    for f in check.fields:
        expected = f["start"] - f["spent"] + f["refunded"] + f["rebooked"] + f["other"]
        table.add_row(
            f["field"],
            _n(f["start"]),
            _n(f["spent"]),
            _n(f["refunded"]),
            str(f["rebooked"]),
            str(f["other"]),
            _n(f["now"]),
            _n(expected),
            "[green]ok[/green]" if f["ok"] else "[red]MISMATCH[/red]",
        )
    story.console.print(table)
    story.check(
        "credit check",
        check.ok,
        f"start − spent + refunded = now for every field, and the database's invariant check "
        f"(mockbook_internal.check_invariants: balance = start + ledger for each of "
        f"{_n(check.students_checked)} students and every credit field, total_bookings = "
        f"Active bookings) finds nothing"
        if check.ok
        else "; ".join(check.mismatches[:5]) or "a field does not add up",
    )


def push(
    story: Story,
    app: AppContext,
    url: str,
    conn: psycopg.Connection,
    plan: d.Plan,
    sandbox: Sandbox,
) -> None:
    others = d.other_pending(conn, plan)
    if others:
        story.say(
            f"[yellow]push skipped[/yellow]: {_n(others)} outbox rows of records that are not the "
            "demo's are pending in this database; the demo would send them to its sandbox "
            "instead of your HubSpot. Run `mockbook push` for them."
        )
        return
    started = time.monotonic()
    with story.step("pushing the outbox to the HubSpot sandbox…"):
        report = d.push(url, app.settings, sandbox, plan)
    stats = report.stats
    tables = ", ".join(f"{k.removeprefix('hubspot_')} {_n(v)}" for k, v in stats.by_table.items())
    story.done(
        f"push to the in-process HubSpot sandbox ({sandbox.base_url}, rate limit 100 requests / "
        f"10 s, 100 records per call): {_n(stats.sent)} records ({tables}) in "
        f"[bold]{report.total_calls} HubSpot calls[/bold]; rate-limit waits "
        f"{report.rate_limit_waits}, retried {stats.retried}, dead letters {stats.dead_lettered}",
        started,
    )
    table = Table(title="HubSpot calls of the push", title_justify="left")
    table.add_column("call")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.calls.items()):
        table.add_row(kind, str(count))
    story.console.print(table)
    sample = Table(title="Bookings now carry HubSpot ids (a sample)", title_justify="left")
    for name in ("booking code", "status", "HubSpot id", "associated contact", "associated exam"):
        sample.add_column(name)
    for s in report.samples:
        sample.add_row(
            s["booking_id"],
            s["is_active"],
            s["hubspot_id"] or "[red]none[/red]",
            s["hubspot_contact"] or "[red]none[/red]",
            s["hubspot_exam"] or "[red]none[/red]",
        )
    story.console.print(sample)
    story.check(
        "push check",
        report.bookings == report.with_hubspot_id == report.in_hubspot and not stats.dead_lettered,
        f"{_n(report.with_hubspot_id)} of {_n(report.bookings)} demo bookings have a HubSpot id; "
        f"the sandbox holds {_n(report.in_hubspot)} bookings "
        f"(and {_n(report.places_in_hubspot)} waitlist places)",
    )


def dashboard(story: Story, conn: psycopg.Connection, plan: d.Plan) -> None:
    started = time.monotonic()
    with story.step("refreshing the analytics views…"):
        data = d.refresh_and_read(conn, plan)
    story.done("analytics refreshed (refresh_analytics(): four materialized views)", started)
    exams = Table(title="Dashboard · utilization per exam (exam_utilization)", title_justify="left")
    for name in ("exam", "capacity", "active", "cancelled", "utilization", ""):
        exams.add_column(name, justify="left" if name in ("exam", "") else "right")
    for row in data["exams"]:
        u = row["utilization"]
        exams.add_row(
            row["mock_exam_name"].removeprefix(d.EXAM_PREFIX),
            str(row["capacity"]),
            str(row["active"]),
            str(row["cancelled"]),
            "" if u is None else f"{float(u):.0%}",
            _bar(u),
        )
    story.console.print(exams)
    types = Table(
        title="Dashboard · bookings per mock type (booking_analytics, whole database)",
        title_justify="left",
    )
    for name in ("mock type", "exams", "bookings", "active", "cancellations", "avg utilization"):
        types.add_column(name, justify="left" if name == "mock type" else "right")
    for row in data["types"]:
        u = row["utilization"]
        types.add_row(
            row["mock_type"],
            str(row["exams"]),
            _n(row["bookings"]),
            _n(row["active"]),
            _n(row["cancellations"]),
            "" if u is None else f"{float(u):.0%}",
        )
    story.console.print(types)
    spent = Table(title="Dashboard · credits (credit_usage, whole database)", title_justify="left")
    for name in ("credit field", "spent", "refunded", "rebook (net)", "net"):
        spent.add_column(name, justify="left" if name == "credit field" else "right")
    for row in data["credits"]:
        spent.add_row(
            row["credit_field"],
            _n(row["spent"]),
            _n(row["refunded"]),
            str(row["rebooked"]),
            _n(row["net"]),
        )
    story.console.print(spent)
    h = data["health"]
    story.say(
        f"sync health: {h['pending']} outbox rows pending, {h['dead_letters']} dead letters, "
        f"{h['errors_last_hour']} sync errors in the last hour"
    )


@click.command()
@setting_option(DEMO_SCALE, hidden=True, type=click.Choice(sorted(d.SCALES)))
@click.option("--seed", type=int, default=8, hidden=True, help="Random seed of the sample data.")
@click.option("--clean", is_flag=True,
              help="Only remove the demo's rows (before syncing this database with a portal).")
@pass_app
def demo(app: AppContext, scale: str, seed: int, clean: bool) -> None:
    """A first run: migrate, load sample exams and students, run a booking rush,
    check capacity and credits, push to an in-process HubSpot sandbox, show a dashboard.

    Runs on DATABASE_URL when set, else on the embedded PostgreSQL. It resets only its own
    demo rows (students DEMO…, exams named "[demo] …") and can be run again."""
    if clean:
        _clean(app)
        return
    console = streams.console(highlight=False)
    if not console.is_terminal:  # a log file or a pipe: wide enough for the tables
        console = streams.console(highlight=False, width=120)
    story = Story(console)
    begun = time.monotonic()
    url = app.database_url()
    where = redact(url)
    if not app.settings.database_url:
        where = f"the embedded PostgreSQL in {app.settings.data_dir} ({where})"
    console.rule("[bold]mockbook demo[/bold]")
    story.say(f"database: {where}")
    if app.settings.database_url:
        story.say(
            "[yellow]note[/yellow]: DATABASE_URL is set. The demo adds and later removes only its "
            "own rows, but a `mockbook worker` running on this database would push its bookings "
            "to your HubSpot. `make demo` uses the embedded database instead."
        )
    rng = random.Random(seed)
    with connect(url, autocommit=True) as conn:
        refuse_transaction(conn, url, "mockbook demo",
                           "one demo at a time is kept by a session-level lock")
        if not d.take_lock(conn):
            click.echo("mockbook demo: another demo is running on this database", err=True)
            sys.exit(exitcodes.BUSY)
        migrate_and_reset(story, app, url, conn)
        plan = d.make_plan(d.SCALES[scale], d.business_today(conn), rng)
        with d.demo_sandbox() as sandbox:
            started = time.monotonic()
            d.load(conn, plan, sandbox)
            story.done(
                f"loaded {len(plan.exams)} exams of all four mock types "
                f"(capacities {min(e.capacity for e in plan.exams)}–"
                f"{max(e.capacity for e in plan.exams)}) and {_n(len(plan.students))} students "
                f"holding {_n(sum(plan.start_totals().values()))} credits; the same exams and "
                "contacts exist in the sandbox, as after an import",
                started,
            )
            stand_in = demo_db.begin_broadcasts(conn)
            try:
                with r.Runner(url, connection_budget(conn, plan.scale.connections)) as runner:
                    book(story, runner, plan, rng)
                live(story, conn, plan, stand_in)
            finally:
                demo_db.end_broadcasts(conn, stand_in)
            waitlist(story, conn, plan)
            capacity(story, conn, plan)
            credits(story, conn, plan)
            push(story, app, url, conn, plan, sandbox)
        dashboard(story, conn, plan)
    seconds = time.monotonic() - begun
    if story.failures:
        story.say(
            f"[bold red]demo finished in {seconds:.0f} s with failed checks: "
            f"{', '.join(story.failures)}[/bold red]"
        )
        sys.exit(exitcodes.PARTIAL_FAILURE)
    story.say(
        f"[bold green]demo finished in {seconds:.0f} s[/bold green]: every check passed. Run it "
        "again any time (it resets its own data first)."
        + ("" if app.settings.database_url else " `mockbook down` stops the embedded database.")
    )


def _clean(app: AppContext) -> None:
    """`mockbook demo --clean`: delete the demo's rows and every row about them (ledger, audit,
    outbox, dead letters), so that nothing of the demo is ever sent to a configured portal."""
    url = app.database_url()
    with connect(url, autocommit=True) as conn:
        refuse_transaction(conn, url, "mockbook demo --clean",
                           "one demo at a time is kept by a session-level lock")
        if not d.take_lock(conn):
            click.echo("mockbook demo: another demo is running on this database", err=True)
            sys.exit(exitcodes.BUSY)
        counts = d.reset(conn)
    click.echo(
        f"removed the demo's rows: {_n(counts['hubspot_bookings'])} bookings, "
        f"{_n(counts['hubspot_contact_credits'])} students, {_n(counts['hubspot_mock_exams'])} "
        f"exams, {_n(counts['supabase_audit_log'])} audit and {_n(counts['sync_queue'])} outbox "
        "rows"
    )


COMMANDS = [demo]
