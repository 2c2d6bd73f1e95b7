-- Frozen copy of db/functions/internal/pulled_keep_unknown.sql (new).
-- Why: what an empty HubSpot value means is declared once, in the glue's catalogue (Prop.empty),
-- which names a record's empty unknown columns in its "unknown" list; the database follows it.
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_keep_unknown(p_new anyelement,
                                                                p_old anyelement,
                                                                p_item jsonb)
RETURNS anyelement
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
    SELECT jsonb_populate_record(
        p_new,
        (SELECT coalesce(jsonb_object_agg(u.name, to_jsonb(p_old) -> u.name), '{}'::jsonb)
         FROM jsonb_array_elements_text(
                  CASE WHEN jsonb_typeof(p_item -> 'unknown') = 'array'
                       THEN p_item -> 'unknown' ELSE '[]'::jsonb END) AS u(name)
         WHERE to_jsonb(p_old) ? u.name))
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_keep_unknown(anyelement, anyelement, jsonb) IS
'Internal (pull): p_new with p_old''s value (what Postgres holds) of every column p_item names in
its "unknown" list. Errors: none.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_keep_unknown(anyelement, anyelement, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
