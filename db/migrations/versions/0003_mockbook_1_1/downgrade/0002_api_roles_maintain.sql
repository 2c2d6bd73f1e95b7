-- Hand-written: back to 1.0's privileges (upgrade/0002_api_roles_maintain.sql undone). 1.0's
-- files revoked nothing from service_role on these ten tables, so service_role held what the
-- default privileges gave it when they were created: MAINTAIN back where those (the owner's,
-- in hubspot_sync or everywhere: Supabase's) give it (PostgreSQL 17 and later).
DO $maintain$
DECLARE
    v record;
BEGIN
    FOR v IN
        SELECT c.oid::regclass AS rel
        FROM pg_catalog.pg_class AS c
        WHERE c.relnamespace = 'hubspot_sync'::regnamespace
          AND c.relname IN ('adoption_report', 'booking_rules', 'contact_credit_sync',
                            'credit_ledger', 'idempotency_results', 'supabase_audit_log',
                            'sync_errors', 'sync_queue', 'waitlist_entries', 'webhook_events')
          AND EXISTS (
              SELECT FROM pg_catalog.pg_default_acl AS d
              CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) AS a
              WHERE d.defaclrole = c.relowner AND d.defaclobjtype = 'r'
                AND d.defaclnamespace IN (0, c.relnamespace)
                AND a.privilege_type = 'MAINTAIN'
                AND a.grantee = pg_catalog.to_regrole('service_role'))
        ORDER BY 1
    LOOP
        EXECUTE pg_catalog.format('GRANT MAINTAIN ON %s TO service_role', v.rel);
    END LOOP;
END
$maintain$;
