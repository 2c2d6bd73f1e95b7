SET lock_timeout = '5s';
SET check_function_bodies = off;
-- Hand-written: the production functions of the booking API are replaced by mockbook's (same
-- names; relative credit changes, errors through raise_error). Those whose production signature
-- differs from mockbook's would stay beside the new one as overloads: they are dropped first.
-- Each is recorded in hubspot_sync.adoption_report. A function of these names whose signature
-- is none of the dump's (an older version the database still carries, e.g. an 11-argument
-- create_booking_atomic writing absolute balances) is dropped too, its definition reported
-- (old_value) so a DBA can recreate it: no name is left overloaded.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure::text AS fn, p.oid IN (
                   to_regprocedure('hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text)'),
                   to_regprocedure('hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text, text, integer)'),
                   to_regprocedure('hubspot_sync.cancel_booking_atomic(uuid, text, integer)'))
               AS overload,
               NOT coalesce(p.oid = ANY (ARRAY[
                   to_regprocedure('hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text)'),
                   to_regprocedure('hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text, text, integer)'),
                   to_regprocedure('hubspot_sync.cancel_booking_atomic(uuid, text, integer)'),
                   to_regprocedure('hubspot_sync.get_booking(uuid, text, text)'),
                   to_regprocedure('hubspot_sync.get_contact_credits(text, text, uuid, text)'),
                   to_regprocedure('hubspot_sync.check_idempotency_key(text)'),
                   to_regprocedure('hubspot_sync.increment_exam_bookings(text, integer)')]::oid[]),
                   false)
               AS legacy,
               pg_catalog.pg_get_functiondef(p.oid) AS definition
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'hubspot_sync'::regnamespace
          AND p.proname IN ('create_booking_atomic', 'create_booking_atomic_v1',
                            'cancel_booking_atomic', 'get_booking', 'get_contact_credits',
                            'check_idempotency_key', 'increment_exam_bookings')
        ORDER BY 1
    LOOP
        IF r.overload OR r.legacy THEN
            EXECUTE format('DROP FUNCTION %s', r.fn);
        END IF;
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value)
        VALUES ('0002_mockbook_1_0',
                CASE WHEN r.legacy THEN 'dropped legacy overload (not in the production dump)'
                     WHEN r.overload THEN 'dropped production function (replaced by mockbook''s)'
                     ELSE 'replaced production function by mockbook''s (same signature)' END,
                r.fn, CASE WHEN r.legacy THEN r.definition END);
    END LOOP;
END
$$;
