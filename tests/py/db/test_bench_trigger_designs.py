"""bench/trigger_ab.py's designs install on the schema as it is now, and each one, switched on
alone, writes its rows for a booking: the tool's figures (docs/performance.md, "The audit and
outbox trigger") can be measured again. The designs' SQL once lived in migration files that a
squash removed, and the tool then failed before its first leg; this catches that kind of drift.
Speed is not asserted here: the tool measures it."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bench import fixtures, trigger_ab

# per design: the tables a booking's 3 row changes (booking, contact, exam) write into, and
# how many rows each gets
ROWS = {
    "none": {},
    "two": {"sync_queue": 3, "supabase_audit_log": 3},
    "one": {"sync_queue": 3, "supabase_audit_log": 3},
    "rows": {"sync_queue": 3, "supabase_audit_log": 3},
    "bare": {"bare_sq": 3, "bare_audit": 3},
    "merged": {"merged": 3},
    "merged3": {"merged3": 3},
    "lean": {"lean_sq": 3, "lean_audit": 3},
    "narrow": {"sync_queue": 3, "supabase_audit_log": 3},
    "narrow2": {"sync_queue": 3, "supabase_audit_log": 3},
    "jsonb": {"sync_queue": 3, "supabase_audit_log": 3},
}
TABLES = sorted({t for rows in ROWS.values() for t in rows})


@pytest.fixture(scope="module")
def designs_url(make_database) -> str:
    url = make_database("trigger_designs", migrated=True)
    trigger_ab.install(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO hubspot_sync.hubspot_contact_credits
                   (hubspot_id, student_id, email, firstname, lastname, sj_credits)
               VALUES ('TD1', 'TD1', 'td1@example.com', 'Trigger', 'Designs', 100)""")
        for k, _ in enumerate(ROWS):
            fixtures.add_exam(conn, f"TDX{k}", 10 + k, 10)
    return url


def counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM hubspot_sync.{t}").fetchone()[0]
            for t in TABLES}


def test_every_design_is_listed() -> None:
    assert set(ROWS) == set(trigger_ab.DESIGNS)


@pytest.mark.parametrize("design", list(ROWS))
def test_design_writes_its_rows(designs_url: str, design: str) -> None:
    k = list(ROWS).index(design)
    trigger_ab.use(designs_url, design)
    try:
        with psycopg.connect(designs_url, autocommit=True) as conn:
            before = counts(conn)
            with conn.transaction():
                conn.execute(fixtures.POSTGREST_PREAMBLE)
                result = conn.execute(
                    "SELECT hubspot_sync.create_booking(p_student_id := 'TD1', "
                    "p_email := 'td1@example.com', p_mock_exam_id := %s, "
                    "p_idempotency_key := %s, p_attending_location := 'mississauga')",
                    (f"TDX{k}", f"td-{design}")).fetchone()[0]
            after = counts(conn)
    finally:
        trigger_ab.use(designs_url, "one")
    assert result["success"] is True, result
    added = {t: after[t] - before[t] for t in TABLES if after[t] != before[t]}
    assert added == ROWS[design]


def test_trigger_micro_designs_install(designs_url: str) -> None:
    """bench/trigger_micro.py's designs: the shipped function and the jsonb one under their
    bench names, and the hstore variant's rewrite of the jsonb one still finding its marks."""
    from bench import trigger_micro

    root = Path(__file__).resolve().parents[3]
    shipped = (root / "db/triggers/row_change.sql").read_text()
    with psycopg.connect(designs_url, autocommit=True) as conn:
        conn.execute(trigger_micro.renamed(shipped, "bench_one"))
        conn.execute(trigger_micro.renamed(trigger_ab.jsonb_diff_sql(), "bench_jsonb_micro"))
        made = conn.execute(
            "SELECT array_agg(proname ORDER BY proname) FROM pg_proc"
            " WHERE proname IN ('bench_one', 'bench_jsonb_micro')").fetchone()[0]
    assert made == ["bench_jsonb_micro", "bench_one"]
    assert "public.hstore(NEW)" in trigger_micro.hstore_sql(trigger_ab.jsonb_diff_sql())


def test_b4r_bare_rows_come_and_go(make_database) -> None:
    """What `make bench` does for B4r on its database: the bare design installed, switched on in
    place of record_row_change (its rows go to its own tables, the outbox's sequence, which the
    worker reads, is not drawn from), switched back, and dropped without a trace."""
    url = make_database("b4r", migrated=True)

    def book(conn: psycopg.Connection, exam: str) -> None:
        with conn.transaction():
            conn.execute(fixtures.POSTGREST_PREAMBLE)
            result = conn.execute(
                "SELECT hubspot_sync.create_booking(p_student_id := 'TD1', "
                "p_email := 'td1@example.com', p_mock_exam_id := %s, "
                "p_idempotency_key := %s, p_attending_location := 'mississauga')",
                (exam, f"b4r-{exam}")).fetchone()[0]
        assert result["success"] is True, result

    def state(conn: psycopg.Connection) -> tuple[int, int, int]:
        return conn.execute(
            "SELECT (SELECT count(*) FROM hubspot_sync.sync_queue),"
            " (SELECT count(*) FROM hubspot_sync.bare_sq),"
            " pg_sequence_last_value('hubspot_sync.sync_queue_id_seq')").fetchone()

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO hubspot_sync.hubspot_contact_credits
                   (hubspot_id, student_id, email, firstname, lastname, sj_credits)
               VALUES ('TD1', 'TD1', 'td1@example.com', 'Trigger', 'Designs', 100)""")
        fixtures.add_exam(conn, "B4R1", 10, 10)
        fixtures.add_exam(conn, "B4R2", 11, 10)
        conn.execute(trigger_ab.BARE_DROP)
        conn.execute(trigger_ab.BARE)
        trigger_ab.set_bare(url, True)
        queued, bare, last = state(conn)
        book(conn, "B4R1")
        assert state(conn) == (queued, bare + 3, last)
        trigger_ab.set_bare(url, False)
        book(conn, "B4R2")
        after = state(conn)
        assert after[:2] == (queued + 3, bare + 3) and after[2] > last
        conn.execute(trigger_ab.BARE_DROP)
        left = conn.execute(
            "SELECT (SELECT count(*) FROM pg_class WHERE relname IN ('bare_sq', 'bare_audit')),"
            " (SELECT count(*) FROM pg_proc WHERE proname = 'bench_bare'),"
            " (SELECT count(*) FROM pg_trigger WHERE tgname = 'bench_bare')").fetchone()
    assert left == (0, 0, 0)
