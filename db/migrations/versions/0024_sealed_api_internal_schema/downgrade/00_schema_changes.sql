-- Hand-written (issue 14), undoing upgrade/00_schema_changes.sql and the grants of this
-- revision's files; runs first, so the files after it (the previous frozen copies) replace
-- the bodies of the functions once they are back in hubspot_sync. The role mockbook_glue
-- stays (roles are cluster-wide; like the Supabase roles, downgrades keep them).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mockbook_internal FROM mockbook_glue;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA hubspot_sync FROM mockbook_glue;

-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.activate_due_exams(p_actor text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.apply_credit_delta(p_contact_id uuid, p_credit_field text, p_delta integer, p_reason text, p_booking_id uuid, p_actor text, p_note text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.apply_pulled_bookings(p_bookings jsonb, p_actor text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.apply_pulled_contacts(p_contacts jsonb, p_actor text, p_merge_credits boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.apply_pulled_exams(p_exams jsonb, p_actor text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.apply_pulled_prerequisites(p_prerequisites jsonb, p_actor text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.book(p_mode text, p_student_id text, p_email text, p_mock_exam_id text, p_idempotency_key text, p_fingerprint text, p_attending_location text, p_dominant_hand text, p_student_name text, p_mock_set text, p_booking_code text, p_override_capacity boolean, p_credit_field text, p_new_credit_value integer, p_token_used text, p_old_booking text, p_actor text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.booking_by_ref(p_ref text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.booking_fingerprint(VARIADIC p_parts text[]) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.booking_json(p_booking hubspot_sync.hubspot_bookings, p_replay boolean, p_credit_field text, p_credits_remaining integer, p_total_bookings integer, p_capacity integer) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.booking_result(p_booking hubspot_sync.hubspot_bookings, p_replay boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.booking_rule(p_rule text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.cancel_locked_booking(p_booking_id uuid, p_student_id text, p_refund boolean, p_reason text, p_actor text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.check_booking_rules(p_exam hubspot_sync.hubspot_mock_exams, p_student_id text, p_ignore_booking_id uuid) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.check_credit_field(p_name text, p_credit_field text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.check_exam_for_student(p_exam hubspot_sync.hubspot_mock_exams, p_student_id text, p_attending_location text, p_dominant_hand text, p_check_fields boolean, p_check_capacity boolean, p_ignore_booking_id uuid) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.check_invariants(p_start_balances jsonb, p_after_ledger_id bigint) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.check_text_arg(p_field text, p_value text, p_required boolean, p_max_length integer, p_pattern text, p_expected text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.claim_audit_notes(p_limit integer) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.claim_idempotency_key(p_idempotency_key text, p_fingerprint text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.claim_idempotent_call(p_function text, p_idempotency_key text, p_fingerprint text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.claim_sync_batch(p_worker text, p_limit integer, p_lease_seconds integer) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.claim_webhook_events(p_limit integer, p_lease_seconds integer) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.complete_sync_batch(p_worker text, p_ids bigint[], p_hubspot_ids jsonb) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.contact_id_of_booking(p_booking hubspot_sync.hubspot_bookings) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.credit_balance(p_contact hubspot_sync.hubspot_contact_credits, p_credit_field text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.credit_balances(p_contact hubspot_sync.hubspot_contact_credits) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.credit_field_names() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.credit_field_of_token(p_token_used text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.credit_fields() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.credit_push_claimed() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.credit_push_done() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.exam_starts_at(p_exam_date date, p_time text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.exam_unbookable_reason(p_exam hubspot_sync.hubspot_mock_exams) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.fail_sync_rows(p_worker text, p_ids bigint[], p_error text, p_max_attempts integer, p_retry_after_seconds numeric, p_count_attempt boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.find_contact(p_student_id text, p_email text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.find_exam(p_mock_exam_id text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.finish_webhook_events(p_ids bigint[], p_error text, p_max_attempts integer) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.get_sync_cursor(p_sync_type text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.insert_booking(p_booking hubspot_sync.hubspot_bookings) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.legacy_attending_location(p_value text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.list_dead_letters(p_include_resolved boolean, p_limit integer) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.local_change_pending(p_table text, p_record_id uuid, p_column text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.lock_booking(p_booking_id uuid) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.lock_contact(p_contact_id uuid) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.lock_exam(p_hubspot_id text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.lock_idempotency_key(p_idempotency_key text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.mark_audit_notes(p_ids bigint[]) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.new_booking_code() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.new_booking_row(p_contact hubspot_sync.hubspot_contact_credits, p_exam hubspot_sync.hubspot_mock_exams, p_attending_location text, p_dominant_hand text, p_student_name text, p_mock_set hubspot_sync.mock_set_letter, p_token_used text, p_booking_code text, p_idempotency_key text, p_fingerprint text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.note_pull_outcome(p_entity_type text, p_entity_id text, p_error text, p_payload jsonb) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.offer_free_seats(p_exam_hubspot_id text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.overwritten_credit_change(p_history jsonb, p_written integer, p_read_at timestamp with time zone) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.pick_credit(p_contact hubspot_sync.hubspot_contact_credits, p_mock_type text, OUT credit_field text, OUT token_used text, OUT balance integer) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.pull_recheck_ids(p_entity_type text, p_since timestamp with time zone) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.pull_record_failed(p_entity_type text, p_entity_id text, p_item jsonb, p_sqlstate text, p_message text, p_detail text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.pulled_date(p_properties jsonb, p_name text, p_required boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.pulled_int(p_properties jsonb, p_name text, p_required boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.pulled_text(p_properties jsonb, p_name text, p_required boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.pulled_timestamp(p_properties jsonb, p_name text, p_required boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.purge_idempotency_results(p_retention interval) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.purge_sync_queue(p_retention interval) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.push_state(p_table text, p_record_ids uuid[]) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.queue_waitlist_change() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.raise_error(p_code text, p_detail text, p_hint text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.reconcile_state(p_table text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.record_credit_push(p_credits jsonb, p_sent boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.record_row_change() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.record_sync_run(p_sync_type text, p_status text, p_records integer, p_error text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.refresh_analytics(p_concurrently boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.release_seat(p_exam_hubspot_id text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.relink_contact(p_contact_id uuid, p_hubspot_id text, p_reason text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.request_actor(p_actor text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.requeue_for_push(p_table text, p_exam_hubspot_id text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.requeue_records(p_table text, p_record_ids uuid[]) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.require_booking_code() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.resolve_dead_letters(p_action text, p_error_ids bigint[], p_actor text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.save_sync_cursor(p_sync_type text, p_cursor jsonb) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.store_idempotent_result(p_function text, p_idempotency_key text, p_fingerprint text, p_result jsonb) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.store_webhook_events(p_events jsonb) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.sync_queue_next_due() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.take_seat(p_exam hubspot_sync.hubspot_mock_exams, p_check_capacity boolean) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.touch_updated_at() SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.validate_booking_args(p_student_id text, p_email text, p_mock_exam_id text, p_idempotency_key text, p_attending_location text, p_dominant_hand text, p_email_arg text) SET SCHEMA hubspot_sync;
-- squawk-ignore ban-set-schema
ALTER FUNCTION mockbook_internal.write_exam_prerequisites(p_exam_id text, p_prerequisite_ids text[]) SET SCHEMA hubspot_sync;
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
