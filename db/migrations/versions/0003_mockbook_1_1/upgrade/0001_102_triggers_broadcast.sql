-- Frozen copy of db/triggers/broadcast.sql (new).
/**
 * Why: live pages (a booking page, an admin dashboard, a student's own page) learn of a change in
 * the transaction that makes it, through Supabase Realtime's Broadcast from the Database, without
 * polling. Deferred constraint triggers fire at the commit, after every statement of the
 * transaction: an exam's topic gets one message per transaction with the seats it commits (a
 * cancellation whose freed seat is offered to the waitlist is one message, not two), a
 * rolled-back transaction sends nothing, and no trigger adds a lock wait to the booking path
 * (they read rows and insert into realtime.messages, which no mockbook function locks). They
 * fire as the request's role (PostgREST's SET LOCAL ROLE is still in force at the commit):
 * SECURITY DEFINER, so they read and send as the functions' owner. A database without
 * Supabase Realtime has them disabled; hubspot_sync.set_realtime_broadcasts turns them on and
 * off. Contracts: the COMMENT ON FUNCTION of each.
 */

-- ---- an exam's seats: its own seat columns ------------------------------------------------------
CREATE OR REPLACE FUNCTION mockbook_internal.broadcast_exam_seats()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF (OLD.capacity, OLD.total_bookings, OLD.is_active, OLD.scheduled_activation_datetime,
        OLD.exam_date, OLD.exam_starts_at, OLD.exam_ends_at)
       IS DISTINCT FROM (NEW.capacity, NEW.total_bookings, NEW.is_active,
                         NEW.scheduled_activation_datetime, NEW.exam_date, NEW.exam_starts_at,
                         NEW.exam_ends_at) THEN
        PERFORM mockbook_internal.send_exam_seats(NEW.hubspot_id);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.broadcast_exam_seats() IS
'Trigger: at the commit of a change of an exam''s capacity, Active count, status, activation time,
date or times, sends its seats on its topic (send_exam_seats: once per exam and transaction).
Deferred constraint trigger broadcast_exam_seats on hubspot_mock_exams; SECURITY DEFINER (it fires
at the commit, as the request''s role).';
REVOKE ALL ON FUNCTION mockbook_internal.broadcast_exam_seats()
    FROM PUBLIC, anon, authenticated, service_role;

-- ---- a waitlist place: an offer holds or frees a seat; the student's own topic ------------------
CREATE OR REPLACE FUNCTION mockbook_internal.broadcast_waitlist_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_later boolean;
    v_email text;
    v_message jsonb;
BEGIN
    IF (OLD.status, OLD.offer_expires_at, OLD.mock_exam_id)
       IS NOT DISTINCT FROM (NEW.status, NEW.offer_expires_at, NEW.mock_exam_id) THEN
        RETURN NULL;
    END IF;
    IF OLD.status = 'offered' OR NEW.status = 'offered' THEN
        PERFORM mockbook_internal.send_exam_seats(NEW.mock_exam_id);
        IF OLD.mock_exam_id IS DISTINCT FROM NEW.mock_exam_id THEN
            PERFORM mockbook_internal.send_exam_seats(OLD.mock_exam_id);
        END IF;
    END IF;
    -- the place as the transaction commits it; a later change of it has an event of its own
    SELECT (w.status, w.offer_expires_at, w.mock_exam_id)
           IS DISTINCT FROM (NEW.status, NEW.offer_expires_at, NEW.mock_exam_id),
           c.email,
           jsonb_build_object(
               'student_id', w.student_id,
               'waitlist', jsonb_build_object(
                   'waitlist_id', w.id,
                   'mock_exam_id', w.mock_exam_id,
                   'status', w.status,
                   'offer_expires_at', w.offer_expires_at))
    INTO v_later, v_email, v_message
    FROM hubspot_sync.waitlist_entries AS w
    JOIN hubspot_sync.hubspot_contact_credits AS c ON c.id = w.contact_id
    WHERE w.id = NEW.id;
    IF v_later IS DISTINCT FROM false THEN
        RETURN NULL;
    END IF;
    PERFORM mockbook_internal.send_message(mockbook_internal.realtime_topic('student', v_email),
                                           'waitlist', v_message);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.broadcast_waitlist_change() IS
