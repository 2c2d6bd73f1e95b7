-- Frozen copy of db/functions/api/rebook.sql (new).
/**
 * Why a cancel plus a new booking, not an update: the booking code is HubSpot's upsert key and
 * HubSpot associations are only ever added, so a moved row would stay associated with its old
 * exam there. The move runs in the booking pipeline (mockbook_internal.book, mode 'rebook').
 * The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.rebook(
    p_booking_id text,
    p_new_mock_exam_id text,
    p_idempotency_key text,
    p_actor text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_actor text;
BEGIN
    -- 1. arguments
    PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, true, 255);
    PERFORM mockbook_internal.check_text_arg('p_new_mock_exam_id', p_new_mock_exam_id, true, 255);
    PERFORM mockbook_internal.check_idempotency_key_arg(p_idempotency_key, true);
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    v_actor := mockbook_internal.request_actor(p_actor);
    IF v_actor IS NOT NULL THEN
        PERFORM set_config('mockbook.actor', v_actor, true);
    END IF;
    -- a student's JWT moves only the student's own booking (and book applies the scheduling
    -- rules to it, as to a new booking); an admin's JWT or the service-role key moves any
    IF v_actor LIKE 'user:%' THEN
        PERFORM mockbook_internal.check_student_caller(
            (mockbook_internal.booking_by_ref(p_booking_id)).student_id, 'rebook');
    END IF;

    -- 2.-7. and the move: the booking pipeline (mode 'rebook'; its result stored under the key)
    RETURN mockbook_internal.book(
        'rebook', NULL, NULL, p_new_mock_exam_id, p_idempotency_key,
        mockbook_internal.booking_fingerprint('rebook', p_booking_id, p_new_mock_exam_id),
        p_old_booking := p_booking_id, p_actor := v_actor);
EXCEPTION
    -- the server cannot take the call (disk full, read-only, out of resources): one documented
    -- code, never a raw SQLSTATE naming a file; nothing of the call remains
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.rebook(text, text, text, text) IS
'Moves an Active booking to another open exam of the same mock type, atomically: the old booking
is cancelled and a new one (new booking code; same student, name, location, hand, `token_used`)
is created on the new exam — not an in-place update, because the booking code is HubSpot''s upsert
key and HubSpot associations are only ever added. The credit moves with it: no balance change,
two `rebook` ledger rows (+1 on the old booking, −1 on the new). `total_bookings`: old − 1,
new + 1.

Checks: arguments; idempotency key (replay → the first call''s stored result with
`idempotent_replay` true, nothing changed; past the [retention](#idempotency), the result is rebuilt from the rows); the booking
exists (`BOOKING_NOT_FOUND`) and is Active (`REBOOK_NOT_ALLOWED`); the new exam exists
(`EXAM_NOT_FOUND`), is another exam of the same type, open and not past (`REBOOK_NOT_ALLOWED`,
with the reason); prerequisites, duplicate (the moved booking does not count against itself),
capacity (`PREREQUISITE_NOT_MET`, `DUPLICATE_BOOKING`, `EXAM_FULL`). Also `INVALID_ARGUMENT`,
`IDEMPOTENCY_KEY_REUSED`, `BUSY`.

Returns the `create_booking` result of the new booking plus `rebooked_from: {id, booking_id,
mock_exam_id, status}` and `previous_exam_total_bookings`.
Locks: the key, the contact, the old booking, the student''s open waitlist places on exams of
the new exam''s type and day (closed, as `create_booking` closes them), then both exams (and
those whose closed offer is passed on) in ascending HubSpot id order by the last statements
(the new exam''s seat taken as `create_booking` takes it).';
REVOKE ALL ON FUNCTION hubspot_sync.rebook(text, text, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.rebook(text, text, text, text) TO service_role;
