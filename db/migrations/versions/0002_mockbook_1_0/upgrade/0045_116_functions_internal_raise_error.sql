-- Frozen copy of db/functions/internal/raise_error.sql (new).
/**
 * Why: error codes, their SQLSTATEs and default remedies live in one place, so every function
 * raises its documented errors the same way and PostgREST turns them into HTTP statuses. The
 * table of codes is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.raise_error(p_code text, p_detail text,
                                                   p_hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_state text;
    v_hint text;
    v_message text := p_code;
BEGIN
    SELECT e.sqlstate, e.hint INTO v_state, v_hint
    FROM (VALUES
        ('INVALID_ARGUMENT', 'PT400', 'Correct the named argument and call again.'),
        ('INVALID_EXAM_TYPE', 'PT400', 'The exam has a mock type mockbook does not know; fix the exam in HubSpot.'),
        ('INSUFFICIENT_CREDITS', 'PT402', 'The student needs more credits for this mock type.'),
        ('FORBIDDEN', 'PT403', 'Only the booking''s own student, or an admin (an admin''s JWT, or the service-role key), may do this.'),
        ('CONTACT_NOT_FOUND', 'PT404', 'Check the student id and email, or sync the contact from HubSpot.'),
        ('EXAM_NOT_FOUND', 'PT404', 'Check the exam''s HubSpot id, or pull exams from HubSpot.'),
        ('BOOKING_NOT_FOUND', 'PT404', 'Check the booking id (uuid, booking code or HubSpot id).'),
        ('OFFER_NOT_FOUND', 'PT404', 'Only a student holding a waitlist offer can accept it; join the waitlist of a full exam first.'),
        ('EXAM_FULL', 'PT409', 'Choose another exam session, or join its waitlist.'),
        ('DUPLICATE_BOOKING', 'PT409', 'The student already has a booking of this mock type on that day.'),
        ('ALREADY_CANCELLED', 'PT409', 'Nothing to do: the booking is already cancelled.'),
        ('NOT_CANCELLABLE', 'PT409', 'Completed bookings cannot be cancelled.'),
        ('EXAM_NOT_ACTIVE', 'PT409', 'The exam is not open for booking.'),
        ('EXAM_IN_PAST', 'PT409', 'The exam has started or its day has passed; choose a later session.'),
        ('AMBIGUOUS_REFERENCE', 'PT409', 'The reference names more than one booking: pass the booking''s uuid (id) instead.'),
        ('CREDIT_CONFLICT', 'PT409', 'The balance changed concurrently: read it again and retry.'),
        ('TIME_CONFLICT', 'PT409', 'The student already holds a booking at that time; cancel it or choose another session.'),
        ('BOOKING_CLOSED', 'PT409', 'Booking for this session has closed; choose a later session.'),
        ('CANCELLATION_CLOSED', 'PT409', 'The cancellation deadline has passed; ask an admin to cancel the booking.'),
        ('EXAM_NOT_FULL', 'PT409', 'The exam has free seats: book it instead of joining its waitlist.'),
        ('WAITLIST_FULL', 'PT409', 'The waitlist is full; choose another exam session.'),
        ('OFFER_EXPIRED', 'PT409', 'The offer expired and no longer holds a seat for you; book with create_booking if a seat is free, or join the waitlist again.'),
        ('IDEMPOTENCY_KEY_REUSED', 'PT422', 'Use a new idempotency key for a different request.'),
        ('PREREQUISITE_NOT_MET', 'PT422', 'Book and attend the prerequisite exams first.'),
        ('CAPACITY_BELOW_BOOKED', 'PT422', 'Cancel bookings first or choose a capacity of at least the booked count.'),
        ('REBOOK_NOT_ALLOWED', 'PT422', 'Only Active bookings move, to a bookable exam of the same mock type.'),
        ('BOOKING_LIMIT_REACHED', 'PT422', 'The student holds as many Active bookings as the rules allow; cancel or attend one first.'),
        ('BUSY', 'PT503', 'The exam is busy; retry the same call (same idempotency key) shortly.'),
        ('UNAVAILABLE', 'PT503', 'Nothing was changed; retry the same call (same idempotency key) once the database takes writes again.')
    ) AS e(code, sqlstate, hint)
    WHERE e.code = p_code;

    IF v_state IS NULL THEN
        RAISE EXCEPTION 'mockbook bug: unknown error code %', p_code USING ERRCODE = 'XX000';
    END IF;
    -- the compatibility functions keep the words the original apps match in the message
    -- (rpcError.message.includes('not found')): 'EXAM_NOT_FOUND: exam not found'
    IF v_state = 'PT404' AND pg_catalog.current_setting('mockbook.compat_messages', true) = 'on' THEN
        v_message := p_code || ': '
                     || lower(replace(left(p_code, -length('_NOT_FOUND')), '_', ' ')) || ' not found';
    END IF;
    RAISE EXCEPTION USING ERRCODE = v_state, MESSAGE = v_message, DETAIL = p_detail,
                          HINT = coalesce(p_hint, v_hint);
END
$$;

COMMENT ON FUNCTION mockbook_internal.raise_error(text, text, text) IS
'Internal: raises a documented mockbook error (SQLSTATE PTnnn, MESSAGE = code, DETAIL, HINT; under a compatibility function a PT404''s MESSAGE adds "<thing> not found").

Raises SQLSTATE ''PTnnn'' with MESSAGE = p_code, DETAIL = p_detail (a sentence for people) and
HINT = p_hint or the code''s default remedy. PostgREST turns PTnnn into HTTP status nnn with
{code, message, details, hint}. Every function raises its documented errors through this.

  INVALID_ARGUMENT, INVALID_EXAM_TYPE                                        PT400
  INSUFFICIENT_CREDITS                                                       PT402
  FORBIDDEN                                                                  PT403
  CONTACT_NOT_FOUND, EXAM_NOT_FOUND, BOOKING_NOT_FOUND, OFFER_NOT_FOUND      PT404
  EXAM_FULL, DUPLICATE_BOOKING, ALREADY_CANCELLED, NOT_CANCELLABLE,
  EXAM_NOT_ACTIVE, EXAM_IN_PAST, CREDIT_CONFLICT, TIME_CONFLICT,
  BOOKING_CLOSED, CANCELLATION_CLOSED, EXAM_NOT_FULL, WAITLIST_FULL,
  OFFER_EXPIRED, AMBIGUOUS_REFERENCE                                         PT409
  IDEMPOTENCY_KEY_REUSED, PREREQUISITE_NOT_MET, CAPACITY_BELOW_BOOKED,
  REBOOK_NOT_ALLOWED, BOOKING_LIMIT_REACHED                                  PT422
  BUSY, UNAVAILABLE                                                          PT503

An unknown code is a bug in mockbook and raises internal_error (XX000).
In a transaction where a compatibility function (production''s signatures: the original apps''
calls) set mockbook.compat_messages = ''on'', a PT404''s MESSAGE adds the words the original
apps match on: ''EXAM_NOT_FOUND: exam not found'' (production raised ''Exam % not found in
Supabase''; the admin app answers 404 only when the message includes ''not found'').

STABLE, not VOLATILE: it reads nothing but its own VALUES list and writes nothing, and the
STABLE functions that raise through it (list/read functions, the argument checks) would
otherwise call a VOLATILE function, which plpgsql_check 2.10+ reports ("routine is marked as
STABLE, but expression is VOLATILE"). Not IMMUTABLE: the planner pre-evaluates an IMMUTABLE
call with constant arguments, which would raise while planning a statement whose branch
never calls it. Every call is `PERFORM mockbook_internal.raise_error(...)`: run where it stands.';
REVOKE ALL ON FUNCTION mockbook_internal.raise_error(text, text, text) FROM PUBLIC, anon, authenticated, service_role;