'Trigger: at the commit of a change of a waitlist place''s status, offer expiry or exam, sends the
exam''s seats when an offer was made, taken, declined, withdrawn or expired (send_exam_seats), and
the place to its student''s topic (event ''waitlist'': {student_id, waitlist: {waitlist_id,
mock_exam_id, status, offer_expires_at}}), once, as the transaction commits it. Deferred
constraint trigger broadcast_waitlist_change on waitlist_entries; SECURITY DEFINER (it fires at
the commit, as the request''s role).';
REVOKE ALL ON FUNCTION mockbook_internal.broadcast_waitlist_change()
    FROM PUBLIC, anon, authenticated, service_role;

-- ---- a booking: the student's own topic --------------------------------------------------------
CREATE OR REPLACE FUNCTION mockbook_internal.broadcast_booking_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (OLD.is_active, OLD.attendance, OLD.associated_mock_exam, OLD.mock_type,
            OLD.exam_date, OLD.start_time, OLD.end_time)
           IS NOT DISTINCT FROM (NEW.is_active, NEW.attendance, NEW.associated_mock_exam,
                                 NEW.mock_type, NEW.exam_date, NEW.start_time, NEW.end_time) THEN
        RETURN NULL;
    END IF;
    -- Realtime's schema here? asked once per transaction (as send_message)
    IF coalesce(nullif(pg_catalog.current_setting('mockbook.realtime_here', true), ''),
                pg_catalog.set_config('mockbook.realtime_here',
                    CASE WHEN pg_catalog.to_regclass('realtime.messages') IS NULL
                         THEN 'no' ELSE 'yes' END, true)) <> 'yes' THEN
        RETURN NULL;
    END IF;
    DECLARE
        -- realtime.messages exists only on Supabase; plpgsql_check runs on plain PostgreSQL
        v_pragma constant integer := mockbook_internal.plpgsql_check_pragma('disable:check');
    BEGIN
        -- every booking sends this: one statement, send_message's row. The booking as the
        -- transaction commits it (a later change of it has an event of its own, which sends),
        -- its student's balances then; nothing for a booking whose student has no contact
        INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
        SELECT m.id,
               jsonb_build_object(
                   'student_id', b.student_id,
                   'booking', jsonb_build_object(
                       'id', b.id,
                       'booking_id', b.booking_id,
                       'mock_exam_id', b.associated_mock_exam,
                       'status', b.is_active,
                       'attendance', b.attendance,
                       'mock_type', b.mock_type,
                       'exam_date', b.exam_date,
                       'start_time', b.start_time,
                       'end_time', b.end_time),
                   -- credit_balances(c)'s object, its fields written out (checked against
                   -- credit_fields by tests/py/rpc/test_realtime_broadcasts.py)
                   'credits', jsonb_build_object(
                       'sj_credits', c.sj_credits, 'cs_credits', c.cs_credits,
                       'sjmini_credits', c.sjmini_credits,
                       'mock_discussion_token', c.mock_discussion_token,
                       'shared_mock_credits', c.shared_mock_credits),
                   'id', m.id),
               -- realtime_topic('student', …) written out: a call a booking
               'booking', 'mockbook:student:' || lower(btrim(c.email, E' \t\r\n')), true,
               'broadcast'
        FROM hubspot_sync.hubspot_bookings AS b
        JOIN hubspot_sync.hubspot_contact_credits AS c ON c.student_id = b.student_id
        CROSS JOIN (SELECT pg_catalog.gen_random_uuid() AS id) AS m
        WHERE b.id = NEW.id
          AND c.email IS NOT NULL
          AND (b.is_active, b.attendance, b.associated_mock_exam, b.mock_type, b.exam_date,
               b.start_time, b.end_time)
              IS NOT DISTINCT FROM (NEW.is_active, NEW.attendance, NEW.associated_mock_exam,
                                    NEW.mock_type, NEW.exam_date, NEW.start_time, NEW.end_time);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'WarnSendingBroadcastMessage: %', SQLERRM;  -- as send_message
    END;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.broadcast_booking_change() IS
