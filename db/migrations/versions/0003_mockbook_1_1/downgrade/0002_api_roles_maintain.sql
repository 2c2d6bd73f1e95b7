-- Hand-written: back to 1.0's privileges (upgrade/0002_api_roles_maintain.sql undone): on
-- PostgreSQL 17 and later, 1.0's table files left service_role MAINTAIN on these ten tables
-- (GRANT ALL, then the writes revoked).
DO $maintain$
DECLARE
    v_table text;
BEGIN
    IF pg_catalog.current_setting('server_version_num')::integer < 170000 THEN
        RETURN;
    END IF;
    FOREACH v_table IN ARRAY ARRAY['adoption_report', 'booking_rules', 'contact_credit_sync',
                                   'credit_ledger', 'idempotency_results', 'supabase_audit_log',
                                   'sync_errors', 'sync_queue', 'waitlist_entries',
                                   'webhook_events']
    LOOP
        EXECUTE pg_catalog.format('GRANT MAINTAIN ON hubspot_sync.%I TO service_role', v_table);
    END LOOP;
END
$maintain$;
