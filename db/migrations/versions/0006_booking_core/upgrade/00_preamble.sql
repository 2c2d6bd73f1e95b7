SET lock_timeout = '5s';
SET check_function_bodies = off;
-- Hand-written: the production functions of the booking API are replaced by mockbook's (same
-- names; relative credit changes, errors through raise_error). Those whose production signature
-- differs from mockbook's would stay beside the new one as overloads: they are dropped first.
-- Each is recorded in hubspot_sync.adoption_report.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure::text AS fn, p.oid IN (
                   to_regprocedure('hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text)'),
                   to_regprocedure('hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text, text, integer)'),
                   to_regprocedure('hubspot_sync.cancel_booking_atomic(uuid, text, integer)'))
               AS overload
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'hubspot_sync'::regnamespace
          AND p.proname IN ('create_booking_atomic', 'create_booking_atomic_v1',
                            'cancel_booking_atomic', 'get_booking', 'get_contact_credits',
                            'check_idempotency_key', 'increment_exam_bookings')
        ORDER BY 1
    LOOP
        IF r.overload THEN
            EXECUTE format('DROP FUNCTION %s', r.fn);
        END IF;
        INSERT INTO hubspot_sync.adoption_report (revision, action, object)
        VALUES ('0006_booking_core',
                CASE WHEN r.overload THEN 'dropped production function (replaced by mockbook''s)'
                     ELSE 'replaced production function by mockbook''s (same signature)' END,
                r.fn);
    END LOOP;
END
$$;
