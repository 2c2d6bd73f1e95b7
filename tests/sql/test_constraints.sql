-- Constraints of the data model, exercised with real rows (as the table owner, inside this transaction):
-- every CHECK in hubspot_sync rejects a bad value with 23514 naming that constraint (the last
-- test fails if a CHECK exists that this file does not exercise), the booking code and the other
-- unique keys reject duplicates with 23505, and the duplicate rule of create_booking (one Active
-- or Completed booking per student, mock type and exam day) holds as a unique index.
BEGIN;
SELECT plan(58);

-- The expected error message of a CHECK violation; remembers which constraints were exercised.
CREATE TEMP TABLE exercised (conname name PRIMARY KEY) ON COMMIT DROP;
CREATE FUNCTION pg_temp.violates(p_table text, p_constraint text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO exercised VALUES (p_constraint) ON CONFLICT DO NOTHING;
    RETURN format('new row for relation "%s" violates check constraint "%s"', p_table, p_constraint);
END
$$;
-- The same for a rule of a domain (a column typed with it): the message names the domain.
CREATE FUNCTION pg_temp.violates_domain(p_domain text, p_constraint text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO exercised VALUES (p_constraint) ON CONFLICT DO NOTHING;
    RETURN format('value for domain hubspot_sync.%s violates check constraint "%s"', p_domain,
                  p_constraint);
END
$$;
CREATE FUNCTION pg_temp.duplicate(p_constraint text) RETURNS text LANGUAGE sql AS $$
    SELECT format('duplicate key value violates unique constraint "%s"', p_constraint)
$$;

INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email)
VALUES ('CT-C1', 'CT-S1', 'ct-s1@example.com');
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_type, exam_date, capacity, is_active)
VALUES ('CT-X1', 'Clinical Skills', '2031-05-05', 10, 'true');

-- hubspot_contact_credits: no negative balance ---------------------------------------------------

SELECT throws_ok(
    format($$INSERT INTO hubspot_sync.hubspot_contact_credits (student_id, email, %I)
             VALUES ('CT-NEG', 'ct-neg@example.com', -1)$$, f),
    '23514', pg_temp.violates('hubspot_contact_credits', 'hubspot_contact_credits_credits_check'),
    f || ' cannot be negative')
FROM unnest(ARRAY['sj_credits', 'cs_credits', 'sjmini_credits', 'mock_discussion_token',
                  'shared_mock_credits']) AS f;

SELECT throws_ok(
    $$UPDATE hubspot_sync.hubspot_contact_credits SET cs_credits = cs_credits - 1
      WHERE student_id = 'CT-S1'$$,
    '23514', pg_temp.violates('hubspot_contact_credits', 'hubspot_contact_credits_credits_check'),
    'spending a credit the contact does not have is refused by the table too');
SELECT lives_ok(
    $$INSERT INTO hubspot_sync.hubspot_contact_credits (student_id, email, sj_credits, cs_credits,
                                                      sjmini_credits)
      VALUES ('CT-ZERO', 'ct-zero@example.com', 0, NULL, 3)$$,
    'balances of 0, unknown (NULL) and above 0 side by side are accepted (one CHECK for the five)');

-- hubspot_mock_exams ------------------------------------------------------------------------------

SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, capacity) VALUES ('CT-X2', -1)$$,
    '23514', pg_temp.violates('hubspot_mock_exams', 'hubspot_mock_exams_values_check'),
    'capacity cannot be negative');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, total_bookings)
      VALUES ('CT-X2', -1)$$,
    '23514', pg_temp.violates('hubspot_mock_exams', 'hubspot_mock_exams_values_check'),
    'total_bookings cannot be negative');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, is_active) VALUES ('CT-X2', 'maybe')$$,
    '23514', pg_temp.violates('hubspot_mock_exams', 'hubspot_mock_exams_values_check'),
    'is_active is one of true/false/scheduled/active');
SELECT lives_ok(
    $$INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, is_active)
      VALUES ('CT-X3', 'True'), ('CT-X4', 'SCHEDULED'), ('CT-X5', 'active'), ('CT-X6', NULL)$$,
    'exam is_active is compared case-insensitively, as HubSpot sends it');
SELECT lives_ok(
    $$INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, capacity, total_bookings, is_active)
      VALUES ('CT-X7', NULL, 0, 'false'), ('CT-X8', 0, NULL, NULL)$$,
    'an unknown capacity or count beside a known one passes the one CHECK of the exam');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id) VALUES ('CT-X1')$$,
    '23505', pg_temp.duplicate('hubspot_mock_exams_hubspot_id_key'),
    'an exam HubSpot id is unique');

-- hubspot_bookings: values ------------------------------------------------------------------------

SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_bookings (booking_id, student_id, is_active)
      VALUES ('BK-20310101-CT0001', 'CT-S1', 'Pending')$$,
    '23514', pg_temp.violates('hubspot_bookings', 'hubspot_bookings_values_check'),
    'booking is_active is Active/Cancelled/Completed/Failed');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_bookings (booking_id, student_id, is_active, attendance)
      VALUES ('BK-20310101-CT0001', 'CT-S1', 'Completed', 'Maybe')$$,
    '23514', pg_temp.violates('hubspot_bookings', 'hubspot_bookings_values_check'),
    'attendance is Yes, No or unknown (NULL)');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_bookings (student_id, is_active)
      VALUES ('CT-S1', 'Active')$$,
    '23502', NULL, 'a new booking must have a booking code (trigger require_booking_code)');
SELECT lives_ok(
    $$ALTER TABLE hubspot_sync.hubspot_bookings DISABLE TRIGGER require_booking_code;
      INSERT INTO hubspot_sync.hubspot_bookings (student_id, is_active, student_email)
      VALUES ('CT-OLD', 'Active', 'ct-old@example.com');
      ALTER TABLE hubspot_sync.hubspot_bookings ENABLE TRIGGER require_booking_code;
      UPDATE hubspot_sync.hubspot_bookings SET is_active = 'Cancelled' WHERE student_id = 'CT-OLD'$$,
    'a row from before mockbook without a code can still be updated (cancelled)');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_bookings (booking_id, student_id, is_active)
      VALUES ('BK-20310101-CTCLR1', 'CT-CLR', 'Cancelled');
      UPDATE hubspot_sync.hubspot_bookings SET booking_id = NULL
      WHERE booking_id = 'BK-20310101-CTCLR1'$$,
    '23502', NULL, 'an update cannot clear a booking code');

-- hubspot_bookings: unique keys and the duplicate rule ---------------------------------------------

