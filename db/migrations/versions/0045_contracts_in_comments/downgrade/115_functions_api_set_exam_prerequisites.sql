-- Undo db/functions/api/set_exam_prerequisites.sql (moved).
-- Frozen copy of db/functions/set_exam_prerequisites.sql (changed).
/**
 * hubspot_sync.set_exam_prerequisites(p_exam_id text, p_prerequisite_ids text[],
 *                                     p_idempotency_key text DEFAULT NULL) -> jsonb
 *
 * Production compatibility (the admin app's backfill and "replace all"): an exam's prerequisites
 * become exactly p_prerequisite_ids (NULL or '{}' clears them). The push writes them to HubSpot
 * as exam->exam associations (creating the missing ones and removing the others; association
 * type HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID, default 1340). Prefer update_exam_prerequisites
 * for an admin's change: it keeps what another admin changed meanwhile.
 * Args: p_exam_id           the exam's HubSpot id
 *       p_prerequisite_ids  HubSpot ids of the prerequisite exams
 *       p_idempotency_key   optional, 1-255 characters: the same key with the same arguments
 *                           returns the first call's result unchanged and changes nothing;
 *                           other arguments -> IDEMPOTENCY_KEY_REUSED
 * Returns {success, exam_id, prerequisite_exam_ids, previous_prerequisite_exam_ids,
 *          previous_count, current_count, added_count, removed_count}.
 * Errors, in order: INVALID_ARGUMENT (p_exam_id missing; an id NULL, blank or too long; the exam
 * itself listed: mockbook_internal.check_prerequisite_ids, before the key is looked up; key length
 * or reserved prefix), IDEMPOTENCY_KEY_REUSED, EXAM_NOT_FOUND (the exam, or a listed id that is
 * no known exam; DETAIL lists them), BUSY. A failed call changes nothing. The audit rows name
 * the request's JWT user when there is one.
 * Locks: the idempotency key's advisory lock (when keyed), then the exam row (lock_exam).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.set_exam_prerequisites(
    p_exam_id text,
    p_prerequisite_ids text[],
    p_idempotency_key text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_fingerprint text;
    v_replay jsonb;
BEGIN
    -- production's signature: a not-found error keeps the words the original apps match on
    PERFORM pg_catalog.set_config('mockbook.compat_messages', 'on', true);
    -- admin powers: an admin's JWT or the service-role key, never a student's JWT
    PERFORM mockbook_internal.require_admin('set_exam_prerequisites');
    PERFORM mockbook_internal.check_text_arg('p_exam_id', p_exam_id, true, 255);
    -- the list is an argument: checked before the key (write_exam_prerequisites checks it again)
    PERFORM mockbook_internal.check_prerequisite_ids(p_exam_id, p_prerequisite_ids);
    v_fingerprint := mockbook_internal.booking_fingerprint('set_exam_prerequisites', p_exam_id,
                                                      p_prerequisite_ids::text,
                                                      mockbook_internal.request_actor());
    v_replay := mockbook_internal.claim_idempotent_call('set_exam_prerequisites', p_idempotency_key,
                                                   v_fingerprint);
    IF v_replay IS NOT NULL THEN
        RETURN v_replay;
    END IF;
    RETURN mockbook_internal.store_idempotent_result(
        'set_exam_prerequisites', p_idempotency_key, v_fingerprint,
        mockbook_internal.write_exam_prerequisites(p_exam_id, p_prerequisite_ids));
END
$$;

COMMENT ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[], text) IS
'Replaces an exam''s prerequisites with p_prerequisite_ids; the push writes them to HubSpot as exam->exam associations. Returns {success, exam_id, prerequisite_exam_ids, previous_prerequisite_exam_ids, previous_count, current_count, added_count, removed_count}. Optional p_idempotency_key: the same key and arguments return the first result and change nothing, other arguments IDEMPOTENCY_KEY_REUSED. Errors: INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, EXAM_NOT_FOUND, BUSY. Locks the key, then the exam row.';
REVOKE ALL ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[], text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[], text) TO service_role;