'Trigger: at the commit of a new booking, or of a change of a booking''s status, attendance, exam,
type, date or times, sends it to its student''s topic with the student''s balances then (event
''booking'': {student_id, booking: {id, booking_id, mock_exam_id, status, attendance, mock_type,
exam_date, start_time, end_time}, credits: {credit_field: balance}}), once, as the transaction
commits it; nothing for a booking whose student has no contact. Deferred constraint trigger
broadcast_booking_change on hubspot_bookings; SECURITY DEFINER (it fires at the commit, as the
request''s role).';
REVOKE ALL ON FUNCTION mockbook_internal.broadcast_booking_change()
    FROM PUBLIC, anon, authenticated, service_role;

-- ---- a student's balances changed outside a booking ---------------------------------------------
CREATE OR REPLACE FUNCTION mockbook_internal.broadcast_credit_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_later boolean;
    v_email text;
    v_message jsonb;
BEGIN
    IF mockbook_internal.credit_balances(OLD) = mockbook_internal.credit_balances(NEW) THEN
        RETURN NULL;
    END IF;
    -- the last change of the balances in this transaction sends them
    SELECT mockbook_internal.credit_balances(c) IS DISTINCT FROM mockbook_internal.credit_balances(NEW),
           c.email,
           jsonb_build_object('student_id', c.student_id,
                              'credits', mockbook_internal.credit_balances(c))
    INTO v_later, v_email, v_message
    FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.id = NEW.id;
    IF v_later IS DISTINCT FROM false THEN
        RETURN NULL;
    END IF;
    PERFORM mockbook_internal.send_message(mockbook_internal.realtime_topic('student', v_email),
                                           'credits', v_message);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.broadcast_credit_change() IS
'Trigger: at the commit of a change of a contact''s balances that no booking made (an admin''s
adjust_credits, a change merged from HubSpot), sends them to the student''s topic (event
''credits'': {student_id, credits: {credit_field: balance}}), once. A booking''s, cancellation''s or
rebook''s credit is in that booking''s own message: apply_credit_delta names the booking in the
setting mockbook.credit_booking while it writes, and the trigger''s WHEN skips those changes.
Deferred constraint trigger broadcast_credit_change on hubspot_contact_credits; SECURITY DEFINER
(it fires at the commit, as the request''s role).';
REVOKE ALL ON FUNCTION mockbook_internal.broadcast_credit_change()
    FROM PUBLIC, anon, authenticated, service_role;

-- ---- a refresh request's outcome: its record's topic and the admins' ----------------------------
CREATE OR REPLACE FUNCTION mockbook_internal.broadcast_refresh_outcome()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_message jsonb;
    v_email text;
BEGIN
    IF NEW.outcome IS NULL OR (TG_OP = 'UPDATE' AND OLD.outcome IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    v_message := jsonb_build_object(
        'request_id', NEW.id,
        'record_type', NEW.record_type,
        'record_key', NEW.record_key,
        'hubspot_id', NEW.hubspot_id,
        'outcome', NEW.outcome,
        'detail', NEW.detail,
        'requested_at', NEW.requested_at,
        'finished_at', NEW.finished_at);
    IF NEW.record_type = 'exam' THEN
        PERFORM mockbook_internal.send_message(
            mockbook_internal.realtime_topic('exam', NEW.record_key), 'refresh', v_message);
    ELSE
        SELECT c.email INTO v_email
        FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.student_id = CASE NEW.record_type WHEN 'student' THEN NEW.record_key
                                 ELSE (SELECT b.student_id FROM hubspot_sync.hubspot_bookings AS b
                                       WHERE b.id = NEW.record_key::uuid) END;
        PERFORM mockbook_internal.send_message(
            mockbook_internal.realtime_topic('student', v_email), 'refresh', v_message);
    END IF;
    PERFORM mockbook_internal.send_message(mockbook_internal.realtime_topic('admin'), 'refresh',
                                           v_message);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.broadcast_refresh_outcome() IS
'Trigger: at the commit that writes a refresh request''s outcome, sends it (event ''refresh'':
{request_id, record_type, record_key, hubspot_id, outcome, detail, requested_at, finished_at}) on
the exam''s topic or the student''s (the booking''s student''s), and on the admins''. Deferred
constraint trigger broadcast_refresh_outcome on refresh_requests; SECURITY DEFINER (it fires at the
commit, as the request''s role).';
REVOKE ALL ON FUNCTION mockbook_internal.broadcast_refresh_outcome()
    FROM PUBLIC, anon, authenticated, service_role;

