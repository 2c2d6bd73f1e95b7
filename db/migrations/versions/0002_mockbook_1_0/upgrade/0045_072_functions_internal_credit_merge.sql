-- Frozen copy of db/functions/internal/credit_merge.sql (new).
-- Why: HubSpot and Postgres both change a contact's credits; the merge of one field is decided
-- here, from values alone, so every case of it is one row of a table test.
CREATE OR REPLACE FUNCTION mockbook_internal.credit_merge(
    p_hubspot integer,
    p_synced integer,
    p_local integer,
    p_sent integer DEFAULT NULL,
    p_history jsonb DEFAULT NULL,
    p_synced_at timestamptz DEFAULT NULL,
    p_synced_by_push boolean DEFAULT false,
    p_jump_limit integer DEFAULT 0,
    p_confirmed boolean DEFAULT false,
    OUT base integer,
    OUT landed boolean,
    OUT lost integer,
    OUT change integer,
    OUT applied integer,
    OUT held boolean,
    OUT queue boolean)
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    base := p_synced;
    -- a push of unknown outcome whose value the history shows written after the base was read
    landed := p_sent IS NOT NULL AND EXISTS (
                  SELECT FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_history) = 'array'
                                                        THEN p_history ELSE '[]'::jsonb END)
                              AS h(e)
                  WHERE h.e ->> 'value' = p_sent::text
                    AND (h.e ->> 'timestamp')::timestamptz > p_synced_at);
    IF landed THEN
        base := p_sent;
    END IF;
    lost := CASE WHEN p_synced_by_push OR landed
                 THEN mockbook_internal.overwritten_credit_change(p_history, base, p_synced_at)
                 ELSE 0 END;
    change := 0;
    applied := 0;
    held := false;
    IF (landed OR p_sent IS DISTINCT FROM p_hubspot) AND base IS NOT NULL
       AND (base <> p_hubspot OR lost <> 0) THEN
        change := p_hubspot - base + lost;
        IF p_jump_limit > 0 AND abs(change) > p_jump_limit AND NOT p_confirmed THEN
            held := true;
            queue := false;
            RETURN;
        END IF;
        applied := greatest(change, -p_local);
    END IF;
    queue := p_local + applied <> p_hubspot;
END
$$;

COMMENT ON FUNCTION mockbook_internal.credit_merge(integer, integer, integer, integer, jsonb,
                                                   timestamptz, boolean, integer, boolean) IS
'Internal: the merge of one credit field, from values alone (no I/O). HubSpot''s change against the
synced base (a push''s write that landed is the base; an admin change it replaced is added back),
applied down to a zero balance, held past the jump limit unless confirmed; queue: the balance
then differs from HubSpot''s.';
REVOKE ALL ON FUNCTION mockbook_internal.credit_merge(integer, integer, integer, integer, jsonb,
                                                      timestamptz, boolean, integer, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
