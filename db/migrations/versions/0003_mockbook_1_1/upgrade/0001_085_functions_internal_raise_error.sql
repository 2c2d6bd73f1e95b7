-- Frozen copy of db/functions/internal/raise_error.sql (changed).
-- Why: error codes, their SQLSTATEs and default remedies live in one place, so every function
-- raises its documented errors the same way and PostgREST turns them into HTTP statuses.
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
        ('REFRESH_LIMIT_REACHED', 'PT429', 'Wait a minute before asking again; a live page learns of changes from its Realtime messages without asking.'),
        ('BUSY', 'PT503', 'The exam is busy; retry the same call (same idempotency key) shortly.'),
        ('UNAVAILABLE', 'PT503', 'Nothing was changed; retry the same call (same idempotency key) once the database takes writes again.')
    ) AS e(code, sqlstate, hint)
    WHERE e.code = p_code;

    IF v_state IS NULL THEN
        RAISE EXCEPTION 'mockbook bug: unknown error code %', p_code USING ERRCODE = 'XX000';
    END IF;
    -- the compatibility functions keep the words the original apps match ('not found')
    IF v_state = 'PT404' AND pg_catalog.current_setting('mockbook.compat_messages', true) = 'on' THEN
        v_message := p_code || ': '
                     || lower(replace(left(p_code, -length('_NOT_FOUND')), '_', ' ')) || ' not found';
    END IF;
    RAISE EXCEPTION USING ERRCODE = v_state, MESSAGE = v_message, DETAIL = p_detail,
                          HINT = coalesce(p_hint, v_hint);
END
$$;

COMMENT ON FUNCTION mockbook_internal.raise_error(text, text, text) IS
'Internal: raises a documented mockbook error (SQLSTATE PTnnn, MESSAGE = code, DETAIL, HINT; under a
compatibility function a PT404''s MESSAGE adds "<thing> not found"). STABLE, so STABLE callers may
raise through it; not IMMUTABLE, which the planner would evaluate (and raise) while planning.';
REVOKE ALL ON FUNCTION mockbook_internal.raise_error(text, text, text) FROM PUBLIC, anon, authenticated, service_role;
