-- Undo db/functions/list_contact_bookings.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.list_contact_bookings;
