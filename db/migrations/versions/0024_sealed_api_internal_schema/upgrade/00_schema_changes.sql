-- Hand-written (issue 14): the sealed API.
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

-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.activate_due_exams(p_actor text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.apply_credit_delta(p_contact_id uuid, p_credit_field text, p_delta integer, p_reason text, p_booking_id uuid, p_actor text, p_note text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.apply_pulled_bookings(p_bookings jsonb, p_actor text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.apply_pulled_contacts(p_contacts jsonb, p_actor text, p_merge_credits boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.apply_pulled_exams(p_exams jsonb, p_actor text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.apply_pulled_prerequisites(p_prerequisites jsonb, p_actor text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.book(p_mode text, p_student_id text, p_email text, p_mock_exam_id text, p_idempotency_key text, p_fingerprint text, p_attending_location text, p_dominant_hand text, p_student_name text, p_mock_set text, p_booking_code text, p_override_capacity boolean, p_credit_field text, p_new_credit_value integer, p_token_used text, p_old_booking text, p_actor text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.booking_by_ref(p_ref text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.booking_fingerprint(VARIADIC p_parts text[]) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.booking_json(p_booking hubspot_sync.hubspot_bookings, p_replay boolean, p_credit_field text, p_credits_remaining integer, p_total_bookings integer, p_capacity integer) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.booking_result(p_booking hubspot_sync.hubspot_bookings, p_replay boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.booking_rule(p_rule text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.cancel_locked_booking(p_booking_id uuid, p_student_id text, p_refund boolean, p_reason text, p_actor text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.check_booking_rules(p_exam hubspot_sync.hubspot_mock_exams, p_student_id text, p_ignore_booking_id uuid) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.check_credit_field(p_name text, p_credit_field text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.check_exam_for_student(p_exam hubspot_sync.hubspot_mock_exams, p_student_id text, p_attending_location text, p_dominant_hand text, p_check_fields boolean, p_check_capacity boolean, p_ignore_booking_id uuid) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.check_invariants(p_start_balances jsonb, p_after_ledger_id bigint) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.check_text_arg(p_field text, p_value text, p_required boolean, p_max_length integer, p_pattern text, p_expected text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.claim_audit_notes(p_limit integer) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.claim_idempotency_key(p_idempotency_key text, p_fingerprint text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.claim_idempotent_call(p_function text, p_idempotency_key text, p_fingerprint text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.claim_sync_batch(p_worker text, p_limit integer, p_lease_seconds integer) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.claim_webhook_events(p_limit integer, p_lease_seconds integer) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.complete_sync_batch(p_worker text, p_ids bigint[], p_hubspot_ids jsonb) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.contact_id_of_booking(p_booking hubspot_sync.hubspot_bookings) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.credit_balance(p_contact hubspot_sync.hubspot_contact_credits, p_credit_field text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.credit_balances(p_contact hubspot_sync.hubspot_contact_credits) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.credit_field_names() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.credit_field_of_token(p_token_used text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.credit_fields() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.credit_push_claimed() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.credit_push_done() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.exam_starts_at(p_exam_date date, p_time text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.exam_unbookable_reason(p_exam hubspot_sync.hubspot_mock_exams) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.fail_sync_rows(p_worker text, p_ids bigint[], p_error text, p_max_attempts integer, p_retry_after_seconds numeric, p_count_attempt boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.find_contact(p_student_id text, p_email text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.find_exam(p_mock_exam_id text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.finish_webhook_events(p_ids bigint[], p_error text, p_max_attempts integer) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.get_sync_cursor(p_sync_type text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.insert_booking(p_booking hubspot_sync.hubspot_bookings) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.legacy_attending_location(p_value text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.list_dead_letters(p_include_resolved boolean, p_limit integer) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.local_change_pending(p_table text, p_record_id uuid, p_column text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.lock_booking(p_booking_id uuid) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.lock_contact(p_contact_id uuid) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.lock_exam(p_hubspot_id text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.lock_idempotency_key(p_idempotency_key text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.mark_audit_notes(p_ids bigint[]) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.new_booking_code() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.new_booking_row(p_contact hubspot_sync.hubspot_contact_credits, p_exam hubspot_sync.hubspot_mock_exams, p_attending_location text, p_dominant_hand text, p_student_name text, p_mock_set hubspot_sync.mock_set_letter, p_token_used text, p_booking_code text, p_idempotency_key text, p_fingerprint text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.note_pull_outcome(p_entity_type text, p_entity_id text, p_error text, p_payload jsonb) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.offer_free_seats(p_exam_hubspot_id text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.overwritten_credit_change(p_history jsonb, p_written integer, p_read_at timestamp with time zone) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.pick_credit(p_contact hubspot_sync.hubspot_contact_credits, p_mock_type text, OUT credit_field text, OUT token_used text, OUT balance integer) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.pull_recheck_ids(p_entity_type text, p_since timestamp with time zone) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.pull_record_failed(p_entity_type text, p_entity_id text, p_item jsonb, p_sqlstate text, p_message text, p_detail text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.pulled_date(p_properties jsonb, p_name text, p_required boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.pulled_int(p_properties jsonb, p_name text, p_required boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.pulled_text(p_properties jsonb, p_name text, p_required boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.pulled_timestamp(p_properties jsonb, p_name text, p_required boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.purge_idempotency_results(p_retention interval) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.purge_sync_queue(p_retention interval) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.push_state(p_table text, p_record_ids uuid[]) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.queue_waitlist_change() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.raise_error(p_code text, p_detail text, p_hint text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.reconcile_state(p_table text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.record_credit_push(p_credits jsonb, p_sent boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.record_row_change() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.record_sync_run(p_sync_type text, p_status text, p_records integer, p_error text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.refresh_analytics(p_concurrently boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.release_seat(p_exam_hubspot_id text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.relink_contact(p_contact_id uuid, p_hubspot_id text, p_reason text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.request_actor(p_actor text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.requeue_for_push(p_table text, p_exam_hubspot_id text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.requeue_records(p_table text, p_record_ids uuid[]) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.require_booking_code() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.resolve_dead_letters(p_action text, p_error_ids bigint[], p_actor text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.save_sync_cursor(p_sync_type text, p_cursor jsonb) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.store_idempotent_result(p_function text, p_idempotency_key text, p_fingerprint text, p_result jsonb) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.store_webhook_events(p_events jsonb) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.sync_queue_next_due() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.take_seat(p_exam hubspot_sync.hubspot_mock_exams, p_check_capacity boolean) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.touch_updated_at() SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.validate_booking_args(p_student_id text, p_email text, p_mock_exam_id text, p_idempotency_key text, p_attending_location text, p_dominant_hand text, p_email_arg text) SET SCHEMA mockbook_internal;
-- squawk-ignore ban-set-schema
ALTER FUNCTION hubspot_sync.write_exam_prerequisites(p_exam_id text, p_prerequisite_ids text[]) SET SCHEMA mockbook_internal;

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
