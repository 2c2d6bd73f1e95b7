-- Undo db/functions/internal/insert_booking.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.insert_booking;
-- frozen: versions/0002_mockbook_1_0/upgrade/0045_083_functions_internal_insert_booking.sql sha256:c46071efaa6aa659bf322cd13ffbf1cc30ce750904af1314a4556dadb85185e6
