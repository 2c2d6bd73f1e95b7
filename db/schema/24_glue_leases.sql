-- The glue's leases: one process at a time for a piece of its work (`mockbook run`'s cycle, the
-- audit-notes writer), held as a row rather than as a session-level advisory lock. A session
-- lock lives on the server connection that took it, and behind a transaction-mode pooler
-- (Supabase's Supavisor on port 6543, PgBouncer with pool_mode = transaction) that connection
-- is shared: the lock stayed on it after the run ended and kept every later run out, while
-- two runs that landed on it both got it. A lease is taken, renewed and given back by
-- mockbook_internal.take_glue_lease / release_glue_lease, each one statement in a transaction
-- of its own; its holder renews it while it works, and a holder that died (killed, its host
-- gone) is taken over once its lease has expired (docs/operations.md, "One run at a time").
CREATE TABLE mockbook_internal.glue_leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now(),
    renewed_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- security: written only by the lease functions (their owner); the glue reads who holds what
ALTER TABLE mockbook_internal.glue_leases ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE mockbook_internal.glue_leases FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE mockbook_internal.glue_leases TO mockbook_glue;
CREATE POLICY mockbook_glue_read ON mockbook_internal.glue_leases
    FOR SELECT TO mockbook_glue USING (true);
