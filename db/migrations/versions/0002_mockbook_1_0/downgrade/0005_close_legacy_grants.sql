-- Hand-written: the reverse of upgrade/97_close_legacy_grants.sql for the production tables
-- mockbook does not own (as 0001_baseline left them); its report rows go.
GRANT ALL ON TABLE hubspot_sync.audit_log, hubspot_sync.groups, hubspot_sync.instructors,
    hubspot_sync.groups_instructors, hubspot_sync.groups_students, hubspot_sync.work_check_slots,
    hubspot_sync.work_check_bookings TO anon, authenticated;
DO $$
DECLARE
    v_row record;
BEGIN
    FOR v_row IN SELECT object FROM hubspot_sync.adoption_report
                 WHERE revision = '0002_mockbook_1_0'
                   AND action = 'policy narrowed to service_role'
    LOOP
        EXECUTE format('ALTER POLICY %I ON %s TO public',
                       substr(v_row.object, strpos(v_row.object, ' ') + 1),
                       split_part(v_row.object, ' ', 1));
    END LOOP;
    DELETE FROM hubspot_sync.adoption_report WHERE revision = '0002_mockbook_1_0'
        AND action IN ('revoked legacy privileges', 'revoked legacy EXECUTE',
                       'policy narrowed to service_role', 'default privileges revoked',
                       'legacy grants kept (mockbook.keep_legacy_grants = on)');
END
$$;
