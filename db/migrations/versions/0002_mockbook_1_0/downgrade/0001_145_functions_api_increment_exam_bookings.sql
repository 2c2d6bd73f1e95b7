-- Undo db/functions/api/increment_exam_bookings.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.increment_exam_bookings;