-- ---- the triggers ------------------------------------------------------------------------------
-- Constraint triggers cannot be replaced (CREATE OR REPLACE does not take CONSTRAINT): each is
-- created when missing, so an upgrade keeps whether a school turned broadcasts on or off (a
-- release that changes one drops it in its revision first). A new one starts enabled only where
-- the database has Supabase Realtime.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'hubspot_sync.hubspot_mock_exams'::regclass
                     AND tgname = 'broadcast_exam_seats') THEN
        CREATE CONSTRAINT TRIGGER broadcast_exam_seats
            AFTER UPDATE OF capacity, total_bookings, is_active, scheduled_activation_datetime,
                exam_date, start_time, end_time ON hubspot_sync.hubspot_mock_exams
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW
            EXECUTE FUNCTION mockbook_internal.broadcast_exam_seats();
        IF NOT mockbook_internal.realtime_available() THEN
            ALTER TABLE hubspot_sync.hubspot_mock_exams DISABLE TRIGGER broadcast_exam_seats;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'hubspot_sync.waitlist_entries'::regclass
                     AND tgname = 'broadcast_waitlist_change') THEN
        CREATE CONSTRAINT TRIGGER broadcast_waitlist_change
            AFTER UPDATE OF status, offer_expires_at, mock_exam_id ON hubspot_sync.waitlist_entries
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW
            EXECUTE FUNCTION mockbook_internal.broadcast_waitlist_change();
        IF NOT mockbook_internal.realtime_available() THEN
            ALTER TABLE hubspot_sync.waitlist_entries DISABLE TRIGGER broadcast_waitlist_change;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'hubspot_sync.hubspot_bookings'::regclass
                     AND tgname = 'broadcast_booking_change') THEN
        CREATE CONSTRAINT TRIGGER broadcast_booking_change
            AFTER INSERT OR UPDATE OF is_active, attendance, associated_mock_exam, mock_type,
                exam_date, start_time, end_time ON hubspot_sync.hubspot_bookings
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW
            EXECUTE FUNCTION mockbook_internal.broadcast_booking_change();
        IF NOT mockbook_internal.realtime_available() THEN
            ALTER TABLE hubspot_sync.hubspot_bookings DISABLE TRIGGER broadcast_booking_change;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'hubspot_sync.hubspot_contact_credits'::regclass
                     AND tgname = 'broadcast_credit_change') THEN
        CREATE CONSTRAINT TRIGGER broadcast_credit_change
            AFTER UPDATE OF sj_credits, cs_credits, sjmini_credits, mock_discussion_token,
                shared_mock_credits ON hubspot_sync.hubspot_contact_credits
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW
            -- (a WHEN is parsed again for every statement that writes the table: kept short)
            WHEN (coalesce(current_setting('mockbook.credit_booking', true), '') = '')
            EXECUTE FUNCTION mockbook_internal.broadcast_credit_change();
        IF NOT mockbook_internal.realtime_available() THEN
            ALTER TABLE hubspot_sync.hubspot_contact_credits DISABLE TRIGGER broadcast_credit_change;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'hubspot_sync.refresh_requests'::regclass
                     AND tgname = 'broadcast_refresh_outcome') THEN
        CREATE CONSTRAINT TRIGGER broadcast_refresh_outcome
            AFTER INSERT OR UPDATE OF outcome ON hubspot_sync.refresh_requests
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW
            EXECUTE FUNCTION mockbook_internal.broadcast_refresh_outcome();
        IF NOT mockbook_internal.realtime_available() THEN
            ALTER TABLE hubspot_sync.refresh_requests DISABLE TRIGGER broadcast_refresh_outcome;
        END IF;
    END IF;
END
$$;

SELECT mockbook_internal.apply_realtime_policies();
