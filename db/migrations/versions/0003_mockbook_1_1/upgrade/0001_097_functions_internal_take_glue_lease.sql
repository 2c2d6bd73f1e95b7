-- Frozen copy of db/functions/internal/take_glue_lease.sql (new).
-- Why: one process at a time for a piece of the glue's work (`mockbook run`, the notes writer)
-- through any connection, a transaction pooler's included: a row, never a session lock left on a
-- pooled server connection. Called again every quarter of the lease to renew it; p_take_from
-- names a holder the caller knows is gone (a process of its host), taken over at once.
CREATE OR REPLACE FUNCTION mockbook_internal.take_glue_lease(
    p_name text,
    p_holder text,
    p_seconds double precision,
    p_take_from text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_lease mockbook_internal.glue_leases;
BEGIN
    IF coalesce(p_name, '') !~ '^[a-z][a-z_]{0,31}$'
       OR coalesce(length(p_holder), 0) NOT BETWEEN 1 AND 200
       OR p_seconds IS NULL OR NOT p_seconds BETWEEN 1 AND 3600 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'take_glue_lease needs a name (a-z and _, 1..32 characters), a holder (1..200 '
            || 'characters) and p_seconds 1..3600.');
    END IF;
    -- One statement: a concurrent taker waits for this row's lock, then sees this lease and is
    -- refused. A lease released between the refusal and the read below is tried again.
    FOR v_try IN 1..3 LOOP
        INSERT INTO mockbook_internal.glue_leases AS l (name, holder, taken_at, renewed_at,
                                                        expires_at)
        VALUES (p_name, p_holder, now(), now(), now() + make_interval(secs => p_seconds))
        ON CONFLICT (name) DO UPDATE
            SET holder = excluded.holder,
                taken_at = CASE WHEN l.holder = excluded.holder THEN l.taken_at
                                ELSE excluded.taken_at END,
                renewed_at = excluded.renewed_at,
                expires_at = excluded.expires_at
            WHERE l.holder = excluded.holder
               OR l.expires_at <= now()
               OR l.holder = p_take_from
        RETURNING l.* INTO v_lease;
        IF v_lease.name IS NOT NULL THEN
            RETURN jsonb_build_object(
                'taken', true, 'holder', v_lease.holder, 'taken_at', v_lease.taken_at,
                'expires_at', v_lease.expires_at,
                'expires_in', extract(epoch FROM v_lease.expires_at - now())::float8);
        END IF;
        SELECT l.* INTO v_lease FROM mockbook_internal.glue_leases AS l WHERE l.name = p_name;
        IF v_lease.name IS NOT NULL THEN
            RETURN jsonb_build_object(
                'taken', false, 'holder', v_lease.holder, 'taken_at', v_lease.taken_at,
                'expires_at', v_lease.expires_at,
                'expires_in', greatest(extract(epoch FROM v_lease.expires_at - now()), 0)::float8);
        END IF;
    END LOOP;
    RETURN jsonb_build_object('taken', false, 'holder', NULL, 'taken_at', NULL,
                              'expires_at', NULL, 'expires_in', NULL);
END
$$;

COMMENT ON FUNCTION mockbook_internal.take_glue_lease(text, text, double precision, text) IS
'Glue: take (or renew) the lease p_name for p_holder for p_seconds: granted when nobody holds
it, when p_holder holds it already (renewed: its expiry moved, its taken_at kept), when its
lease has expired, or when p_take_from names its holder. Returns {taken, holder, taken_at,
expires_at, expires_in} (the current holder''s when refused). Locks: its lease row only, for
one statement (docs/rpc.md, Lock order). Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.take_glue_lease(text, text, double precision, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.take_glue_lease(text, text, double precision, text)
    TO mockbook_glue;
