-- Undo db/functions/set_exam_prerequisites.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.set_exam_prerequisites;
-- Frozen copy of db/functions/set_exam_prerequisites.sql (new).
/**
 * hubspot_sync.set_exam_prerequisites(p_exam_id text, p_prerequisite_ids text[]) -> jsonb
 *
 * Production compatibility (the admin app's backfill and "replace all"): an exam's prerequisites
 * become exactly p_prerequisite_ids (NULL or '{}' clears them). The push writes them to HubSpot
 * as exam->exam associations (creating the missing ones and removing the others; association
 * type HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID, default 1340). Prefer update_exam_prerequisites
 * for an admin's change: it keeps what another admin changed meanwhile.
 * Args: p_exam_id           the exam's HubSpot id
 *       p_prerequisite_ids  HubSpot ids of the prerequisite exams
 * Returns {success, exam_id, prerequisite_exam_ids, previous_prerequisite_exam_ids,
 *          previous_count, current_count, added_count, removed_count}.
 * Errors, in order: INVALID_ARGUMENT (p_exam_id missing; an id NULL, blank or too long; the exam
 * itself listed), EXAM_NOT_FOUND (the exam, or a listed id that is no known exam; DETAIL lists
 * them), BUSY. A failed call changes nothing.
 * Locks: the exam row (lock_exam).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.set_exam_prerequisites(p_exam_id text,
                                                              p_prerequisite_ids text[])
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    RETURN hubspot_sync.write_exam_prerequisites(p_exam_id, p_prerequisite_ids);
END
$$;

COMMENT ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[]) IS
'Replaces an exam''s prerequisites with p_prerequisite_ids; the push writes them to HubSpot as exam->exam associations. Returns {success, exam_id, prerequisite_exam_ids, previous_prerequisite_exam_ids, previous_count, current_count, added_count, removed_count}. Errors: INVALID_ARGUMENT, EXAM_NOT_FOUND, BUSY. Locks the exam row.';
REVOKE ALL ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[])
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_exam_prerequisites(text, text[]) TO service_role;
