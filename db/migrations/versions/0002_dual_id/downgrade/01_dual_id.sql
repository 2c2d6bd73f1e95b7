-- Frozen: undo dual-id. Refuses (with the rows named) when records exist that HubSpot does not know yet.
SET lock_timeout = '5s';
DO $$
DECLARE
    v_rows text;
BEGIN
    SELECT string_agg(t.kind || ' ' || t.id::text, ', ') INTO v_rows
    FROM (
        (SELECT 'contact' AS kind, id FROM hubspot_sync.hubspot_contact_credits WHERE hubspot_id IS NULL LIMIT 10)
        UNION ALL
        (SELECT 'booking', id FROM hubspot_sync.hubspot_bookings WHERE hubspot_id IS NULL LIMIT 10)
    ) AS t;
    IF v_rows IS NOT NULL THEN
        RAISE EXCEPTION 'mockbook 0002_dual_id downgrade: rows without hubspot_id exist (%)', v_rows
            USING HINT = 'Push them to HubSpot first (mockbook push), then downgrade again.';
    END IF;
END
$$;
DROP INDEX IF EXISTS hubspot_sync.idx_bookings_no_hubspot_id;
DROP INDEX IF EXISTS hubspot_sync.idx_contact_credits_no_hubspot_id;
DROP INDEX IF EXISTS hubspot_sync.idx_bookings_student_email;
DROP INDEX IF EXISTS hubspot_sync.idx_bookings_student_id;
DROP TABLE IF EXISTS hubspot_sync.supabase_audit_log;
ALTER TABLE hubspot_sync.hubspot_bookings DROP COLUMN IF EXISTS hubspot_last_sync_at;
ALTER TABLE hubspot_sync.hubspot_mock_exams DROP COLUMN IF EXISTS hubspot_last_sync_at;
ALTER TABLE hubspot_sync.hubspot_contact_credits DROP COLUMN IF EXISTS hubspot_last_sync_at;
ALTER TABLE hubspot_sync.hubspot_bookings ALTER COLUMN hubspot_id SET NOT NULL;
ALTER TABLE hubspot_sync.hubspot_contact_credits ALTER COLUMN hubspot_id SET NOT NULL;
