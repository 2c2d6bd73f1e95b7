-- Undo db/functions/api/list_contact_bookings.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.list_contact_bookings;
