-- Undo db/triggers/broadcast.sql (new).
DROP TRIGGER IF EXISTS broadcast_refresh_outcome ON hubspot_sync.refresh_requests;
DROP TRIGGER IF EXISTS broadcast_credit_change ON hubspot_sync.hubspot_contact_credits;
DROP TRIGGER IF EXISTS broadcast_booking_change ON hubspot_sync.hubspot_bookings;
DROP TRIGGER IF EXISTS broadcast_waitlist_change ON hubspot_sync.waitlist_entries;
DROP TRIGGER IF EXISTS broadcast_exam_seats ON hubspot_sync.hubspot_mock_exams;
DROP FUNCTION IF EXISTS mockbook_internal.broadcast_refresh_outcome;
DROP FUNCTION IF EXISTS mockbook_internal.broadcast_credit_change;
DROP FUNCTION IF EXISTS mockbook_internal.broadcast_booking_change;
DROP FUNCTION IF EXISTS mockbook_internal.broadcast_waitlist_change;
DROP FUNCTION IF EXISTS mockbook_internal.broadcast_exam_seats;
