-- Undo db/functions/api/leave_waitlist.sql (moved).
-- Frozen copy of db/functions/leave_waitlist.sql (changed).
/**
 * hubspot_sync.leave_waitlist(p_student_id text, p_mock_exam_id text) -> jsonb
 *
 * A student leaves an exam's waitlist; idempotent: without an open place (never
 * joined, already left, offer accepted or expired) it succeeds with left false and changes
 * nothing. Leaving while holding an offer declines it: the held seat goes to the next waiting
 * student at once (mockbook_internal.offer_free_seats under the exam's lock).
 * Returns {success, left, waitlist_id, previous_status, offers_made}.
 * Errors: INVALID_ARGUMENT, BUSY (the contact, the place or the exam held by another
 * transaction longer than mockbook.lock_timeout).
 * Locks: the place's contact (lock_contact), the place (lock_waitlist_entry), then (an offer
 * declined) the exam (lock_exam), last.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.leave_waitlist(p_student_id text, p_mock_exam_id text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_place hubspot_sync.waitlist_entries;
    v_offers integer := 0;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_student_id', p_student_id, true, 64,
                                        '^[A-Z0-9]+$', 'upper-case letters and digits only');
    PERFORM mockbook_internal.check_text_arg('p_mock_exam_id', p_mock_exam_id, true, 255);
    SELECT w.* INTO v_place FROM hubspot_sync.waitlist_entries AS w
    WHERE w.mock_exam_id = p_mock_exam_id AND w.student_id = p_student_id
      AND w.status IN ('waiting', 'offered');
    IF v_place.id IS NOT NULL THEN
        PERFORM mockbook_internal.lock_contact(v_place.contact_id);
        v_place := mockbook_internal.lock_waitlist_entry(v_place.id);
    END IF;
    IF v_place.id IS NULL OR v_place.status NOT IN ('waiting', 'offered') THEN
        RETURN jsonb_build_object('success', true, 'left', false, 'waitlist_id', v_place.id,
                                  'previous_status', v_place.status, 'offers_made', 0);
    END IF;
    UPDATE hubspot_sync.waitlist_entries AS w SET status = 'left', resolved_at = now()
    WHERE w.id = v_place.id;
    IF v_place.status = 'offered' THEN
        PERFORM mockbook_internal.lock_exam(v_place.mock_exam_id);
        v_offers := mockbook_internal.offer_free_seats(v_place.mock_exam_id);
    END IF;
    RETURN jsonb_build_object('success', true, 'left', true, 'waitlist_id', v_place.id,
                              'previous_status', v_place.status, 'offers_made', v_offers);
END
$$;

COMMENT ON FUNCTION hubspot_sync.leave_waitlist(text, text) IS
'A student leaves an exam''s waitlist (idempotent; a held offer is declined and passes to the next student). Returns {success, left, waitlist_id, previous_status, offers_made}. Errors: INVALID_ARGUMENT, BUSY (a row held longer than mockbook.lock_timeout). Locks: contact, place, then the exam.';
REVOKE ALL ON FUNCTION hubspot_sync.leave_waitlist(text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.leave_waitlist(text, text) TO service_role;