CREATE FUNCTION pg_temp.book(p_code text, p_status text, p_type text DEFAULT 'Clinical Skills',
                             p_day date DEFAULT '2031-05-05', p_key text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO hubspot_sync.hubspot_bookings (
        booking_id, associated_mock_exam, student_id, student_email, is_active, mock_type,
        exam_date, idempotency_key)
    VALUES (p_code, 'CT-X1', 'CT-S1', 'ct-s1@example.com', p_status, p_type, p_day, p_key)
$$;

SELECT lives_ok($$SELECT pg_temp.book('BK-20310101-CT0001', 'Active', p_key := 'CT-KEY-1')$$,
                'a first Active booking is accepted');
SELECT throws_ok($$SELECT pg_temp.book('BK-20310101-CT0001', 'Cancelled', p_day := '2031-06-06')$$,
                 '23505', pg_temp.duplicate('hubspot_bookings_booking_id_key'),
                 'a booking code is unique');
SELECT throws_ok($$SELECT pg_temp.book('BK-20310101-CT0002', 'Cancelled', p_day := '2031-06-06',
                                       p_key := 'CT-KEY-1')$$,
                 '23505', pg_temp.duplicate('hubspot_bookings_idempotency_key_key'),
                 'an idempotency key is unique');
SELECT throws_ok($$SELECT pg_temp.book('BK-20310101-CT0003', 'Active')$$,
                 '23505', pg_temp.duplicate('uq_bookings_one_per_student_type_day'),
                 'a second Active booking of the same student, mock type and day is refused');
SELECT throws_ok($$SELECT pg_temp.book('BK-20310101-CT0004', 'Completed')$$,
                 '23505', pg_temp.duplicate('uq_bookings_one_per_student_type_day'),
                 'a Completed one counts too');
SELECT lives_ok($$SELECT pg_temp.book('BK-20310101-CT0005', 'Cancelled')$$,
                'a Cancelled booking of the same student, type and day is kept');
SELECT lives_ok($$SELECT pg_temp.book('BK-20310101-CT0006', 'Failed')$$,
                'a Failed one too');
SELECT lives_ok($$SELECT pg_temp.book('BK-20310101-CT0007', 'Active', 'Situational Judgment')$$,
                'the same student may book another mock type that day');
SELECT lives_ok($$SELECT pg_temp.book('BK-20310101-CT0008', 'Active', p_day := '2031-05-06')$$,
                'and the same mock type another day');
SELECT lives_ok(
    $$UPDATE hubspot_sync.hubspot_bookings SET is_active = 'Cancelled'
      WHERE booking_id = 'BK-20310101-CT0001'$$,
    'the first booking is cancelled');
SELECT lives_ok($$SELECT pg_temp.book('BK-20310101-CT0009', 'Active')$$,
                'once the first is cancelled, the student may book that type and day again');
SELECT throws_ok(
    $$UPDATE hubspot_sync.hubspot_bookings SET is_active = 'Active'
      WHERE booking_id = 'BK-20310101-CT0001'$$,
    '23505', pg_temp.duplicate('uq_bookings_one_per_student_type_day'),
    'the cancelled one cannot become Active again while the new one is');
SELECT is(
    (SELECT array_agg(booking_id || ':' || is_active ORDER BY booking_id)
     FROM hubspot_sync.hubspot_bookings WHERE student_id = 'CT-S1'),
    ARRAY['BK-20310101-CT0001:Cancelled', 'BK-20310101-CT0005:Cancelled',
          'BK-20310101-CT0006:Failed', 'BK-20310101-CT0007:Active',
          'BK-20310101-CT0008:Active', 'BK-20310101-CT0009:Active'],
    'exactly the accepted bookings exist');

SELECT throws_ok(
    $$INSERT INTO hubspot_sync.hubspot_contact_credits (student_id, email)
      VALUES ('CT-S1', 'other@example.com')$$,
    '23505', pg_temp.duplicate('hubspot_contact_credits_student_id_key'),
    'a student_id belongs to one contact');

-- credit_ledger -----------------------------------------------------------------------------------

CREATE FUNCTION pg_temp.ledger(p_field text DEFAULT 'sj_credits', p_delta integer DEFAULT -1,
                               p_balance integer DEFAULT 0, p_reason text DEFAULT 'booking',
                               p_contact uuid DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO hubspot_sync.credit_ledger (contact_id, student_id, credit_field, delta,
                                            balance_after, reason)
    VALUES (coalesce(p_contact, (SELECT id FROM hubspot_sync.hubspot_contact_credits
                                 WHERE student_id = 'CT-S1')),
            'CT-S1', p_field, p_delta, p_balance, p_reason)
$$;

SELECT lives_ok($$SELECT pg_temp.ledger()$$, 'a well-formed ledger row is accepted');
SELECT throws_ok($$SELECT pg_temp.ledger(p_field := 'gold_stars')$$,
                 '23514', pg_temp.violates_domain('ledger_credit_field', 'credit_ledger_credit_field_check'),
                 'a ledger row names one of the five credit fields');
SELECT throws_ok($$SELECT pg_temp.ledger(p_reason := 'because')$$,
                 '23514', pg_temp.violates_domain('ledger_reason', 'credit_ledger_reason_check'),
                 'a ledger row has one of the documented reasons');
SELECT throws_ok($$SELECT pg_temp.ledger(p_delta := 0)$$,
                 '23514', pg_temp.violates_domain('ledger_delta', 'credit_ledger_delta_check'),
                 'a ledger row changes something (delta <> 0)');
SELECT throws_ok($$SELECT pg_temp.ledger(p_balance := -1)$$,
                 '23514', pg_temp.violates_domain('ledger_balance', 'credit_ledger_balance_after_check'),
                 'a ledger balance is never negative');
SELECT throws_ok($$SELECT pg_temp.ledger(p_contact := '00000000-0000-4000-8000-000000000000')$$,
                 '23503', NULL, 'a ledger row belongs to an existing contact');

-- sync_queue and sync_errors ------------------------------------------------------------------------

SELECT throws_ok(
    $$INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation)
      VALUES ('credit_ledger', gen_random_uuid(), 'INSERT')$$,
    '23514', pg_temp.violates_domain('outbox_table_name', 'sync_queue_table_name_check'),
    'the outbox carries only the three synced tables');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation)
      VALUES ('hubspot_bookings', gen_random_uuid(), 'MERGE')$$,
    '23514', pg_temp.violates_domain('outbox_operation', 'sync_queue_operation_check'),
    'an outbox operation is INSERT, UPDATE or DELETE');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, attempts)
      VALUES ('hubspot_bookings', gen_random_uuid(), 'UPDATE', -1)$$,
    '23514', pg_temp.violates_domain('outbox_attempts', 'sync_queue_attempts_check'),
    'outbox attempts cannot be negative');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.sync_errors (entity_type, direction, error)
      VALUES ('booking', 'sideways', 'boom')$$,
    '23514', pg_temp.violates('sync_errors', 'sync_errors_direction_check'),
    'a dead letter is a push or a pull failure');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.sync_errors (entity_type, direction, error, resolution)
      VALUES ('booking', 'push', 'boom', 'ignored')$$,
    '23514', pg_temp.violates('sync_errors', 'sync_errors_resolution_check'),
    'a dead letter is resolved by retrying or discarding it');

