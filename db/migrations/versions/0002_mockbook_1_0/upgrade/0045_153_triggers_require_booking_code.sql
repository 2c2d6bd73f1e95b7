-- Frozen copy of db/triggers/require_booking_code.sql (new).
/**
 * Why: every new booking needs a code (HubSpot's upsert key), while rows adopted without one must
 * stay updatable, which a CHECK constraint would forbid. The contract is the COMMENT ON FUNCTION
 * below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.require_booking_code()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    IF NEW.booking_id IS NULL AND (TG_OP = 'INSERT' OR OLD.booking_id IS NOT NULL) THEN
        RAISE EXCEPTION 'hubspot_bookings.booking_id is required for new bookings'
            USING ERRCODE = 'not_null_violation', COLUMN = 'booking_id',
                  TABLE = 'hubspot_bookings', SCHEMA = 'hubspot_sync';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION mockbook_internal.require_booking_code() IS
'Trigger: a booking inserted (or updated) without a booking code is refused (23502).

BEFORE INSERT OR UPDATE OF booking_id on hubspot_bookings. A booking inserted without a
booking code, or an update that clears one, fails with not_null_violation (23502). Rows from
before mockbook that never had a code stay as they are and can still be updated (cancelled,
marked, synced) — which a CHECK constraint, even NOT VALID, would forbid.

The trigger carries WHEN (NEW.booking_id IS NULL): a row with a code (every booking the
functions write) never calls the function (one PL/pgSQL trigger call fewer per
booking); the function decides the NULL cases.';
REVOKE ALL ON FUNCTION mockbook_internal.require_booking_code() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE TRIGGER require_booking_code
    BEFORE INSERT OR UPDATE OF booking_id ON hubspot_sync.hubspot_bookings
    FOR EACH ROW WHEN (NEW.booking_id IS NULL)
    EXECUTE FUNCTION mockbook_internal.require_booking_code();
