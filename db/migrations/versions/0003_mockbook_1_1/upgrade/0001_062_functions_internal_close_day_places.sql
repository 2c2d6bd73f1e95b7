-- Frozen copy of db/functions/internal/close_day_places.sql (changed).
-- Why: one booking per mock type and day, so a student who books has no use left for open waitlist
-- places of that type and day, and an offer there would hold a seat for nobody.
CREATE OR REPLACE FUNCTION mockbook_internal.close_day_places(
    p_exam hubspot_sync.hubspot_mock_exams,
    p_booking hubspot_sync.hubspot_bookings,
    p_places bigint[] DEFAULT NULL
)
RETURNS text[]
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id bigint;
    v_place hubspot_sync.waitlist_entries;
    v_exams text[] := '{}'::text[];
BEGIN
    FOR v_id IN
        SELECT x.id
        FROM unnest(coalesce(p_places,
                             mockbook_internal.lock_day_places(p_booking.student_id, p_exam)))
             AS x(id)
        ORDER BY x.id
    LOOP
        -- locked above (or by the caller, in the same pass): the row read is stable
        SELECT w.* INTO v_place FROM hubspot_sync.waitlist_entries AS w WHERE w.id = v_id;
        CONTINUE WHEN v_place.id IS NULL OR v_place.status NOT IN ('waiting', 'offered');
        IF v_place.mock_exam_id = p_exam.hubspot_id AND v_place.status = 'offered'
           AND v_place.offer_expires_at > mockbook_internal.clock_now() THEN
            UPDATE hubspot_sync.waitlist_entries AS w
            SET status = 'accepted', resolved_at = now(), booking_id = p_booking.id
            WHERE w.id = v_place.id;
        ELSE
            UPDATE hubspot_sync.waitlist_entries AS w
            SET status = 'left', resolved_at = now()
            WHERE w.id = v_place.id;
        END IF;
        IF v_place.status = 'offered' AND NOT v_place.mock_exam_id = ANY (v_exams) THEN
            v_exams := v_exams || v_place.mock_exam_id;
        END IF;
    END LOOP;
    RETURN ARRAY(SELECT x FROM unnest(v_exams) AS x ORDER BY x);
END
$$;

COMMENT ON FUNCTION mockbook_internal.close_day_places(hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_bookings, bigint[]) IS
'Internal: a booking (book, accept_offer) closes its student''s open waitlist places on the booked
exam and on the other exams of its mock type and day; a held offer on the booked exam is used (the
booking takes its seat). Returns the exams whose offer was closed or used, for the caller to lock
(ascending HubSpot id, last) and offer onward. Errors: BUSY. Locks: the places, ascending id (none
when p_places is given).';
REVOKE ALL ON FUNCTION mockbook_internal.close_day_places(hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_bookings, bigint[])
    FROM PUBLIC, anon, authenticated, service_role;
