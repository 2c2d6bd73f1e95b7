-- Frozen copy of db/functions/api/leave_waitlist.sql (changed).
-- Why: leaving declines a held offer; its seat goes to the next student in the same transaction.
CREATE OR REPLACE FUNCTION hubspot_sync.leave_waitlist(p_student_id text, p_mock_exam_id text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
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
    PERFORM mockbook_internal.check_student_caller(p_student_id, 'leave_waitlist');
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

COMMENT ON FUNCTION hubspot_sync.leave_waitlist(text, text) IS
'Leaves the waitlist; idempotent (no open place: `left: false`, nothing changes). Leaving with an
offer declines it: the seat is offered to the next student at once. Returns `{success, left,
waitlist_id, previous_status, offers_made}`. Errors: `INVALID_ARGUMENT`, `BUSY`.
Locks: the contact, the place, then (an offer declined) the exam.';
REVOKE ALL ON FUNCTION hubspot_sync.leave_waitlist(text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.leave_waitlist(text, text) TO service_role;