-- contact_credit_sync (the base of the credit merge) --------------------------------------------------
INSERT INTO hubspot_sync.hubspot_contact_credits (student_id, email) VALUES ('CTSYNC', 'ctsync@x.org');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.contact_credit_sync (contact_id, credits, source)
      SELECT id, '[1]', 'pull' FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'CTSYNC'$$,
    '23514', pg_temp.violates('contact_credit_sync', 'contact_credit_sync_credits_check'),
    'the last synced credits are a JSON object');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.contact_credit_sync (contact_id, pushing, source)
      SELECT id, '"x"', 'push' FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'CTSYNC'$$,
    '23514', pg_temp.violates('contact_credit_sync', 'contact_credit_sync_pushing_check'),
    'the values being pushed are a JSON object (or NULL)');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.contact_credit_sync (contact_id, source)
      SELECT id, 'guess' FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'CTSYNC'$$,
    '23514', pg_temp.violates('contact_credit_sync', 'contact_credit_sync_source_check'),
    'the base comes from a pull or a push');

-- webhook_events (HubSpot deliveries) -------------------------------------------------------------
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.webhook_events
          (event_id, subscription_type, object_type_id, object_id, occurred_at, payload, attempts)
      VALUES (1, 'contact.propertyChange', '0-1', '1', now(), '{}', -1)$$,
    '23514', pg_temp.violates('webhook_events', 'webhook_events_attempts_check'),
    'webhook delivery attempts cannot be negative');

-- scheduling rules and the waitlist --------------------------------------------------------
SELECT set_eq(
    $$SELECT rule, value FROM hubspot_sync.booking_rules$$,
    $$SELECT rule, default_value FROM mockbook_internal.declared_booking_rules()$$,
    'the settings table holds one row per declared scheduling rule, at its default');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.booking_conflicts (booking_id, mock_exam_id, rule, detail)
      VALUES (gen_random_uuid(), 'EXC1', 'whatever', 'x')$$,
    '23514', pg_temp.violates('booking_conflicts', 'booking_conflicts_rule_check'),
    'a booking conflict names one of the documented rules');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id, status, offered_at)
      VALUES ('EXC1', 'C1', gen_random_uuid(), 'maybe', now())$$,
    '23514', pg_temp.violates('waitlist_entries', 'waitlist_entries_status_check'),
    'a waitlist place has one of the five statuses');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id, status)
      VALUES ('EXC1', 'C1', gen_random_uuid(), 'expired')$$,
    '23514', pg_temp.violates('waitlist_entries', 'waitlist_entries_offer_check'),
    'only an offered place can be accepted or expire (offered_at set)');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id, status, offered_at)
      VALUES ('EXC1', 'C1', gen_random_uuid(), 'accepted', now())$$,
    '23514', pg_temp.violates('waitlist_entries', 'waitlist_entries_booking_check'),
    'an accepted place names its booking');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id)
      VALUES ('EXC1', 'C1', gen_random_uuid()), ('EXC1', 'C1', gen_random_uuid())$$,
    '23505', pg_temp.duplicate('idx_waitlist_open_place'),
    'one open place per student and exam');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.idempotency_results (idempotency_key, function_name, fingerprint, result)
      VALUES ('', 'adjust_credits', 'fp', '{}')$$,
    '23514', pg_temp.violates('idempotency_results', 'idempotency_results_key_check'),
    'an idempotency key has 1 to 255 characters');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.idempotency_results (idempotency_key, function_name, fingerprint, result)
      VALUES ('CT-K', 'adjust_credits', 'fp', '{}'), ('CT-K', 'cancel_booking', 'fp', '{}')$$,
    '23505', pg_temp.duplicate('idempotency_results_pkey'),
    'one stored result per idempotency key');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.refresh_requests (record_type, record_key, requested_by)
      VALUES ('contact', 'S1', 'CT')$$,
    '23514', pg_temp.violates('refresh_requests', 'refresh_requests_record_type_check'),
    'a refresh asks for an exam, a student or a booking');
SELECT throws_ok(
    $$INSERT INTO hubspot_sync.refresh_requests (record_type, record_key, requested_by, outcome)
      VALUES ('exam', 'E1', 'CT', 'done')$$,
    '23514', pg_temp.violates('refresh_requests', 'refresh_requests_outcome_check'),
    'a finished refresh has one of the eight documented outcomes');

-- Coverage ----------------------------------------------------------------------------------------

SELECT set_eq(
    $$SELECT conname FROM pg_catalog.pg_constraint
      WHERE connamespace = 'hubspot_sync'::regnamespace AND contype = 'c'$$,
    $$SELECT conname FROM exercised$$,
    'every CHECK constraint in hubspot_sync is exercised above (add a case for a new one)');

SELECT * FROM finish();
ROLLBACK;
