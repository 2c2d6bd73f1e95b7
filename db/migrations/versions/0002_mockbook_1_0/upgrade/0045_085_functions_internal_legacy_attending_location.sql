-- Frozen copy of db/functions/internal/legacy_attending_location.sql (new).
-- Why: the original booking app sends locations as display names, rooms and formats.
CREATE OR REPLACE FUNCTION mockbook_internal.legacy_attending_location(p_value text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    -- 'Mississauga - Lab D' -> 'mississauga'; 'Richmond Hill' -> 'richmond_hill'
    v_key text := regexp_replace(
        regexp_replace(lower(btrim(p_value)), '\s+-\s+.*$', ''), '[\s_-]+', '_', 'g');
BEGIN
    IF v_key IS NULL OR v_key IN ('', 'tbd', 'online', 'virtual', 'hybrid', 'in_person') THEN
        RETURN NULL;
    ELSIF v_key = ANY (mockbook_internal.locations()) THEN
        RETURN v_key;
    END IF;
    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
        format('p_attending_location must be a location (%s, or their names, e.g. '
               'Mississauga, Mississauga - <room>, Richmond Hill) or one of TBD, Online, '
               'Virtual, Hybrid, In-Person.', array_to_string(mockbook_internal.locations(), ', ')));
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.legacy_attending_location(text) IS
'Internal: the original app''s p_attending_location (display names, campus with room, TBD, Online, a
discussion format) as mockbook''s location code, or NULL where it names no campus; INVALID_ARGUMENT
otherwise. Used by the production compatibility functions and, through trend_location, by
daily_booking_trends. Errors: INVALID_ARGUMENT. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.legacy_attending_location(text)
    FROM PUBLIC, anon, authenticated, service_role;
