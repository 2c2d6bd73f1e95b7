-- Frozen copy of db/triggers/touch_updated_at.sql (new).
/**
 * Why: updated_at must mean "a real change", not "the glue stamped its sync bookkeeping", so the
 * push and the pull can tell local changes from their own writes. The contract is the COMMENT ON
 * FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.touch_updated_at()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    -- with an exam's instants derived from its times (derive_exam_instants): they change only
    -- with the columns they come from, or when every exam's are filled in at once
    v_bookkeeping constant text[] := ARRAY['synced_at', 'hubspot_last_sync_at', 'updated_at',
                                           'exam_starts_at', 'exam_ends_at', 'time_problem'];
BEGIN
    -- the statement already wrote updated_at = now(): whether anything else changed or not,
    -- updated_at ends up now(), so skip the comparison (the booking functions' updates)
    IF NEW.updated_at IS NOT DISTINCT FROM now() THEN
        RETURN NEW;
    END IF;
    IF (to_jsonb(NEW) - v_bookkeeping) IS DISTINCT FROM (to_jsonb(OLD) - v_bookkeeping) THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION mockbook_internal.touch_updated_at() IS
'Trigger: sets updated_at = now() when an UPDATE changes any column other than synced_at, hubspot_last_sync_at and updated_at.

BEFORE UPDATE, FOR EACH ROW, on hubspot_contact_credits, hubspot_mock_exams and
hubspot_bookings. When any column other than the sync bookkeeping columns (synced_at,
hubspot_last_sync_at, updated_at, an exam''s derived instants) changes, sets NEW.updated_at to
now() (the transaction''s
time), overriding a value the statement may have written. An UPDATE that only touches
bookkeeping columns keeps the updated_at it wrote (or had), so the glue''s sync stamps do not
make a row look modified.

The triggers carry WHEN (NEW.updated_at IS DISTINCT FROM now()): an UPDATE that already wrote
updated_at = now() (every booking function''s) ends with updated_at = now() whatever else it
changed, so the function is not called at all (two PL/pgSQL trigger calls fewer per
booking). PostgreSQL evaluates a BEFORE trigger''s WHEN just before the function would run, so
this is the function''s own first test, made without the call.';
REVOKE ALL ON FUNCTION mockbook_internal.touch_updated_at() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE TRIGGER touch_updated_at
    BEFORE UPDATE ON hubspot_sync.hubspot_contact_credits
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now())
    EXECUTE FUNCTION mockbook_internal.touch_updated_at();

CREATE OR REPLACE TRIGGER touch_updated_at
    BEFORE UPDATE ON hubspot_sync.hubspot_mock_exams
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now())
    EXECUTE FUNCTION mockbook_internal.touch_updated_at();

CREATE OR REPLACE TRIGGER touch_updated_at
    BEFORE UPDATE ON hubspot_sync.hubspot_bookings
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM now())
    EXECUTE FUNCTION mockbook_internal.touch_updated_at();
