-- Frozen copy of db/functions/internal/locations.sql (new).
-- Why: the school's locations, listed once.
CREATE OR REPLACE FUNCTION mockbook_internal.locations()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = ''
AS $$
    SELECT ARRAY['mississauga', 'calgary', 'vancouver', 'montreal', 'richmond_hill']
$$;

COMMENT ON FUNCTION mockbook_internal.locations() IS
'Internal: the location codes a booking may name (p_attending_location), lower case, in one list.
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.locations() FROM PUBLIC, anon, authenticated, service_role;
