DROP FUNCTION IF EXISTS hubspot_sync.update_exam_prerequisites;
-- Hand-written (adopt): the function replaced production's; the production version comes back
-- as the upgrade's dual-id step left it (pinned, service_role only; that step's undo unpins it).
DROP FUNCTION IF EXISTS hubspot_sync.update_exam_prerequisites;
CREATE OR REPLACE FUNCTION hubspot_sync.update_exam_prerequisites(p_exam_id text, p_add_ids text[] DEFAULT '{}'::text[], p_remove_ids text[] DEFAULT '{}'::text[])
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_result TEXT[];
  v_previous TEXT[];
  v_added_count INTEGER := 0;
  v_removed_count INTEGER := 0;
BEGIN
  -- Get current prerequisites for logging
  SELECT COALESCE(prerequisite_exam_ids, '{}')
  INTO v_previous
  FROM hubspot_sync.hubspot_mock_exams
  WHERE hubspot_id = p_exam_id;

  IF NOT FOUND THEN
    RAISE EXCEPTION 'Exam % not found in Supabase', p_exam_id;
  END IF;

  -- Perform atomic update with add and remove operations
  UPDATE hubspot_sync.hubspot_mock_exams
  SET
    prerequisite_exam_ids = (
      SELECT COALESCE(array_agg(DISTINCT elem ORDER BY elem), '{}')
      FROM (
        -- Start with existing prerequisites
        SELECT unnest(COALESCE(prerequisite_exam_ids, '{}')) AS elem
        -- Exclude items being removed
        EXCEPT
        SELECT unnest(p_remove_ids)
        -- Union with items being added
        UNION
        SELECT unnest(p_add_ids)
      ) sub
      WHERE elem IS NOT NULL AND elem != ''
    ),
    updated_at = NOW()
  WHERE hubspot_id = p_exam_id
  RETURNING prerequisite_exam_ids INTO v_result;

  -- Calculate what was actually added/removed
  v_added_count := (
    SELECT COUNT(*) FROM unnest(v_result) AS elem
    WHERE elem = ANY(p_add_ids) AND NOT elem = ANY(v_previous)
  );

  v_removed_count := (
    SELECT COUNT(*) FROM unnest(v_previous) AS elem
    WHERE elem = ANY(p_remove_ids) AND NOT elem = ANY(v_result)
  );

  -- Return detailed result
  RETURN jsonb_build_object(
    'success', true,
    'exam_id', p_exam_id,
    'prerequisite_exam_ids', v_result,
    'previous_count', array_length(v_previous, 1),
    'current_count', array_length(v_result, 1),
    'added_count', v_added_count,
    'removed_count', v_removed_count,
    'requested_add', p_add_ids,
    'requested_remove', p_remove_ids
  );
END;
$function$
;

ALTER FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[]) SET search_path = '';
REVOKE ALL ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[]) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[]) TO service_role;
COMMENT ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[]) IS
'Production function kept as it is; since mockbook''s adoption its search_path is pinned and only service_role may execute it.';
