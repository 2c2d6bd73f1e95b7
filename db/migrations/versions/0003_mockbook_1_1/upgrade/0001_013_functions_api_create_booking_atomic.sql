-- Frozen copy of db/functions/api/create_booking_atomic.sql (changed).
/**
 * Why: the original booking app calls this name with twelve named arguments and its own
 * balance arithmetic. It maps the app's spellings, then runs the booking pipeline
 * (mockbook_internal.book, mode 'legacy'): the app's numbers are checked and noted, never written,
 * so two concurrent bookings of one student both deduct.
 * The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.create_booking_atomic(
    p_booking_id text,
    p_student_id text,
    p_student_email text,
    p_mock_exam_id text,
    p_student_name text,
    p_token_used text,
    p_attending_location text,
    p_dominant_hand text,
    p_idempotency_key text,
    p_credit_field text,
    p_new_credit_value integer,
    p_mock_set text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_location text;
    v_result jsonb;
    v_key text;
    v_rebook integer := 0;
BEGIN
    -- production's signature: a not-found error keeps the words the original apps match on
    PERFORM pg_catalog.set_config('mockbook.compat_messages', 'on', true);
    PERFORM mockbook_internal.check_student_caller(p_student_id, 'create_booking_atomic');
    -- 1. arguments (the original app's location spellings mapped to codes first)
    v_location := mockbook_internal.legacy_attending_location(p_attending_location);
    PERFORM mockbook_internal.validate_booking_args(p_student_id, p_student_email, p_mock_exam_id,
                                               p_idempotency_key, v_location,
                                               p_dominant_hand, 'p_student_email');
    PERFORM mockbook_internal.check_text_arg('p_student_name', p_student_name, false, 255);
    PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, false, 255);
    IF p_booking_id IS NOT NULL AND btrim(p_booking_id) = '' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_booking_id must not be blank.');
    END IF;
    PERFORM mockbook_internal.check_text_arg('p_token_used', p_token_used, false, 255);
    PERFORM mockbook_internal.check_credit_field('p_credit_field', p_credit_field);
    IF p_new_credit_value IS NULL OR p_new_credit_value < 0 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_new_credit_value is required and not negative.');
    END IF;
    IF p_mock_set IS NOT NULL
       AND NOT p_mock_set = ANY (enum_range(NULL::hubspot_sync.mock_set_letter)::text[]) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_mock_set must be one of A-H.');
    END IF;

    -- 2.-10. the booking pipeline (mode 'legacy'; create_booking's fingerprint)
    -- 11. the original app's key repeats within a 5-minute bucket: a key whose booking is no
    -- longer Active/Completed is a new request, booked under <key>~rebook-1, -2, ... (a retry of
    -- that replays it), never an error or a stale replay. Only the key's advisory locks are held
    -- between the attempts (a replay locks no row): no cycle.
    v_key := p_idempotency_key;
    LOOP
        v_result := mockbook_internal.book(
            'legacy', p_student_id, p_student_email, p_mock_exam_id, v_key,
            mockbook_internal.booking_fingerprint('booking', p_student_id, lower(p_student_email),
                                             p_mock_exam_id, v_location, p_dominant_hand),
            v_location, p_dominant_hand, p_student_name, p_mock_set, p_booking_id,
            p_credit_field := p_credit_field, p_new_credit_value := p_new_credit_value,
            p_token_used := p_token_used);
        EXIT WHEN NOT (v_result ->> 'idempotent_replay')::boolean
                  OR v_result ->> 'status' IN ('Active', 'Completed');
        v_rebook := v_rebook + 1;
        IF v_rebook > 20 OR length(p_idempotency_key) > 240 THEN
            PERFORM mockbook_internal.raise_error('IDEMPOTENCY_KEY_REUSED',
                format('The key''s booking %s is %s: a new booking needs a new idempotency key.',
                       v_result ->> 'booking_code', v_result ->> 'status'));
        END IF;
        v_key := p_idempotency_key || '~rebook-' || v_rebook;
    END LOOP;
    RETURN v_result;
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

COMMENT ON FUNCTION hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text) IS
'Deprecated: use create_booking.
Production''s signature exactly (the original booking API passes all twelve named arguments;
the app computes the booking code, the credit field and the new absolute balance itself). Runs
the `create_booking` logic and **verifies** the app''s numbers instead of writing them:
`p_credit_field` must be able to pay for the exam''s type (the app''s choice is honoured, e.g.
shared before sj), `p_token_used` if given must be that field''s label, `p_mock_set` NULL or A–H,
and `p_new_credit_value` is compared with the true balance − 1 read under the contact lock,
**never written**: the credit is spent relatively (−1), and when the app''s value differs (two
bookings of one student at once, both computed from the same balance) the booking is made all
the same and the ledger row''s `note` records what the app expected: both book and both deduct.
A key whose booking is no longer Active or Completed (cancelled, failed) books again (the app
repeats its key when a student rebooks within minutes), under the key''s next rebook key
(`<key>~rebook-N`, N = 1…20, the first not cancelled; a retry replays it); a key over 240
characters or a 21st rebook → `IDEMPOTENCY_KEY_REUSED`. A `p_booking_id` another booking
already has (the app reuses its
`<mock type>-<student id>-<date>` code when a student cancels and rebooks) is stored as
`<code>-R<n>`, the code kept in `legacy_booking_id`. Returns the `create_booking` result with
production''s keys: `success`, `booking_id` (the booking''s uuid), `booking_code` (the code
stored), `contact_hubspot_id`, `mock_exam_hubspot_id`. Errors: those of `create_booking`. `create_booking_atomic_v1` (same parameters
without `p_mock_set`) is the same call with `p_mock_set` NULL.

`p_attending_location` (here only, not in `create_booking`) also takes the values the original
booking app sends, mapped to a location code by `legacy_attending_location` before any other step (the
idempotency fingerprint and the stored row hold the code, so `''Richmond Hill''` and
`''richmond_hill''` with one key are one booking):

| the app sends | stored |
|---|---|
| a code, or its name in any case (`Mississauga`, `Calgary`, `Vancouver`, `Montreal`, `Richmond Hill`, `richmond-hill`) | the code |
| a campus with a room (`Mississauga - B9`, `Mississauga - Lab D`: an exam''s location) | the campus''s code (`mississauga`) |
| NULL, blank, `TBD` (the exam has no location), `Online`, `Virtual`, `Hybrid`, `In-Person` (a format, not a campus) | NULL — then step 5 still requires a location for Situational Judgment and Mini-mock → `INVALID_ARGUMENT` |
| anything else | `INVALID_ARGUMENT` listing these spellings |

`p_dominant_hand` is stored as sent (free text, at most 32): the app sends a JSON `true`, which
PostgREST passes as `''true''` (production''s and HubSpot''s spelling for right-handed), or `''Right''`.';
REVOKE ALL ON FUNCTION hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text)
    TO service_role;
