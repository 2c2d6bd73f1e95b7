-- Undo db/functions/internal/booking_json.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.booking_json;
-- frozen: versions/0002_mockbook_1_0/upgrade/0114_functions_internal_booking_json.sql sha256:164282bd27ea914a92d9cacaf61c76d884a1ec373aa1d85626dbc76430d0e195
