-- Frozen copy of db/functions/api/set_business_timezone.sql (changed).
-- Why: local exam times mean nothing without their zone: checked here only, stored as a database
-- setting and applied to every exam's instants in the same transaction.
CREATE OR REPLACE FUNCTION hubspot_sync.set_business_timezone(p_zone text,
                                                             p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: ALTER DATABASE needs the database's owner, who owns the migrations
SECURITY DEFINER
SET search_path = ''
-- the statements after the exams' bounded wait are not bounded, whatever the caller set
SET lock_timeout = 0
AS $$
DECLARE
    v_zone text;
    v_previous text;
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
    IF NOT pg_catalog.pg_try_advisory_xact_lock(
               pg_catalog.hashtextextended('mockbook:business_timezone', 0)) THEN
        PERFORM mockbook_internal.raise_error('BUSY',
            'Another change of the business time zone is in progress.');
    END IF;
    -- the zone in force now (a bad stored value does not block setting a good one)
    BEGIN
        v_previous := mockbook_internal.business_timezone();
    EXCEPTION WHEN SQLSTATE 'PT400' THEN
        v_previous := mockbook_internal.stored_business_timezone();
    END;
    v_actor := mockbook_internal.request_actor(p_actor);

    BEGIN
        -- stored already (by hand, as the owner, when the functions' owner may not)
        IF mockbook_internal.stored_business_timezone() IS DISTINCT FROM v_zone THEN
            EXECUTE format('ALTER DATABASE %I SET mockbook.business_timezone = %L',
                           pg_catalog.current_database(), v_zone);
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        PERFORM mockbook_internal.raise_error('FORBIDDEN',
            format('The setting cannot be stored: the functions'' owner %s does not own database %s.',
                   current_user, pg_catalog.current_database()),
            format('As the database''s owner: ALTER DATABASE %I SET mockbook.business_timezone = %L; then call set_business_timezone again to move the exams.',
                   pg_catalog.current_database(), v_zone));
    END;
    PERFORM mockbook_internal.stamp_business_timezone();
    -- the exams' instants again, in the new zone (with the trigger's functions)
    PERFORM mockbook_internal.wait_for_lock('all_exams', NULL);
    UPDATE hubspot_sync.hubspot_mock_exams AS e
    SET exam_starts_at = d.starts_at, exam_ends_at = d.ends_at, time_problem = d.problem
    FROM (SELECT x.id,
                 mockbook_internal.exam_starts_at(x.exam_date, x.start_time) AS starts_at,
                 coalesce(mockbook_internal.exam_starts_at(x.exam_date, x.end_time),
                          mockbook_internal.day_start(x.exam_date + 1, v_zone)) AS ends_at,
                 mockbook_internal.exam_time_problem(x.exam_date, x.start_time,
                                                     x.end_time) AS problem
          FROM hubspot_sync.hubspot_mock_exams AS x) AS d
    WHERE e.id = d.id
      AND (e.exam_starts_at, e.exam_ends_at, e.time_problem)
          IS DISTINCT FROM (d.starts_at, d.ends_at, d.problem);
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    INSERT INTO hubspot_sync.booking_rule_changes (rule, old_value, new_value, changed_by)
    VALUES ('business_timezone', to_jsonb(v_previous), to_jsonb(v_zone), v_actor);
    RETURN jsonb_build_object('success', true, 'time_zone', v_zone,
                              'previous_time_zone', v_previous, 'exams_updated', v_updated);
EXCEPTION
    WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_busy(SQLSTATE);
        RAISE;
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.set_business_timezone(text, text) IS
'Admin: sets the business time zone. `p_zone` must be a zone name PostgreSQL knows
(`pg_timezone_names`, case-insensitive, returned canonical); abbreviations (`EST`), offsets and
POSIX strings are refused: they know no daylight saving time. Stored as the database setting
`mockbook.business_timezone` and compiled in: read by every later transaction (pooled
connections too) and this one at once; every exam''s instants are derived again (`09:00` stays
09:00 local; an ISO-8601 instant does not move).
One `booking_rule_changes` row (rule `business_timezone`). Returns `{success, time_zone,
previous_time_zone, exams_updated}`. Errors: `INVALID_ARGUMENT` (no such zone), `FORBIDDEN` (a
student''s JWT; or the functions'' owner does not own the database — the message gives the
statement to run as the owner; then the same call compiles it in), `BUSY` (also a zone change
at once); each changes nothing. Locks: the zone change''s own (advisory, never waited for),
then every exam, one pass in ascending HubSpot id.';
REVOKE ALL ON FUNCTION hubspot_sync.set_business_timezone(text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_business_timezone(text, text) TO service_role;
