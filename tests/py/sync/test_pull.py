"""Pull (HubSpot -> Postgres, the sync design): exams and contacts changed in HubSpot
come in
incrementally through search, credits merge as deltas, capacity never goes below the booked
seats, malformed records are reported alone, faults and interruptions are survived."""

from __future__ import annotations

import json

import push_helpers
import sandbox_fixtures
from click.testing import CliRunner
from pull_helpers import (
    FailingReader,
    book,
    contact,
    exam,
    fast,
    hubspot,
    invariant_violations,
    ledger,
    ledger_mismatches,
    no_gc,
    one,
    open_db,
    q,
    seed_contacts,
    seed_exams,
)

from glue.cli import cli
from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sandbox import search as sandbox_search
from glue.sync.pull import pull
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
clock = sandbox_fixtures.clock
push_db = push_helpers.push_db


def searches(sb: Sandbox, type_id: str) -> list[dict]:
    return [r for r in sb.requests if r["path"] == f"/crm/v3/objects/{type_id}/search"]


def test_exams_inserted_updated_archived_and_scheduled_activated(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    kept, changed, archived, due, later = seed_exams(
        sandbox,
        [
            {},
            {"mock_type": "Situational Judgment", "capacity": "20"},
            {"mock_type": "Mini-mock"},
            {"is_active": "scheduled", "scheduled_activation_datetime": "2020-01-01T08:00:00Z"},
            {"is_active": "scheduled", "scheduled_activation_datetime": "2099-01-01T08:00:00Z"},
        ],
    )
    with open_db(push_db) as db:
        first = pull(db, client, settings, reader=reader).targets["exams"]
        assert (first.inserted, first.errors) == (5, [])
        assert exam(push_db, due)["is_active"] == "true"  # its time has come
        assert exam(push_db, later)["is_active"] == "scheduled"
        row = exam(push_db, kept)
        assert (row["mock_type"], row["capacity"], str(row["exam_date"]), row["mock_set"]) == (
            "Clinical Skills",
            10,
            "2031-03-01",
            "A",
        )

        sandbox.touch(EXAMS, changed, capacity="25", location="calgary")
        # Prerequisites are exam->exam associations in HubSpot (type 1340), not a property.
        sandbox.define_association_label(
            EXAMS, EXAMS, 1340, "requires attendance at", 1341, "is required by"
        )
        for prerequisite in (kept, due):
            sandbox.associate(EXAMS, changed, EXAMS, prerequisite, [1340])
        client.archive(EXAMS, [archived])
        second = pull(db, client, settings, reader=reader).targets["exams"]
    assert (second.updated, second.deactivated, second.inserted) == (1, 1, 0)
    row = exam(push_db, changed)
    assert (row["capacity"], row["location"], row["prerequisite_exam_ids"]) == (
        25,
        "calgary",
        [kept, due],
    )
    assert exam(push_db, archived)["is_active"] == "false"
    # Applied as HubSpot's own changes: audited as the pull, nothing queued back to HubSpot.
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.sync_queue") == 0
    actors = {
        r["performed_by"]
        for r in q(push_db, "SELECT DISTINCT performed_by FROM hubspot_sync.supabase_audit_log")
    }
    assert actors == {"hubspot:pull"}
    cursor = one(
        push_db, "SELECT cursor FROM hubspot_sync.sync_metadata WHERE sync_type = 'pull:exams'"
    )
    assert cursor["since_ms"] > 0
    # Every page asked for 200 records from the first result, by modification date (a pass
    # after the first also counts its edge's window: one search of one record, no sort).
    bodies = [r["json"] for r in searches(sandbox, EXAMS) if r["json"].get("sorts")]
    assert bodies and all(b["limit"] == 200 and b["after"] == "0" for b in bodies)
    assert bodies[0]["filterGroups"][0]["filters"][0]["propertyName"] == "hs_lastmodifieddate"


def test_capacity_below_the_booked_seats_is_stored_and_its_bookings_listed(
    push_db: str, sandbox: Sandbox
) -> None:
    """HubSpot owns the capacity: a cut below the Active bookings is stored as it says (the
    exam sells nothing until seats free), the bookings are kept and listed for admins, nothing
    is dead-lettered; a later capacity that seats them all ends the listing."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{"capacity": "5"}])
    seed_contacts(sandbox, [{"student_id": f"CAP{i}", "cs_credits": "1"} for i in range(3)])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        for i in range(3):
            book(push_db, f"CAP{i}", exam_id)
        sandbox.touch(EXAMS, exam_id, capacity="2", mock_exam_name="renamed")
        stats = pull(db, client, settings, reader=reader).targets["exams"]
        assert stats.capacity_refused == []
        row = exam(push_db, exam_id)
        assert (row["capacity"], row["mock_exam_name"], row["total_bookings"]) == (2, "renamed", 3)
        assert q(push_db, "SELECT * FROM hubspot_sync.sync_errors") == []
        listed = "SELECT count(*) FROM hubspot_sync.booking_conflicts" \
                 " WHERE rule = 'capacity_cut' AND resolved_at IS NULL"
        assert one(push_db, listed) == 3
        assert invariant_violations(push_db) == []

        # HubSpot seats them all again: applied, and the listing is over
        sandbox.touch(EXAMS, exam_id, capacity="4")
        pull(db, client, settings, reader=reader)
    assert exam(push_db, exam_id)["capacity"] == 4
    assert one(push_db, listed) == 0


def test_malformed_records_are_reported_alone_and_change_nothing(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    good, bad_later = seed_exams(sandbox, [{}, {"capacity": "12"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        bad = seed_exams(
            sandbox,
            [
                {"capacity": "twelve"},
                {"mock_type": "Astrology"},
                {"exam_date": ""},
            ],
        )
        sandbox.touch(EXAMS, bad_later, capacity="-3", location="vancouver")
        sandbox.touch(EXAMS, good, location="montreal")
        seed_contacts(
            sandbox,
            [
                {"student_id": "OK1", "sj_credits": "2"},
                {"student_id": "BAD1", "sj_credits": "two"},
                {"student_id": "", "email": "nobody@example.com"},
                {"student_id": "BAD3", "email": ""},
            ],
        )
        stats = pull(db, client, settings, reader=reader)
    exam_errors = {e["id"]: e["error"] for e in stats.targets["exams"].errors}
    assert set(exam_errors) == {*bad, bad_later}
    assert "capacity is not a whole number" in exam_errors[bad[0]]
    assert "unknown mock type" in exam_errors[bad[1]]
    assert "missing property exam_date" in exam_errors[bad[2]]
    # The good changes went through; the bad exam kept its last good values.
    assert exam(push_db, good)["location"] == "montreal"
    row = exam(push_db, bad_later)
    assert (row["capacity"], row["location"]) == (12, "mississauga")
    contact_errors = sorted(e["error"] for e in stats.targets["contacts"].errors)
    assert len(contact_errors) == 3
    assert any("sj_credits is not a whole number" in e for e in contact_errors)
    assert any("missing property student_id" in e for e in contact_errors)
    assert any("missing property email" in e for e in contact_errors)
    assert contact(push_db, "OK1")["sj_credits"] == 2
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits") == 1
    dead = q(push_db, "SELECT entity_type, direction FROM hubspot_sync.sync_errors")
    assert len(dead) == 7 and {d["direction"] for d in dead} == {"pull"}


def test_credit_merge_keeps_an_unpushed_booking_and_the_admins_change(
    push_db: str, sandbox: Sandbox
) -> None:
    """The issue's scenario: a student books (local balance 5 -> 4, not pushed yet) while an
    admin adds 2 credits in HubSpot (5 -> 7). After pull and push both show 6, and the ledger
    explains every step."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{}])
    [contact_id] = seed_contacts(sandbox, [{"student_id": "MERGE1", "cs_credits": "5"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        assert contact(push_db, "MERGE1")["cs_credits"] == 5
        book(push_db, "MERGE1", exam_id)
        assert contact(push_db, "MERGE1")["cs_credits"] == 4
        sandbox.touch(CONTACTS, contact_id, cs_credits="7")

        stats = pull(db, client, settings, reader=reader).targets["contacts"]
        assert stats.merged == 1
        assert contact(push_db, "MERGE1")["cs_credits"] == 6
        push(db, client, settings, linger=0)
        assert sandbox.get(CONTACTS, contact_id)["properties"]["cs_credits"] == "6"
        assert contact(push_db, "MERGE1")["cs_credits"] == 6

        # The push's own write comes back with the next pull: it is not an admin change.
        again = pull(db, client, settings, reader=reader).targets["contacts"]
        assert again.merged == 0
        assert contact(push_db, "MERGE1")["cs_credits"] == 6
    assert ledger(push_db, "MERGE1") == [
        ("import", "cs_credits", 5, 5),
        ("booking", "cs_credits", -1, 4),
        ("hubspot_adjustment", "cs_credits", 2, 6),
    ]
    note = one(
        push_db, "SELECT note FROM hubspot_sync.credit_ledger WHERE reason = 'hubspot_adjustment'"
    )
    assert "from 5 to 7" in note
    assert ledger_mismatches(push_db) == []


def test_an_admin_removing_spent_credits_stops_at_zero(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    [exam_id] = seed_exams(sandbox, [{}])
    [contact_id] = seed_contacts(sandbox, [{"student_id": "ZERO1", "cs_credits": "1"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        book(push_db, "ZERO1", exam_id)  # spends the only credit, not pushed
        sandbox.touch(CONTACTS, contact_id, cs_credits="0")  # the admin takes it back
        stats = pull(db, client, settings, reader=reader).targets["contacts"]
    assert stats.clamped == [
        {"id": contact_id, "field": "cs_credits", "hubspot_change": -1, "applied": 0}
    ]
    assert contact(push_db, "ZERO1")["cs_credits"] == 0
    assert ledger_mismatches(push_db) == []


def test_changed_contacts_are_all_pulled_past_the_search_cap(
    push_db: str, sandbox: Sandbox, monkeypatch
) -> None:
    """Search never pages past 10,000 results; the pull moves its cursor forward instead
    (every request asks for the records modified since the newest one seen, from the first).
    The sandbox's cap is lowered to 1,000 and 2,500 contacts changed (2.5 times the cap, as
    25,000 are of HubSpot's): the same proof at a tenth of the records (the in-process search
    scans every record per request, so 25,000 took 90 s)."""
    monkeypatch.setattr(sandbox_search, "MAX_RESULTS", 1_000)
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox, search_rate=1000)
    n = 2_500
    sandbox.seed(
        CONTACTS,
        [
            {"email": f"bulk{i}@example.com", "student_id": f"BULK{i}", "sj_credits": str(i % 4)}
            for i in range(n)
        ],
    )
    # The in-process sandbox scans every record on each search; Python's cyclic garbage
    # collector walking its (and earlier tests') objects would triple the time, so it pauses.
    with open_db(push_db) as db, no_gc():
        stats = pull(db, client, settings, reader=reader, only=("contacts",))
    t = stats.targets["contacts"]
    assert (t.inserted, t.errors, t.failed) == (n, [], None)
    assert t.total == n  # the first search said so; no single query could have paged it all
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits") == n
    assert one(push_db, "SELECT sum(sj_credits) FROM hubspot_sync.hubspot_contact_credits") == sum(
        i % 4 for i in range(n)
    )
    bodies = [r["json"] for r in searches(sandbox, CONTACTS)]
    assert len(bodies) >= n // 200 and all(b["after"] == "0" for b in bodies)


def test_an_interrupted_pull_resumes_from_its_cursor(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    sandbox.seed(
        CONTACTS,
        [
            {"email": f"r{i}@example.com", "student_id": f"RES{i}", "cs_credits": "1"}
            for i in range(1000)
        ],
    )
    broken = FailingReader(reader, ok=2)
    with open_db(push_db) as db:
        first = pull(db, client, settings, reader=broken, only=("contacts",), sleep=lambda s: None)
        t = first.targets["contacts"]
        assert t.failed is not None and 0 < t.inserted < 1000
        saved = one(
            push_db,
            "SELECT cursor FROM hubspot_sync.sync_metadata WHERE sync_type = 'pull:contacts'",
        )
        status = one(
            push_db,
            "SELECT last_sync_status FROM hubspot_sync.sync_metadata "
            "WHERE sync_type = 'pull:contacts'",
        )
        assert status == "failed" and saved["since_ms"] > 0
        before = len(searches(sandbox, CONTACTS))
        second = pull(db, client, settings, reader=reader, only=("contacts",))
    assert second.targets["contacts"].failed is None
    # It went on from the saved position (less the overlap), not from the beginning.
    resumed_at = int(
        searches(sandbox, CONTACTS)[before]["json"]["filterGroups"][0]["filters"][0]["value"]
    )
    assert resumed_at == saved["since_ms"] - 120_000
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits") == 1000
    assert ledger_mismatches(push_db) == []


def test_pull_survives_429s_5xx_and_timeouts(push_db: str, sandbox: Sandbox) -> None:
    """Calls that get no answer come from the sandbox's timeout fault, which ends the call
    unanswered itself (after 0.05 s): the client keeps the tests' long timeout, so on a loaded
    machine no other call times out and the faults are exactly the seeded ones."""
    settings, client, reader = hubspot(push_db, sandbox)
    sandbox.seed(
        CONTACTS,
        [
            {"email": f"f{i}@example.com", "student_id": f"FLT{i}", "sj_credits": "1"}
            for i in range(600)
        ],
    )
    seed_exams(sandbox, [{} for _ in range(5)])
    sandbox.faults.seed = 7
    sandbox.faults.error_rate = 0.25
    sandbox.faults.timeout_rate = 0.1
    sandbox.faults.timeout_seconds = 0.05
    sandbox.faults.storm(1.0)
    with open_db(push_db) as db:
        stats = pull(db, client, settings, reader=reader, sleep=lambda s: None)
    assert stats.ok, stats.as_dict()
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits") == 600
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams") == 5
    faults = sandbox.stats["faults"]
    assert faults["error"] > 0 and faults["timeout"] > 0 and faults["storm"] > 0
    assert json.dumps(stats.as_dict())  # the CLI prints it


def test_the_overlap_window_catches_records_search_showed_late(
    push_db: str, sandbox: Sandbox, clock
) -> None:
    """Search is eventually consistent: a record changed just before the newest one seen may
    only become searchable after the pass went by. Each pass re-reads an overlap window."""
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    late, _ = seed_contacts(sandbox, [{"student_id": "LAG1"}, {"student_id": "LAG2"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader, only=("contacts",))
        lag = sandbox_fixtures.REALISTIC_SEARCH_LAG  # HubSpot's few seconds
        sandbox.search_lag = lag
        sandbox.touch(CONTACTS, late, firstname="Late")  # searchable only in `lag` s
        clock.advance(0.01)
        seed_contacts(sandbox, [{"student_id": "LAG3"}])  # searchable at once, and newer
        first = pull(db, client, settings, reader=reader, only=("contacts",), overlap_seconds=0)
        assert first.targets["contacts"].inserted == 1  # LAG3; LAG1's change not visible yet
        clock.advance(lag + 0.1)  # now LAG1's change is searchable too
        no_overlap = pull(
            db, client, settings, reader=reader, only=("contacts",), overlap_seconds=0
        )
        assert contact(push_db, "LAG1")["firstname"] == "FirstLAG1"  # missed without overlap
        pull(db, client, settings, reader=reader, only=("contacts",))
    assert no_overlap.targets["contacts"].read == 0  # nothing after the cursor (LAG3)
    assert contact(push_db, "LAG1")["firstname"] == "Late"  # the default overlap re-read it


def test_the_pull_command(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    seed_exams(sandbox, [{}, {"capacity": "many"}])
    seed_contacts(sandbox, [{"student_id": "CLI1", "sj_credits": "2"}])
    env = push_helpers.env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    runner = CliRunner()
    result = runner.invoke(cli, ["pull", "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 1  # one exam could not be applied
    out = json.loads(result.output)
    assert out["targets"]["exams"]["inserted"] == 1
    assert out["targets"]["contacts"]["inserted"] == 1
    assert "capacity is not a whole number" in out["targets"]["exams"]["errors"][0]["error"]
    text = runner.invoke(cli, ["pull", "--only", "contacts"], env=env, catch_exceptions=False)
    # nothing changed since: the contact is not read again
    assert text.exit_code == 0 and text.output.startswith("pull contacts: read 0")


class BusyStore:
    """A PullDatabase stand-in whose records stay locked for ``busy_passes[id]`` applies."""

    def __init__(self, busy_passes: dict[str, int]) -> None:
        self.busy_passes = dict(busy_passes)
        self.applied: list[list[str]] = []
        self.noted: list[str] = []
        self.settled: list[str] = []

    def apply_exams(self, records: list[dict], actor: str) -> dict:
        ids = [r["id"] for r in records]
        self.applied.append(ids)
        busy = [i for i in ids if self.busy_passes.get(i, 0) >= len(self.applied)]
        return {"updated": len(ids) - len(busy), "retry": busy}

    def note_pull_error(self, table: str, record_id: str, error: str, record: dict) -> None:
        self.noted.append(record_id)

    def close_busy_letters(self, table: str, record_ids: list[str]) -> int:
        self.settled.extend(record_ids)
        return 0


def test_busy_records_are_applied_again_then_dead_lettered() -> None:
    """The pull's BUSY re-apply: only the records still busy are applied again, three passes in
    all, 0.5 s then 1 s apart; what is busy after the third is reported and dead-lettered."""
    from glue.config import Settings
    from glue.sync.pull import Puller, TargetStats, targets

    slept: list[float] = []
    puller = Puller(None, None, sleep=slept.append)  # type: ignore[arg-type]
    store = BusyStore({"2": 1, "3": 5})  # 2 is busy once, 3 every time
    puller.store = store  # type: ignore[assignment]
    target = targets(Settings(database_url="postgresql://unused"))["exams"]
    stats = TargetStats()
    puller.apply(target, [{"id": i, "properties": {}} for i in "123"], stats)
    assert store.applied == [["1", "2", "3"], ["2", "3"], ["3"]]
    assert slept == [0.5, 1.0]
    assert stats.updated == 2
    assert [e["id"] for e in stats.errors] == ["3"] and "BUSY" in stats.errors[0]["error"]
    assert store.noted == ["3"]
    assert store.settled == ["1", "2"]  # their BUSY letters (if any) closed, 3's kept

    slept.clear()
    store = BusyStore({})  # nothing busy: one pass, no sleep, nothing reported
    puller.store = store  # type: ignore[assignment]
    stats = TargetStats()
    puller.apply(target, [{"id": "1", "properties": {}}], stats)
    assert (store.applied, slept, stats.errors) == ([["1"]], [], [])


def test_the_pull_reports_exam_times_it_cannot_read(push_db: str, sandbox: Sandbox) -> None:
    """An exam whose start_time HubSpot holds as text no reader knows ('TBD') is applied as
    stored (HubSpot owns it) and listed by the pull, in its result and its output, never
    taken silently for an exam without a time."""
    fast(sandbox)
    [unreadable, fine] = seed_exams(sandbox, [
        {"exam_date": "2031-05-02", "start_time": "TBD"},
        {"exam_date": "2031-05-02", "start_time": "2031-05-02T13:00:00.000Z"}])
    env = push_helpers.env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    runner = CliRunner()
    result = runner.invoke(cli, ["pull", "--only", "exams", "--json"], env=env,
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output  # applied: nothing for the dead-letter queue
    problems = json.loads(result.output)["targets"]["exams"]["time_problems"]
    assert [p["id"] for p in problems] == [unreadable]
    assert "TBD" in problems[0]["problem"]
    text = runner.invoke(cli, ["pull", "--only", "exams", "--overlap", "86400"], env=env,
                         catch_exceptions=False)  # read again: the cursor has passed them
    assert "unreadable times 1" in text.output
    assert f"exam {unreadable}: " in text.output and fine not in text.output
