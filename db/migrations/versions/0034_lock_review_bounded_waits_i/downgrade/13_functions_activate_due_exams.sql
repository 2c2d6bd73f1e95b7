-- Undo db/functions/activate_due_exams.sql (changed).
-- Frozen copy of db/functions/activate_due_exams.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.activate_due_exams;
/**
 * mockbook_internal.activate_due_exams(p_actor text DEFAULT NULL) -> integer (exams activated)
 *
 * Exams HubSpot marked 'scheduled' become active ('true') once their
 * scheduled_activation_datetime has passed; the pull calls this on every pass (a scheduled exam
 * is already bookable from that moment, see exam_unbookable_reason; this makes the stored value
 * say so too). Runs with mockbook.origin = 'hubspot' (HubSpot owns exams: nothing is queued),
 * audited as p_actor (default 'hubspot:pull'). A scheduled exam without an activation time stays
 * scheduled. Errors: none. Locks: the exams it activates.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.activate_due_exams(p_actor text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_count integer;
BEGIN
    PERFORM set_config('mockbook.origin', 'hubspot', true);
    PERFORM set_config('mockbook.actor', coalesce(nullif(p_actor, ''), 'hubspot:pull'), true);
    UPDATE hubspot_sync.hubspot_mock_exams AS e
    SET is_active = 'true'
    WHERE lower(e.is_active) = 'scheduled' AND e.scheduled_activation_datetime <= now();
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;

COMMENT ON FUNCTION mockbook_internal.activate_due_exams(text) IS
'Glue (pull): set is_active ''true'' on scheduled exams whose activation time has passed; returns how many.';
REVOKE ALL ON FUNCTION mockbook_internal.activate_due_exams(text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.activate_due_exams(text) TO mockbook_glue;
