-- Hand-written: the sealed API.
-- 1. The internal schema and the glue's role (also in db/schema/02_mockbook_internal.sql, which
--    this revision applies next; both are idempotent), created first: the moves need them.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'mockbook_glue') THEN
        CREATE ROLE mockbook_glue NOLOGIN;
    END IF;
END
$$;
CREATE SCHEMA IF NOT EXISTS mockbook_internal;

-- 2. Everything that is not the documented contract (docs/rpc.md) moves to mockbook_internal,
--    which PostgREST does not expose: internal helpers, trigger functions, the glue's functions.
--    ALTER ... SET SCHEMA keeps each function's oid, so the triggers keep firing; the files of
--    this revision then replace the bodies (calls qualified with mockbook_internal), mark the
--    contract and the glue's functions SECURITY DEFINER and set their grants.
--    squawk's ban-set-schema (clients of a moved object break) is what we want here: no app
--    may call these functions; the contract's names do not move.


-- 3. The tables are read-only for the request roles: service_role keeps SELECT (PostgREST's
--    reads and filters), loses INSERT/UPDATE/DELETE (the SECURITY DEFINER functions write).

REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.hubspot_contact_credits FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.hubspot_mock_exams FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.hubspot_bookings FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.sync_metadata FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.supabase_audit_log FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.credit_ledger FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.sync_queue FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.sync_errors FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.contact_credit_sync FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.webhook_events FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.adoption_report FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.booking_rules FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.waitlist_entries FROM service_role;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE hubspot_sync.idempotency_results FROM service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.supabase_audit_log_id_seq FROM service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.credit_ledger_id_seq FROM service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.sync_queue_id_seq FROM service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.sync_errors_id_seq FROM service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.webhook_events_id_seq FROM service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.adoption_report_id_seq FROM service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.waitlist_entries_id_seq FROM service_role;

-- 4. The glue's role reads what the glue reads (a read-only policy each: it is not BYPASSRLS).

GRANT SELECT ON TABLE hubspot_sync.hubspot_contact_credits TO mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.hubspot_contact_credits
    FOR SELECT TO mockbook_glue USING (true);
GRANT SELECT ON TABLE hubspot_sync.hubspot_mock_exams TO mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.hubspot_mock_exams
    FOR SELECT TO mockbook_glue USING (true);
GRANT SELECT ON TABLE hubspot_sync.hubspot_bookings TO mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.hubspot_bookings
    FOR SELECT TO mockbook_glue USING (true);
GRANT SELECT ON TABLE hubspot_sync.sync_metadata TO mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.sync_metadata
    FOR SELECT TO mockbook_glue USING (true);
GRANT SELECT ON TABLE hubspot_sync.sync_queue TO mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.sync_queue
    FOR SELECT TO mockbook_glue USING (true);
GRANT SELECT ON TABLE hubspot_sync.sync_errors TO mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.sync_errors
    FOR SELECT TO mockbook_glue USING (true);
GRANT SELECT ON TABLE hubspot_sync.waitlist_entries TO mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.waitlist_entries
    FOR SELECT TO mockbook_glue USING (true);
GRANT SELECT ON SEQUENCE hubspot_sync.sync_queue_id_seq TO mockbook_glue;
