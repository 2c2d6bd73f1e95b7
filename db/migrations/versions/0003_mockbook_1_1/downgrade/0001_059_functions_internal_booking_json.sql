-- Undo db/functions/internal/booking_json.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.booking_json;
-- frozen: versions/0002_mockbook_1_0/upgrade/0045_041_functions_internal_booking_json.sql sha256:6670258526560ebe4de0692a6429a61fc50269fec90a8a52fd3efbb3e79911a8
