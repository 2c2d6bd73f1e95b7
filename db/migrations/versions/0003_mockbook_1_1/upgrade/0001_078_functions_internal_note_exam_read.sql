-- Frozen copy of db/functions/internal/note_exam_read.sql (new).
-- Why: an exam's newest applied HubSpot time guards the pull against older reads.
CREATE OR REPLACE FUNCTION mockbook_internal.note_exam_read(p_exam_id uuid, p_modified timestamptz)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    IF p_modified IS NOT NULL THEN
        INSERT INTO hubspot_sync.exam_hubspot_sync AS s (exam_id, hubspot_modified_at)
        VALUES (p_exam_id, p_modified)
        ON CONFLICT (exam_id) DO UPDATE
        SET hubspot_modified_at = EXCLUDED.hubspot_modified_at, updated_at = now()
        WHERE s.hubspot_modified_at < EXCLUDED.hubspot_modified_at;
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.note_exam_read(uuid, timestamptz) IS
'Internal (apply_pulled_exam, under the exam''s lock): p_modified stored as the exam''s last
applied HubSpot time unless a later one is. Errors: none.';
REVOKE ALL ON FUNCTION mockbook_internal.note_exam_read(uuid, timestamptz)
    FROM PUBLIC, anon, authenticated, service_role;
