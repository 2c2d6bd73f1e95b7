-- Frozen copy of db/functions/internal/close_day_places.sql (new).
/**
 * Why: a student who books has no use left for open waitlist places on the exam or on other exams
 * of its type and day (one booking per type and day), and an offer there would hold a seat for
 * nobody. Every booking path closes them here, in ascending id, and hands back the exams whose
 * seat must go to the next student. The contract is the COMMENT ON FUNCTION below.
 */
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
    v_exams text[] := '{}';
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
'Internal: a booking (book, accept_offer) closes its student''s open waitlist places on the booked exam and on the other exams of its mock type and day (their offers could never be accepted: DUPLICATE_BOOKING): a held offer on the booked exam is used (accepted, the booking takes its seat), the others are left. Returns the exams whose offer was closed or used, for the caller to lock (ascending HubSpot id, last) and offer onward. Also accept_offer''s (p_places: the places it locked already, its own among them). Locks: the places, ascending id (lock_day_places).

A booking''s student can have no use left for an open waitlist place (waiting or offered) on
the booked exam, nor on any other exam of the booking''s mock type on the booking''s day: one
Active/Completed booking per student, mock type and day (DUPLICATE_BOOKING), so an offer
there could never be accepted and would hold its seat for nobody until it expired while the
next student waited. Called right after the booking is inserted, before any exam is locked,
by mockbook_internal.book (create_booking, admin_create_booking, create_booking_atomic,
rebook) and by accept_offer:
  - the place on p_exam whose offer is still held (status ''offered'', offer_expires_at in the
    future) becomes ''accepted'' with booking_id = p_booking.id: the booking takes the seat
    that offer holds (its own offer never counts against the student:
    mockbook_internal.check_exam_for_student), as accept_offer would have;
  - every other such place becomes ''left'' (resolved_at now()).
The places are locked in one ascending-id pass by mockbook_internal.lock_day_places (a place
ranks with the bookings, after the contact, before any exam; BUSY after
mockbook.lock_timeout) and their status is decided on the locked row. p_places: the places
the caller already locked in that pass (accept_offer, which locks its own place with the
others before its checks); only those are considered, none is locked again out of order.
New places of the student cannot appear meanwhile: join_waitlist makes them under the
contact''s lock, which the caller holds.
The caller must then lock each returned exam (ascending HubSpot id, with its own exam(s),
by the last statements) and offer its free seats (mockbook_internal.offer_free_seats): a
closed offer''s seat goes to the next student at once.
Errors: BUSY. Locks: the places, ascending id (none when p_places is given).';
REVOKE ALL ON FUNCTION mockbook_internal.close_day_places(hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_bookings, bigint[])
    FROM PUBLIC, anon, authenticated, service_role;
