-- Frozen: removes the production schema the baseline created (only on a database mockbook
-- created: an adopted database is stamped at 0001_baseline and never downgraded below it).
SET lock_timeout = '5s';
DROP TRIGGER bookings_audit_trigger ON hubspot_sync.hubspot_bookings;
DROP TRIGGER contact_credits_audit_trigger ON hubspot_sync.hubspot_contact_credits;
DROP TRIGGER exams_audit_trigger ON hubspot_sync.hubspot_mock_exams;
DROP FUNCTION hubspot_sync.cancel_booking_atomic(uuid, text, integer),
    hubspot_sync.check_idempotency_key(text),
    hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text),
    hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text, text, integer),
    hubspot_sync.get_booking(uuid, text, text),
    hubspot_sync.get_booking_aggregates(text, date, date, text, text, uuid, integer, integer),
    hubspot_sync.get_booking_aggregates_count(text, date, date, text, text, uuid),
    hubspot_sync.get_changed_fields(jsonb, jsonb),
    hubspot_sync.get_contact_credits(text, text, uuid, text),
    hubspot_sync.increment_exam_bookings(text, integer),
    hubspot_sync.log_booking_changes(), hubspot_sync.log_contact_credits_changes(),
    hubspot_sync.log_exam_changes(),
    hubspot_sync.update_exam_prerequisites(text, text[], text[]);
DROP TABLE hubspot_sync.work_check_bookings, hubspot_sync.work_check_slots,
    hubspot_sync.groups_students, hubspot_sync.groups_instructors, hubspot_sync.groups,
    hubspot_sync.instructors, hubspot_sync.audit_log, hubspot_sync.hubspot_bookings,
    hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_contact_credits,
    hubspot_sync.sync_metadata;
DROP TYPE hubspot_sync.mock_set_enum;
