-- Frozen copy of db/functions/internal/overwritten_credit_change.sql (new).
/**
 * Why: the push writes a contact's credits over whatever HubSpot holds; an admin's change made
 * between the push's read and its write would be lost unless the merge finds it in HubSpot's
 * property history. The contract is the COMMENT ON FUNCTION below.
 */
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
'Internal: the admin change a push''s credit write replaced, read from HubSpot''s property history (0 if none).

Internal (the credit merge, apply_pulled_contacts): the change an admin made in HubSpot
between the push''s read of a contact (p_read_at: the contact''s lastmodifieddate then) and the
push''s write of p_written over it — a change that write replaced, so HubSpot''s current value
no longer shows it. p_history is one credit property''s propertiesWithHistory as HubSpot returns
it (newest first: [{"value", "timestamp", ...}]). The push''s write is the newest version after
p_read_at whose value is p_written; the change is the value just before that write minus the
value current at p_read_at. 0 when there is no such write, no version in between, or a value
that is not a whole number. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.overwritten_credit_change(jsonb, integer, timestamptz)
    FROM PUBLIC, anon, authenticated, service_role;
