"""`mockbook import`: a HubSpot account's exams, contacts and bookings into an
empty database; bookings matched by code or idempotency key (never duplicated), balances as
'import' ledger rows, total_bookings recounted, resumable, a summary at the end."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime

import push_helpers
import pytest
import sandbox_fixtures
from click.testing import CliRunner
from pull_helpers import (
    FailingReader,
    booking_props,
    contact,
    contact_props,
    exam,
    exam_props,
    fast,
    hubspot,
    invariant_violations,
    ledger,
    ledger_mismatches,
    one,
    open_db,
    q,
    seed_account,
    seed_contacts,
    seed_exams,
)
from push_helpers import env_for

from glue import exitcodes
from glue.cli import cli, main
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.importer import run_import

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def test_first_import_of_a_hubspot_account(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    account = seed_account(sandbox)
    e1, e2 = account["exams"]
    settings, client, reader = hubspot(push_db, sandbox)
    progress: list[tuple[str, int, int | None]] = []
    with open_db(push_db) as db:
        stats = run_import(
            db, client, settings, reader=reader, progress=lambda *a: progress.append(a)
        )
    summary = stats.summary()
    assert summary["exams"]["inserted"] == 2
    assert summary["contacts"]["inserted"] == 3
    assert (summary["bookings"]["inserted"], summary["bookings"]["errors"]) == (5, 1)
    [err] = stats.targets["bookings"].errors
    assert err["id"] == account["bookings"][5] and "missing property booking_id" in err["error"]
    assert {p[0] for p in progress} == {"exams", "contacts", "bookings"}

    # total_bookings counts the Active bookings; balances are 0 + 'import' ledger rows.
    assert (exam(push_db, e1)["total_bookings"], exam(push_db, e2)["total_bookings"]) == (2, 1)
    assert invariant_violations(push_db) == []
    assert ledger_mismatches(push_db) == []
    assert ledger(push_db, "IMP1") == [
        ("import", "cs_credits", 3, 3),
        ("import", "shared_mock_credits", 1, 1),
    ]
    assert contact(push_db, "IMP1")["hubspot_id"] == account["contacts"][0]
    rows = q(
        push_db,
        "SELECT booking_id, hubspot_id, is_active, attendance, student_email, "
        "exam_date::text, associated_contact_id FROM hubspot_sync.hubspot_bookings "
        "ORDER BY booking_id",
    )
    assert [r["booking_id"] for r in rows] == [f"BK-20310309-{c * 6}" for c in "ABCDE"]
    assert rows[3]["attendance"] == "Yes" and rows[3]["is_active"] == "Completed"
    assert rows[0]["exam_date"] == "2031-03-09"
    assert all(r["hubspot_id"] for r in rows)
    # Imported as HubSpot's own data: nothing is queued to be pushed back.
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.sync_queue") == 0


def test_existing_bookings_are_matched_never_duplicated(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    account = seed_account(sandbox)
    c1, c2, _ = account["contacts"]
    [e3] = seed_exams(sandbox, [{"exam_date": "2031-04-01"}])
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        run_import(db, client, settings, reader=reader)
        # Two bookings made in Postgres whose HubSpot copies appear later (made by an earlier
        # sync): one has the same booking code, the other the same idempotency key.
        mine = one(
            push_db,
            """
            SELECT hubspot_sync.create_booking(p_student_id := 'IMP1',
                p_email := 'imp1@example.com', p_mock_exam_id := %s,
                p_idempotency_key := 'local-key-1', p_dominant_hand := 'left',
                p_booking_id := 'BK-20310401-FFFFFF')""",
            (e3,),
        )
        admins = one(
            push_db,
            """
            SELECT hubspot_sync.admin_create_booking(p_student_id := 'IMP2',
                p_email := 'imp2@example.com', p_mock_exam_id := %s,
                p_idempotency_key := 'local-key-2', p_actor := 'admin@example.com',
                p_dominant_hand := 'right')""",
            (e3,),
        )
        hs_code, hs_key = sandbox.seed(
            BOOKINGS,
            [
                booking_props("BK-20310401-FFFFFF", e3, "IMP1", c1, idempotency_key="hs-key-1"),
                booking_props("BK-20310401-GGGGGG", e3, "IMP2", c2, idempotency_key="local-key-2"),
            ],
        )
        before = one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings")
        again = run_import(db, client, settings, reader=reader)
    b = again.targets["bookings"]
    assert (b.inserted, b.linked) == (0, 2)
    assert "bookings" in again.resumed
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings") == before
    linked = {
        r["id"]: r["hubspot_id"]
        for r in q(
            push_db,
            "SELECT id::text, hubspot_id FROM hubspot_sync.hubspot_bookings "
            "WHERE associated_mock_exam = %s",
            (e3,),
        )
    }
    assert linked == {mine["id"]: hs_code, admins["id"]: hs_key}
    assert exam(push_db, e3)["total_bookings"] == 2
    assert invariant_violations(push_db) == []


def test_an_interrupted_import_resumes(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    seed_exams(sandbox, [{} for _ in range(3)])
    sandbox.seed(
        "0-1",
        [
            {"email": f"i{i}@example.com", "student_id": f"INT{i}", "sj_credits": "1"}
            for i in range(900)
        ],
    )
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        broken = FailingReader(reader, ok=3)  # exams' page, then two pages of contacts
        first = run_import(db, client, settings, reader=broken, sleep=lambda s: None)
        assert not first.ok and "bookings" not in first.targets
        partial = one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits")
        assert 0 < partial < 900
        second = run_import(db, client, settings, reader=reader)
    assert second.ok and "contacts" in second.resumed
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits") == 900
    assert ledger_mismatches(push_db) == []


def test_the_import_command_prints_a_summary(
    push_db: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast(sandbox)
    seed_account(sandbox)
    env = env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "--json"], env=env, catch_exceptions=False)
    # One booking has no code: reported, exit 1 (partial failure), the rest imported.
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert out["summary"]["bookings"]["inserted"] == 5
    assert out["summary"]["contacts"]["inserted"] == 3
    assert len(out["errors"]["bookings"]) == 1
    table = runner.invoke(cli, ["import"], env=env, catch_exceptions=False)
    assert "mockbook import" in table.output and "bookings" in table.output
    assert "resumed: exams, contacts, bookings" in table.output

    for key, value in {**env, "HUBSPOT_ACCESS_TOKEN": ""}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_info:
        main(["import"])
    assert exit_info.value.code == exitcodes.CONFIG_ERROR


def test_a_progress_bar_on_a_terminal(push_db: str, sandbox: Sandbox) -> None:
    """On a terminal (here a pseudo-terminal as stderr) the import shows rich progress bars."""
    fast(sandbox)
    seed_account(sandbox, malformed=False)
    main_fd, terminal_fd = pty.openpty()
    env = {
        **os.environ,
        **env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50"),
        "COLUMNS": "100",
        "TERM": "xterm",
    }
    env.pop("MOCKBOOK_SCHEMA_SOURCE", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from glue.cli import main; main()", "import"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=terminal_fd,
        cwd=push_helpers.ROOT,
        text=True,
    )
    os.close(terminal_fd)
    shown = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=300)
    os.close(main_fd)
    assert proc.returncode == 0, shown.decode(errors="replace")
    screen = shown.decode(errors="replace")
    for name in ("exams", "contacts", "bookings"):
        assert name in screen
    assert "━" in screen  # the bars
    assert "mockbook import" in out  # the summary table on stdout


def test_imported_records_keep_the_day_hubspot_created_them(push_db: str, sandbox: Sandbox) -> None:
    """An import brings a portal's history: each exam, contact and booking keeps HubSpot's
    creation time (the object's createdAt) as its created_at, so daily_booking_trends shows the
    bookings on the days they were made, not all on the day of the import. (Before the fix the
    glue dropped createdAt and every row was created "now".)"""
    fast(sandbox)
    day = {n: datetime(2025, 1, n, 15, 30, tzinfo=UTC) for n in (6, 13, 20, 27)}  # 10:30 Toronto
    [e1] = sandbox.seed(EXAMS, [exam_props(capacity="10")], at=day[6])
    students = {d: f"DAY{d}" for d in (13, 20, 27)}
    contacts = {
        d: sandbox.seed(CONTACTS, [contact_props(s)], at=day[6])[0] for d, s in students.items()
    }
    [c_late] = sandbox.seed(CONTACTS, [contact_props("DAYLATE")], at=day[13])
    codes = {13: "BK-20310309-MMMMMM", 20: "BK-20310309-NNNNNN", 27: "BK-20310309-PPPPPP"}
    for d, code in codes.items():
        sandbox.seed(
            BOOKINGS,
            [booking_props(code, e1, students[d], contacts[d], attending_location="mississauga")],
            at=day[d],
        )
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        stats = run_import(db, client, settings, reader=reader)
    assert stats.summary()["bookings"]["inserted"] == 3, stats.as_dict()

    created = {
        r["booking_id"]: r["created_at"]
        for r in q(push_db, "SELECT booking_id, created_at FROM hubspot_sync.hubspot_bookings")
    }
    assert created == {code: day[d] for d, code in codes.items()}
    assert exam(push_db, e1)["created_at"] == day[6]
    assert contact(push_db, "DAY13")["created_at"] == day[6]
    assert contact(push_db, "DAYLATE")["created_at"] == day[13]
    assert contact(push_db, "DAYLATE")["hubspot_id"] == c_late

    one(push_db, "SELECT mockbook_internal.refresh_analytics()")
    trends = q(
        push_db,
        "SELECT day::text, location, bookings FROM hubspot_sync.daily_booking_trends ORDER BY day",
    )
    assert trends == [
        {"day": "2025-01-13", "location": "mississauga", "bookings": 1},
        {"day": "2025-01-20", "location": "mississauga", "bookings": 1},
        {"day": "2025-01-27", "location": "mississauga", "bookings": 1},
    ]


def test_bookings_are_taken_as_their_associations_say(push_db: str, sandbox: Sandbox) -> None:
    """A booking made in HubSpot's UI may lack the properties naming its exam and contact, or an
    admin moved it to another exam by its association only: the associations win (HubSpot's
    record is the association), and the difference is reported. Before, the first booking was
    refused ("missing property associated_mock_exam") and the second imported on the wrong
    exam."""
    fast(sandbox)
    e1, e2 = seed_exams(sandbox, [{"capacity": "4"}, {"capacity": "4"}])
    c1, c2 = seed_contacts(sandbox, [{"student_id": "AS1"}, {"student_id": "AS2"}])
    made_in_ui = booking_props("BK-20310309-UIUIUI", e1, "AS1", c1)
    del made_in_ui["associated_mock_exam"], made_in_ui["associated_contact_id"]
    moved = booking_props("BK-20310309-MOVEDD", e2, "AS2", c2)  # the property still says e2
    ui_id, moved_id = sandbox.seed(BOOKINGS, [made_in_ui, moved])
    for booking, exam_id, contact_id in ((ui_id, e1, c1), (moved_id, e1, c2)):
        sandbox.associate(BOOKINGS, booking, EXAMS, exam_id,
                          [sandbox.association_type_id(BOOKINGS, EXAMS) or 1])
        sandbox.associate(BOOKINGS, booking, CONTACTS, contact_id,
                          [sandbox.association_type_id(BOOKINGS, CONTACTS) or 1])
    settings, client, reader = hubspot(push_db, sandbox)
    with open_db(push_db) as db:
        stats = run_import(db, client, settings, reader=reader)
    assert stats.targets["bookings"].errors == []
    rows = {r["booking_id"]: r for r in q(
        push_db, "SELECT booking_id, associated_mock_exam, associated_contact_id "
                 "FROM hubspot_sync.hubspot_bookings")}
    assert (rows["BK-20310309-UIUIUI"]["associated_mock_exam"],
            rows["BK-20310309-UIUIUI"]["associated_contact_id"]) == (e1, c1)
    assert rows["BK-20310309-MOVEDD"]["associated_mock_exam"] == e1
    reported = {(r["id"], r["property"], r["value"]): r["associations"]
                for r in stats.as_dict()["reassociated"]}
    assert reported == {
        (ui_id, "associated_mock_exam", None): [e1],
        (ui_id, "associated_contact_id", None): [c1],
        (moved_id, "associated_mock_exam", e2): [e1],
    }
    assert stats.summary()["bookings"]["reassociated"] == 3
