-- Undo db/functions/api/set_business_timezone.sql (moved).
-- Frozen copy of db/functions/set_business_timezone.sql (new).
/**
 * hubspot_sync.set_business_timezone(p_zone text, p_actor text DEFAULT NULL) -> jsonb
 *
 * Sets the business time zone (admins only: mockbook_internal.require_admin), the one place it
 * is checked: p_zone must be a zone PostgreSQL knows by name (pg_timezone_names, e.g.
 * 'America/Vancouver'; abbreviations such as 'EST' and POSIX strings are refused, since they
 * know no daylight saving time). It is stored as the database's setting
 * mockbook.business_timezone (ALTER DATABASE; new sessions read it) and applied to this
 * transaction at once, and every exam's instants (exam_starts_at, exam_ends_at, time_problem)
 * are derived again in the new zone, so an exam stored as '09:00' starts at 09:00 in the new
 * zone from this call on; exams stored as ISO-8601 instants do not move. The change is audited
 * as a hubspot_sync.booking_rule_changes row (rule 'business_timezone', old and new zone, who:
 * the JWT's user, else p_actor, at most 255 characters).
 * Returns {success, time_zone, previous_time_zone, exams_updated}.
 * Errors: INVALID_ARGUMENT (missing or unknown zone; nothing changed), FORBIDDEN (a JWT naming a
 * user who is not an admin; or the functions' owner does not own the database, which ALTER
 * DATABASE needs: the message says what to run as the owner), BUSY (an exam row held longer than mockbook.lock_timeout).
 * Locks: every exam, in one pass of ascending HubSpot id (exams only: nothing earlier in the lock
 * order is held), each wait bounded by mockbook.lock_timeout.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.set_business_timezone(p_zone text,
                                                             p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: ALTER DATABASE needs the database's owner, who owns the migrations
SECURITY DEFINER
SET search_path = ''
-- (the timeout set below bounds only this function's waits: the clause restores the caller's)
SET lock_timeout = 0
AS $$
DECLARE
    v_zone text;
    v_previous text := coalesce(
        nullif(btrim(pg_catalog.current_setting('mockbook.business_timezone', true)), ''),
        'America/Toronto');
    v_actor text;
    v_updated integer;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_zone', p_zone, true, 64);
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    -- the canonical spelling of a named zone; case-insensitive like PostgreSQL's own lookup
    SELECT z.name INTO v_zone FROM pg_catalog.pg_timezone_names AS z
    WHERE lower(z.name) = lower(btrim(p_zone))
      AND z.name !~ '^(posix|right)/'
      AND z.name ~ '/|^UTC$'
    ORDER BY z.name = btrim(p_zone) DESC, z.name
    LIMIT 1;
    IF v_zone IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_zone %L is not a time zone name PostgreSQL knows.', p_zone),
            'Use an IANA zone name such as America/Toronto or Europe/London (see pg_timezone_names); abbreviations like EST know no daylight saving time.');
    END IF;
    PERFORM mockbook_internal.require_admin('Changing the business time zone');
    v_actor := mockbook_internal.request_actor(p_actor);

    BEGIN
        EXECUTE format('ALTER DATABASE %I SET mockbook.business_timezone = %L',
                       pg_catalog.current_database(), v_zone);
    EXCEPTION WHEN insufficient_privilege THEN
        PERFORM mockbook_internal.raise_error('FORBIDDEN',
            format('The setting cannot be stored: the functions'' owner %s does not own database %s.',
                   current_user, pg_catalog.current_database()),
            format('As the database''s owner: ALTER DATABASE %I SET mockbook.business_timezone = %L; then call set_business_timezone again to move the exams.',
                   pg_catalog.current_database(), v_zone));
    END;
    PERFORM pg_catalog.set_config('mockbook.business_timezone', v_zone, true);
    -- the exams' instants again, in the new zone (the trigger derives them on the next write of
    -- their times too; the same functions, so both agree)
    BEGIN
        PERFORM pg_catalog.set_config('lock_timeout',
            coalesce(nullif(pg_catalog.current_setting('mockbook.lock_timeout', true), ''), '2s'),
            true);
        -- one pass in ascending HubSpot id, the order every multi-exam lock takes
        PERFORM 1 FROM hubspot_sync.hubspot_mock_exams AS x
        ORDER BY x.hubspot_id FOR NO KEY UPDATE;
        UPDATE hubspot_sync.hubspot_mock_exams AS e
        SET exam_starts_at = d.starts_at, exam_ends_at = d.ends_at, time_problem = d.problem
        FROM (SELECT x.id,
                     mockbook_internal.exam_starts_at(x.exam_date, x.start_time) AS starts_at,
                     coalesce(mockbook_internal.exam_starts_at(x.exam_date, x.end_time),
                              (x.exam_date + 1)::timestamp AT TIME ZONE v_zone) AS ends_at,
                     mockbook_internal.exam_time_problem(x.exam_date, x.start_time,
                                                         x.end_time) AS problem
              FROM hubspot_sync.hubspot_mock_exams AS x) AS d
        WHERE e.id = d.id
          AND (e.exam_starts_at, e.exam_ends_at, e.time_problem)
              IS DISTINCT FROM (d.starts_at, d.ends_at, d.problem);
        GET DIAGNOSTICS v_updated = ROW_COUNT;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_error('BUSY',
            'An exam row was held too long to move the exams to the new time zone; nothing changed.',
            'Try again in a moment.');
    END;
    INSERT INTO hubspot_sync.booking_rule_changes (rule, old_value, new_value, changed_by)
    VALUES ('business_timezone', to_jsonb(v_previous), to_jsonb(v_zone), v_actor);
    RETURN jsonb_build_object('success', true, 'time_zone', v_zone,
                              'previous_time_zone', v_previous, 'exams_updated', v_updated);
END
$$;

COMMENT ON FUNCTION hubspot_sync.set_business_timezone(text, text) IS
'Admin: sets the business time zone (an IANA zone name PostgreSQL knows) as the database setting mockbook.business_timezone and derives every exam''s instants again in it; audited in booking_rule_changes. Returns {success, time_zone, previous_time_zone, exams_updated}. Errors: INVALID_ARGUMENT (unknown zone; nothing changed), FORBIDDEN, BUSY.';
REVOKE ALL ON FUNCTION hubspot_sync.set_business_timezone(text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_business_timezone(text, text) TO service_role;
