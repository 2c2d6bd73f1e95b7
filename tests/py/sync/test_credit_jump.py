"""A HubSpot credit value that jumps by more than mockbook.credit_jump_limit (default 20) is held
for an admin instead of turning into credits: a corrupted 99 where 3 were synced was merged as
+96 real credits, indistinguishable from an edit. Held, it is not applied, the push does not
write the local balance over it, and a dead letter names both values; `mockbook dlq retry` of
that letter confirms it and the next pull applies it. Changes within the limit merge as before."""

from __future__ import annotations

import psycopg
import push_helpers
import sandbox_fixtures
from click.testing import CliRunner
from pull_helpers import contact, fast, hubspot, ledger, one, open_db, q, seed_contacts

from glue.cli import cli
from glue.sandbox import CONTACTS, Sandbox
from glue.sync.pull import pull
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

LETTER = ("SELECT id, error, payload FROM hubspot_sync.sync_errors WHERE direction = 'pull' "
          "AND NOT resolved AND entity_id = %s")


def test_a_jump_is_held_with_both_values_and_the_rest_of_the_record_applies(
    push_db: str, sandbox: Sandbox
) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (hid,) = seed_contacts(sandbox, [{"student_id": "CJ1", "sj_credits": "3"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.touch(CONTACTS, hid, sj_credits="99", cs_credits="2", lastname="Renamed")
        stats = pull(db, client, settings, reader=reader)
    (error,) = stats.targets["contacts"].errors
    assert error["id"] == hid and error["error"].startswith("CREDIT_JUMP: sj_credits 99 in "
                                                            "HubSpot against 3 synced (+96)")
    row = contact(push_db, "CJ1")
    # held: not applied; the change within the limit and the profile are
    assert (row["sj_credits"], row["cs_credits"], row["lastname"]) == (3, 2, "Renamed")
    (letter,) = q(push_db, LETTER, (hid,))
    assert letter["payload"]["held"] == {"sj_credits": {"hubspot": 99, "synced": 3, "change": 96}}
    # nothing queued to write 3 over HubSpot's 99
    assert one(push_db, "SELECT count(*) FROM hubspot_sync.sync_queue WHERE done_at IS NULL "
                        "AND table_name = 'hubspot_contact_credits'") == 0
    assert sandbox.get(CONTACTS, hid)["properties"]["sj_credits"] == "99"


def test_the_push_does_not_write_over_a_held_value(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (hid,) = seed_contacts(sandbox, [{"student_id": "CJ2", "sj_credits": "3"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.touch(CONTACTS, hid, sj_credits="99")
        q(push_db, "SELECT hubspot_sync.adjust_credits(p_student_id => 'CJ2', p_credit_field => "
                   "'cs_credits', p_delta => 1, p_reason => 'gift', p_actor => 'admin:test')")
        stats = push(db, client, settings, linger=0)
    assert stats.sent == 0 and stats.retried + stats.dead_lettered == 1
    props = sandbox.get(CONTACTS, hid)["properties"]
    assert (props["sj_credits"], props["cs_credits"]) == ("99", "0")
    assert contact(push_db, "CJ2")["sj_credits"] == 3


def test_dlq_retry_confirms_the_held_value(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (hid,) = seed_contacts(sandbox, [{"student_id": "CJ3", "sj_credits": "3"}])
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.touch(CONTACTS, hid, sj_credits="60")
        pull(db, client, settings, reader=reader)
        again = pull(db, client, settings, reader=reader)  # read again by id: still held
        assert [e["id"] for e in again.targets["contacts"].errors] == [hid]
        (letter,) = q(push_db, LETTER, (hid,))
        done = CliRunner().invoke(cli, ["dlq", "retry", str(letter["id"])],
                                  env={"DATABASE_URL": push_db}, catch_exceptions=False)
        assert done.exit_code == 0, done.output
        confirmed = pull(db, client, settings, reader=reader)
    assert confirmed.targets["contacts"].errors == []
    assert contact(push_db, "CJ3")["sj_credits"] == 60
    assert ledger(push_db, "CJ3")[-1][:3] == ("hubspot_adjustment", "sj_credits", 57)
    assert q(push_db, LETTER, (hid,)) == []


def test_the_limit_is_a_database_setting(push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    settings, client, reader = hubspot(push_db, sandbox)
    (hid,) = seed_contacts(sandbox, [{"student_id": "CJ4", "sj_credits": "3"}])
    with psycopg.connect(push_db, autocommit=True) as conn:
        dbname = conn.info.dbname
        conn.execute(f'ALTER DATABASE "{dbname}" SET mockbook.credit_jump_limit = 100')
    with open_db(push_db) as db:
        pull(db, client, settings, reader=reader)
        sandbox.touch(CONTACTS, hid, sj_credits="99")
        stats = pull(db, client, settings, reader=reader)
    assert stats.targets["contacts"].errors == []
    assert contact(push_db, "CJ4")["sj_credits"] == 99
