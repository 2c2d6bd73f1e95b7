-- Frozen copy of db/functions/api/set_exam_prerequisites.sql (changed).
-- Why: production's "replace all" of an exam's prerequisites, kept for the admin app's backfill.
CREATE OR REPLACE FUNCTION hubspot_sync.set_exam_prerequisites(
    p_exam_id text,
    p_prerequisite_ids text[],
    p_idempotency_key text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_fingerprint text;
    v_replay jsonb;
BEGIN
    -- production's signature: a not-found error keeps the words the original apps match on
    PERFORM pg_catalog.set_config('mockbook.compat_messages', 'on', true);
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

COMMENT ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[], text) IS
'Production name and parameters (the admin app''s backfill / "replace all"), then the optional
`p_idempotency_key`: the exam''s prerequisites become exactly `p_prerequisite_ids` (duplicates
once; `NULL` or `{}` clears them), pushed as for `update_exam_prerequisites`, which an admin''s
edit should prefer (it keeps another admin''s changes). Returns `{success, exam_id,
prerequisite_exam_ids, previous_prerequisite_exam_ids, previous_count, current_count, added_count,
removed_count}`. Errors, in order: `INVALID_ARGUMENT` (the exam itself listed),
`IDEMPOTENCY_KEY_REUSED`, `EXAM_NOT_FOUND`, `BUSY`. Locks: the key (when given), then the exam.';
REVOKE ALL ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[], text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[], text) TO service_role;
