-- Frozen copy of db/functions/internal/overwritten_credit_change.sql (new).
-- Why: the push writes a contact's credits over whatever HubSpot holds.
CREATE OR REPLACE FUNCTION mockbook_internal.overwritten_credit_change(p_history jsonb,
                                                                 p_written integer,
                                                                 p_read_at timestamptz)
RETURNS integer
LANGUAGE sql
IMMUTABLE
SET search_path = ''
AS $$
    WITH v AS (  -- oldest first: pos 1 is the oldest version
        SELECT count(*) OVER () - h.n + 1 AS pos,
               CASE WHEN h.e ->> 'value' ~ '^[0-9]{1,9}$' THEN (h.e ->> 'value')::integer END
                   AS value,
               (h.e ->> 'timestamp')::timestamptz AS at
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_history) = 'array' THEN p_history
                                       ELSE '[]'::jsonb END) WITH ORDINALITY AS h(e, n)
    ), mine AS (
        SELECT max(v.pos) AS pos FROM v WHERE v.at > p_read_at AND v.value = p_written
    ), before_write AS (
        SELECT v.value FROM v, mine WHERE v.pos = mine.pos - 1 AND v.at > p_read_at
    ), at_read AS (
        SELECT v.value FROM v WHERE v.at <= p_read_at ORDER BY v.pos DESC LIMIT 1
    )
    SELECT coalesce((SELECT b.value FROM before_write AS b)
                    - (SELECT r.value FROM at_read AS r), 0)::integer
$$;

COMMENT ON FUNCTION mockbook_internal.overwritten_credit_change(jsonb, integer, timestamptz) IS
'Internal: the admin change a push''s credit write replaced, read from HubSpot''s property history (0
if none).';
REVOKE ALL ON FUNCTION mockbook_internal.overwritten_credit_change(jsonb, integer, timestamptz)
    FROM PUBLIC, anon, authenticated, service_role;
