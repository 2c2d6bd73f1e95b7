-- Frozen copy of db/functions/internal/record_credit_push.sql (new).
-- Why: the credit merge compares a pulled value with what HubSpot last held, including the push's
-- own writes.
CREATE OR REPLACE FUNCTION mockbook_internal.record_credit_push(p_credits jsonb,
                                                          p_sent boolean DEFAULT true)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_count integer;
BEGIN
    IF jsonb_typeof(p_credits) IS DISTINCT FROM 'object' OR p_sent IS NULL
       OR EXISTS (SELECT FROM jsonb_each(p_credits) AS c
                  WHERE jsonb_typeof(c.value) <> 'object'
                     OR c.key !~ '^[0-9a-fA-F-]{36}$')
       OR EXISTS (SELECT FROM jsonb_each(p_credits) AS c, jsonb_each(c.value) AS f
                  WHERE f.key NOT IN (SELECT r.credit_field FROM hubspot_sync.credit_rules() AS r)
                     OR jsonb_typeof(f.value) <> 'number'
                     OR f.value::text !~ '^[0-9]{1,9}$') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_credits must be {"<contact uuid>": {"<credit field>": <whole number >= 0>, ...}}.');
    END IF;
    -- the lock order: the contacts (ascending id), then their contact_credit_sync rows
    PERFORM mockbook_internal.lock_contacts(
        ARRAY(SELECT c.key::uuid FROM jsonb_each(p_credits) AS c));
    WITH given AS (
        SELECT c.key::uuid AS contact_id, c.value AS credits
        FROM jsonb_each(p_credits) AS c
        JOIN hubspot_sync.hubspot_contact_credits AS k ON k.id = c.key::uuid
    ), written AS (
        INSERT INTO hubspot_sync.contact_credit_sync AS s (contact_id, credits, pushing,
                                                           pushing_at, source)
        SELECT g.contact_id,
               CASE WHEN p_sent THEN g.credits ELSE '{}'::jsonb END,
               CASE WHEN p_sent THEN NULL ELSE g.credits END,
               CASE WHEN p_sent THEN NULL ELSE now() END,
               'push'
        FROM given AS g
        ON CONFLICT (contact_id) DO UPDATE SET
            credits = CASE WHEN p_sent THEN s.credits || excluded.credits ELSE s.credits END,
            pushing = CASE WHEN p_sent THEN NULL ELSE excluded.pushing END,
            pushing_at = CASE WHEN p_sent THEN NULL ELSE excluded.pushing_at END,
            source = CASE WHEN p_sent THEN 'push' ELSE s.source END,
            updated_at = now()
        RETURNING 1
    )
    SELECT count(*)::integer INTO v_count FROM written;
    RETURN v_count;
END
$$;

COMMENT ON FUNCTION mockbook_internal.record_credit_push(jsonb, boolean) IS
'Glue (push): record the credit values sent to HubSpot per contact -- p_sent false before the call
(pushing), true once HubSpot accepted them (the last synced values the credit merge compares with).
Locks the contacts first (ascending id, each waited for at most mockbook.lock_timeout), then their
bookkeeping rows. Returns the contacts recorded. Errors: INVALID_ARGUMENT, BUSY.';
REVOKE ALL ON FUNCTION mockbook_internal.record_credit_push(jsonb, boolean) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.record_credit_push(jsonb, boolean) TO mockbook_glue;
