-- Frozen copy of db/functions/api/create_booking.sql (changed).
/**
 * Why: the student-facing booking. It checks its own arguments and hands the rest to the shared
 * booking pipeline, mockbook_internal.book (mode 'credit'). The contract is the COMMENT below.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.create_booking(
    p_student_id text,
    p_email text,
    p_mock_exam_id text,
    p_idempotency_key text,
    p_attending_location text DEFAULT NULL,
    p_dominant_hand text DEFAULT NULL,
    p_student_name text DEFAULT NULL,
    p_mock_set text DEFAULT NULL,
    p_booking_id text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_claims jsonb;
BEGIN
    -- 1. arguments: a well-formed call passes one expression (each term one of the checks', or
    -- stricter; cheaper than eight calls); any other goes through the checks, which name the field
    IF NOT coalesce(
           p_student_id ~ '^[A-Z0-9]+$' AND length(p_student_id) <= 64
           AND p_email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
           AND length(p_email) <= 254
           AND btrim(p_mock_exam_id) <> '' AND length(p_mock_exam_id) <= 255
           AND length(p_idempotency_key) BETWEEN 1 AND 255
           AND NOT starts_with(lower(p_idempotency_key), 'waitlist-offer-')
           AND (p_attending_location IS NULL
                OR p_attending_location = ANY (mockbook_internal.locations()))
           AND (p_dominant_hand IS NULL OR length(p_dominant_hand) <= 32)
           AND (p_student_name IS NULL OR length(p_student_name) <= 255)
           AND (p_booking_id IS NULL
                OR (length(p_booking_id) <= 255 AND btrim(p_booking_id) <> ''))
           AND (p_mock_set IS NULL OR p_mock_set IN ('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H')),
           false) THEN
        PERFORM mockbook_internal.validate_booking_args(p_student_id, p_email, p_mock_exam_id,
                                                   p_idempotency_key, p_attending_location,
                                                   p_dominant_hand);
        PERFORM mockbook_internal.check_text_arg('p_student_name', p_student_name, false, 255);
        PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, false, 255);
        IF p_booking_id IS NOT NULL AND btrim(p_booking_id) = '' THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                'p_booking_id must not be blank.');
        END IF;
        IF p_mock_set IS NOT NULL AND p_mock_set NOT IN ('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H') THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                'p_mock_set must be one of A-H.');
        END IF;
    END IF;

    -- 2.-10. the booking pipeline (mode 'credit'), its common case in few statements
    -- who acts: a student's JWT books only for that student
    -- claims naming a user (request_actor's own test) go to the one helper; others pass it
    v_claims := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    IF jsonb_typeof(v_claims) = 'object'
       AND coalesce(nullif(btrim(v_claims ->> 'email'), ''),
                    nullif(btrim(v_claims ->> 'sub'), '')) IS NOT NULL THEN
        PERFORM mockbook_internal.check_student_caller(p_student_id, 'create_booking');
    END IF;

    RETURN mockbook_internal.book(
        'credit', p_student_id, p_email, p_mock_exam_id, p_idempotency_key,
        mockbook_internal.booking_fingerprint('booking', p_student_id, lower(p_email),
                                         p_mock_exam_id, p_attending_location, p_dominant_hand),
        p_attending_location, p_dominant_hand, p_student_name, p_mock_set, p_booking_id);
EXCEPTION
    WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_busy(SQLSTATE);
        RAISE;
    -- the server cannot take the call (disk full, read-only, out of resources): one documented
    -- code, never a raw SQLSTATE naming a file; nothing of the call remains
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.create_booking(text, text, text, text, text, text, text, text, text) IS
'A student books a seat and pays one credit. Checks, in this order (the first that fails is the
error):

| step | check | error |
|---|---|---|
| 1 | arguments: student id `^[A-Z0-9]+$`, an email, key 1–255 characters and not starting with `waitlist-offer-` (reserved for `accept_offer`''s bookings, see *Idempotency*), text lengths (name and booking code ≤ 255, mock set A–H) | `INVALID_ARGUMENT` (names the field) |
| 2 | idempotency key: already used with the same request (student, lower(email), exam, location, hand) → the first call''s booking is returned with `"idempotent_replay": true` and nothing changes; used with a different request → | `IDEMPOTENCY_KEY_REUSED` |
| 3 | the student exists with that email | `CONTACT_NOT_FOUND` |
| 4 | the exam exists, is open (`is_active` true/active, or scheduled and its activation time reached), not over (its end passed, or its day before today in the business time zone) and not started unless `allow_booking_after_start` is on (a start that cannot be read counts from the start of its day: see *Exam times*) | `EXAM_NOT_FOUND`, `EXAM_NOT_ACTIVE`, `EXAM_IN_PAST` |
| 5 | Situational Judgment and Mini-mock need `p_attending_location` (`mississauga`, `calgary`, `vancouver`, `montreal`, `richmond_hill`); Clinical Skills needs `p_dominant_hand` | `INVALID_ARGUMENT` |
| 6 | every exam in the exam''s `prerequisite_exam_ids` has an Active or Completed booking of the student | `PREREQUISITE_NOT_MET` (lists them) |
| 7 | no other Active/Completed booking of the same mock type on the same day | `DUPLICATE_BOOKING` |
| 8 | a free seat (`total_bookings` + seats held by waitlist offers `< capacity`; the student''s own offer on the exam, while held, does not count: the booking takes that seat; see *Waitlist*) | `EXAM_FULL` |
| 8a | the scheduling rules, when turned on (see *Scheduling rules*): not after the start / within the minimum notice, no overlapping Active session, the per-type and per-week limits | `BOOKING_CLOSED`, `TIME_CONFLICT` (names the other booking), `BOOKING_LIMIT_REACHED` |
| 9 | a credit: SJ → `sj_credits`, else `shared_mock_credits`; CS → `cs_credits`, else `shared_mock_credits`; Mini-mock → `sjmini_credits` only; Mock Discussion → `mock_discussion_token` only | `INVALID_EXAM_TYPE`, `INSUFFICIENT_CREDITS` |
| 10 | insert the booking (Active, `hubspot_id` null, exam date/type/times copied, code `p_booking_id` or a generated `BK-YYYYMMDD-XXXXXX`; a code already in use, or one starting with `WL-` (reserved for waitlist places) → `INVALID_ARGUMENT`), spend the credit relatively (`balance - 1`, one ledger row), `total_bookings + 1` | |

Two concurrent calls with one key make one booking and one deduction; the other gets the replay.
A call that failed stored nothing, so retrying its key tries again (a retry after `EXAM_FULL` may
succeed once a seat is freed). Also raises `BUSY`.

Returns `{success, idempotent_replay, id, booking_id, status, mock_exam_id, mock_type, exam_date,
starts_at, ends_at, time_zone, student_id, token_used, credit_field, credits_remaining,
total_bookings, capacity}` — `id` is the row''s uuid (time-ordered, version 7: greater for a later
booking), `booking_id` the code, `starts_at` /
`ends_at` the exam''s instants (see [Exam times](#exam-times)) and `time_zone` the business time
zone, `credit_field` the field that paid, `credits_remaining` its new balance.

Locks: the key''s advisory lock, then the contact row, the student''s open waitlist places on
the exam and on the other exams of its mock type and day (ascending id; closed, see
*Waitlist*), then by the last statements the exam row and those of the exams whose closed offer
is passed on (ascending HubSpot id).
The contact is locked as soon as it is found, then steps 4–9 run once, in order, so the first
failing check is the error (a full exam answers `EXAM_FULL`, never `INSUFFICIENT_CREDITS`) and the
student''s bookings and balances cannot change between the checks and the writes (the
contact''s lock is contended only by calls of the same student); the booking is inserted and paid; last, the seat is
taken by `UPDATE … SET total_bookings = total_bookings + 1 WHERE … AND total_bookings < capacity`.
When another call took the last seat meanwhile, that update finds no row: `EXAM_FULL`, and the
booking and the payment roll back with it. An exam closed meanwhile answers `EXAM_NOT_ACTIVE` /
`EXAM_IN_PAST`; one whose type, date, times, mock set or prerequisites were edited meanwhile
answers `BUSY` (the same call again decides on the new values).';
REVOKE ALL ON FUNCTION hubspot_sync.create_booking(text, text, text, text, text, text, text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.create_booking(text, text, text, text, text, text, text, text, text)
    TO service_role;
