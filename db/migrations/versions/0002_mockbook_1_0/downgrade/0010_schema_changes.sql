-- Hand-written, undoing upgrade/00_schema_changes.sql and the grants of this
-- revision's files; runs first, so the files after it (the previous frozen copies) replace
-- the bodies of the functions once they are back in hubspot_sync. The role mockbook_glue
-- stays (roles are cluster-wide; like the Supabase roles, downgrades keep them).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mockbook_internal FROM mockbook_glue;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA hubspot_sync FROM mockbook_glue;

DROP SCHEMA mockbook_internal;
REVOKE ALL ON SCHEMA hubspot_sync FROM mockbook_glue;

DROP POLICY mockbook_glue_read ON hubspot_sync.hubspot_contact_credits;
REVOKE ALL ON TABLE hubspot_sync.hubspot_contact_credits FROM mockbook_glue;
DROP POLICY mockbook_glue_read ON hubspot_sync.hubspot_mock_exams;
REVOKE ALL ON TABLE hubspot_sync.hubspot_mock_exams FROM mockbook_glue;
DROP POLICY mockbook_glue_read ON hubspot_sync.hubspot_bookings;
REVOKE ALL ON TABLE hubspot_sync.hubspot_bookings FROM mockbook_glue;
DROP POLICY mockbook_glue_read ON hubspot_sync.sync_metadata;
REVOKE ALL ON TABLE hubspot_sync.sync_metadata FROM mockbook_glue;
DROP POLICY mockbook_glue_read ON hubspot_sync.sync_queue;
REVOKE ALL ON TABLE hubspot_sync.sync_queue FROM mockbook_glue;
DROP POLICY mockbook_glue_read ON hubspot_sync.sync_errors;
REVOKE ALL ON TABLE hubspot_sync.sync_errors FROM mockbook_glue;
DROP POLICY mockbook_glue_read ON hubspot_sync.waitlist_entries;
REVOKE ALL ON TABLE hubspot_sync.waitlist_entries FROM mockbook_glue;
REVOKE ALL ON SEQUENCE hubspot_sync.sync_queue_id_seq FROM mockbook_glue;

GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.hubspot_contact_credits TO service_role;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.hubspot_mock_exams TO service_role;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.hubspot_bookings TO service_role;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.sync_metadata TO service_role;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.supabase_audit_log TO service_role;
GRANT SELECT, INSERT ON TABLE hubspot_sync.credit_ledger TO service_role;
GRANT SELECT, INSERT ON TABLE hubspot_sync.sync_queue TO service_role;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.sync_errors TO service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE hubspot_sync.contact_credit_sync TO service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE hubspot_sync.webhook_events TO service_role;
GRANT SELECT ON TABLE hubspot_sync.adoption_report TO service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE hubspot_sync.booking_rules TO service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE hubspot_sync.waitlist_entries TO service_role;
GRANT SELECT, INSERT ON TABLE hubspot_sync.idempotency_results TO service_role;
GRANT USAGE ON SEQUENCE hubspot_sync.supabase_audit_log_id_seq TO service_role;
GRANT USAGE ON SEQUENCE hubspot_sync.credit_ledger_id_seq TO service_role;
GRANT USAGE ON SEQUENCE hubspot_sync.sync_queue_id_seq TO service_role;
GRANT USAGE ON SEQUENCE hubspot_sync.sync_errors_id_seq TO service_role;
GRANT USAGE ON SEQUENCE hubspot_sync.webhook_events_id_seq TO service_role;
GRANT USAGE ON SEQUENCE hubspot_sync.waitlist_entries_id_seq TO service_role;
