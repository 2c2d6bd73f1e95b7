-- Frozen copy of db/functions/internal/release_glue_lease.sql (new).
-- Why: a lease (mockbook_internal.take_glue_lease) is given back as soon as its work is done,
-- so the next `mockbook run` or audit-notes writer never waits for its expiry.
CREATE OR REPLACE FUNCTION mockbook_internal.release_glue_lease(p_name text, p_holder text)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_released boolean;
BEGIN
    IF coalesce(p_name, '') = '' OR coalesce(p_holder, '') = '' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'release_glue_lease needs a name and a holder.');
    END IF;
    DELETE FROM mockbook_internal.glue_leases AS l
    WHERE l.name = p_name AND l.holder = p_holder
    RETURNING true INTO v_released;
    RETURN coalesce(v_released, false);
END
$$;

COMMENT ON FUNCTION mockbook_internal.release_glue_lease(text, text) IS
'Glue: give back the lease p_name if p_holder holds it (true), else change nothing (false: it
expired and another holder took it, or it was released already). Locks: its lease row only
(docs/rpc.md, Lock order). Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.release_glue_lease(text, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.release_glue_lease(text, text) TO mockbook_glue;
