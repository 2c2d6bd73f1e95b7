-- Frozen copy of db/functions/internal/apply_pulled_capacity.sql (new).
-- Why: HubSpot owns an exam's capacity: a cut below the Active bookings is stored all the same,
-- the bookings kept and listed for an admin.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_capacity(
    p_old hubspot_sync.hubspot_mock_exams, p_capacity integer)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id constant text := p_old.hubspot_id;
    v_active integer;
BEGIN
    BEGIN
        PERFORM hubspot_sync.set_exam_capacity(v_id, p_capacity);
        -- seats again for every Active booking: a cut's listing is over
        UPDATE hubspot_sync.booking_conflicts AS c SET resolved_at = now()
        WHERE c.mock_exam_id = v_id AND c.rule = 'capacity_cut' AND c.resolved_at IS NULL;
        RETURN '[]'::jsonb;
    EXCEPTION WHEN SQLSTATE 'PT422' THEN  -- CAPACITY_BELOW_BOOKED
        NULL;
    END;
    UPDATE hubspot_sync.hubspot_mock_exams AS e SET capacity = p_capacity WHERE e.id = p_old.id;
    PERFORM mockbook_internal.withdraw_excess_offers(v_id);
    SELECT count(*)::integer INTO v_active
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.associated_mock_exam = v_id AND b.is_active = 'Active';
    INSERT INTO hubspot_sync.booking_conflicts (booking_id, mock_exam_id, rule, detail)
    SELECT b.id, v_id, 'capacity_cut',
           format('exam %s cut to %s seats in HubSpot with %s Active bookings: booking %s is '
                  'kept; no seat is sold or offered until fewer than %s are Active',
                  v_id, p_capacity, v_active, b.booking_id, p_capacity)
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.associated_mock_exam = v_id AND b.is_active = 'Active'
      AND NOT EXISTS (SELECT FROM hubspot_sync.booking_conflicts AS c
                      WHERE c.booking_id = b.id AND c.rule = 'capacity_cut'
                        AND c.resolved_at IS NULL)
    ORDER BY b.id;
    RETURN jsonb_build_array(jsonb_build_object(
        'id', v_id, 'capacity', p_capacity, 'previous_capacity', p_old.capacity,
        'active_bookings', v_active));
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_capacity(hubspot_sync.hubspot_mock_exams, integer) IS
'Internal (apply_pulled_exam, under the exam''s lock): HubSpot''s capacity set; a cut below the
Active bookings stored and listed (booking_conflicts). Returns the pull''s capacity_cut entries.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_capacity(hubspot_sync.hubspot_mock_exams, integer)
    FROM PUBLIC, anon, authenticated, service_role;
