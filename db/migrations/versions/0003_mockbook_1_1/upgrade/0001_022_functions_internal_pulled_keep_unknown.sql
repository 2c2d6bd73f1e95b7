-- Frozen copy of db/functions/internal/pulled_keep_unknown.sql (new).
-- Why: what an empty HubSpot value means is declared once, per property, in the glue's property
-- catalogue (glue.hubspot.catalogue, Prop.empty); the glue names the columns of a record's empty
-- "unknown" properties in its "unknown" list, and the apply functions keep the value Postgres
-- holds for each: here (a credit is left out of the merge: screen_pulled_contact).
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
'Internal (pull): p_new with the value Postgres holds (p_old''s: the stored row, or a new
booking''s copies of its exam and contact) of every column p_item names in its "unknown" list
(empty in HubSpot and declared unknown when empty by the glue''s catalogue). Errors: none.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_keep_unknown(anyelement, anyelement, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
