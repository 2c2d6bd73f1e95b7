-- Frozen copy of db/functions/internal/legacy_attending_location.sql (new).
/**
 * Why: the original booking app sends locations as display names, rooms and formats; the
 * compatibility functions and the analytics map them to mockbook's campus codes here, once. The
 * mapping is the COMMENT ON FUNCTION below.
 */
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
'Internal: the original app''s p_attending_location (display names, campus with room, TBD, Online, a discussion format) as mockbook''s location code, or NULL where it names no campus; INVALID_ARGUMENT otherwise. Used by the production compatibility functions and, through trend_location, by daily_booking_trends.

The one place where the original booking app''s p_attending_location values become
mockbook''s location codes (mississauga, calgary, vancouver, montreal, richmond_hill), for the
production compatibility functions (create_booking_atomic, create_booking_atomic_v1), and for
the analytics (mockbook_internal.trend_location: daily_booking_trends groups stored locations
by campus with it);
create_booking and the other new RPCs keep accepting the codes alone (README: the original
app''s location values). What the original app sends (harmon-tuazon/
PD_Mocks_Booking_ExpressVersion):
  - user_root/api/bookings/create.js:59,369 `location || examLocation || ''TBD''`: the
    student''s choice, which user_root/frontend/src/components/shared/LocationSelector.jsx
    spells ''Mississauga'', ''Calgary'', ''Vancouver'', ''Montreal'', ''Richmond Hill'' (older clients:
    the codes, user_root/api/_shared/validation.js:137); else the exam''s location, one of
    admin_root/api/_shared/validation.js:243 ''Mississauga'', ''Mississauga - B9'',
    ''Mississauga - Lab D'', ''Calgary'', ''Vancouver'', ''Montreal'', ''Richmond Hill'', ''Online'';
    else ''TBD'' (the exam has no location: nothing is known about where the student sits);
  - user_root/api/mock-discussions/create-booking.js:551 `discussion_format || ''Virtual''`,
    one of ''Virtual'', ''In-Person'', ''Hybrid'' (create-booking.js:71): a format, not a place.
Mapping (case and surrounding blanks ignored):
  a code, or its display name (''Richmond Hill'', ''richmond-hill'')        -> the code
  a campus with a room (''Mississauga - B9'', ''Mississauga - Lab D'')      -> the campus''s code
  NULL, blank, ''TBD'', and the formats that name no campus (''Online'',
  ''Virtual'', ''Hybrid'', ''In-Person'')                -> NULL (no attending location known;
      create_booking''s step 5 then still requires one for Situational Judgment and Mini-mock,
      as the original app''s own validation.js:136-145 does)
  anything else                       -> INVALID_ARGUMENT naming the accepted spellings
Errors: INVALID_ARGUMENT. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.legacy_attending_location(text)
    FROM PUBLIC, anon, authenticated, service_role;
