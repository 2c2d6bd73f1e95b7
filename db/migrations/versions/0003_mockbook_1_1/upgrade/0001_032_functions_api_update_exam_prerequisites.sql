-- Frozen copy of db/functions/api/update_exam_prerequisites.sql (changed).
-- Why: production's relative prerequisite change (the admin app's checkboxes). Its three-parameter
-- version is dropped first: an overload would make named-argument calls ambiguous (PGRST203).
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.update_exam_prerequisites(text, text[], text[]);
CREATE OR REPLACE FUNCTION hubspot_sync.update_exam_prerequisites(
    p_exam_id text,
    p_add_ids text[] DEFAULT '{}'::text[],
    p_remove_ids text[] DEFAULT '{}'::text[],
    p_idempotency_key text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_current text[];
    v_add text[] := coalesce(p_add_ids, '{}'::text[]);
    v_remove text[] := coalesce(p_remove_ids, '{}'::text[]);
    v_fingerprint text;
    v_replay jsonb;
BEGIN
    -- production's signature: a not-found error keeps the words the original apps match on
    PERFORM pg_catalog.set_config('mockbook.compat_messages', 'on', true);
    PERFORM mockbook_internal.require_admin('update_exam_prerequisites');
    PERFORM mockbook_internal.check_text_arg('p_exam_id', p_exam_id, true, 255);
    -- before EXAM_NOT_FOUND (claim_idempotent_call checks again)
    PERFORM mockbook_internal.check_idempotency_key_arg(p_idempotency_key, false);
    PERFORM mockbook_internal.check_prerequisite_ids(p_exam_id, v_add);
    PERFORM mockbook_internal.check_prerequisite_ids(NULL, v_remove);
    IF EXISTS (SELECT FROM unnest(v_add) AS a(id) WHERE btrim(a.id) IN (
                   SELECT btrim(r.id) FROM unnest(v_remove) AS r(id))) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'an exam id cannot be both in p_add_ids and in p_remove_ids.');
    END IF;
    -- EXAM_NOT_FOUND before IDEMPOTENCY_KEY_REUSED, without a lock (the key's lock comes first)
    PERFORM mockbook_internal.check_prerequisite_exams(p_exam_id, v_add);
    v_fingerprint := mockbook_internal.booking_fingerprint('update_exam_prerequisites', p_exam_id,
                                                      v_add::text, v_remove::text,
                                                      mockbook_internal.request_actor());
    v_replay := mockbook_internal.claim_idempotent_call('update_exam_prerequisites',
                                                   p_idempotency_key, v_fingerprint);
    IF v_replay IS NOT NULL THEN
        RETURN v_replay;
    END IF;
    -- under the exam lock, so a concurrent change of other checkboxes is kept
    v_current := coalesce((mockbook_internal.lock_exam(p_exam_id)).prerequisite_exam_ids, '{}');
    RETURN mockbook_internal.store_idempotent_result(
        'update_exam_prerequisites', p_idempotency_key, v_fingerprint,
        mockbook_internal.write_exam_prerequisites(
               p_exam_id,
               ARRAY(SELECT x FROM unnest(v_current) AS x
                     WHERE x NOT IN (SELECT btrim(r.id) FROM unnest(v_remove) AS r(id))
                     UNION
                     SELECT btrim(a.id) FROM unnest(v_add) AS a(id)))
           || jsonb_build_object('requested_add', to_jsonb(v_add),
                                 'requested_remove', to_jsonb(v_remove)));
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

COMMENT ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[], text) IS
'Production name and parameters (the admin app''s prerequisite checkboxes), then the optional
`p_idempotency_key` (1–255; same key and arguments → the first result, other arguments →
`IDEMPOTENCY_KEY_REUSED`). A **relative** change of `prerequisite_exam_ids` (exams the student
must have booked, Active or Completed, first): `p_add_ids` are added, `p_remove_ids` removed,
the rest kept, read under the exam lock, so two admins ticking different boxes both win. The
push writes the list to HubSpot as exam→exam associations. Returns
`{success, exam_id, prerequisite_exam_ids, previous_prerequisite_exam_ids, previous_count,
current_count, added_count, removed_count, requested_add, requested_remove}`.
Errors, in order: `INVALID_ARGUMENT` (`p_exam_id` missing; key length; an id NULL, blank or over
255 characters; an id both added and removed; the exam itself added), `EXAM_NOT_FOUND` (the exam,
or an added id — DETAIL lists them), `IDEMPOTENCY_KEY_REUSED`, `BUSY`. Removing an id that is not
there is not an error. Locks: the key (when given), then the exam row.';
REVOKE ALL ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[], text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[], text)
    TO service_role;
