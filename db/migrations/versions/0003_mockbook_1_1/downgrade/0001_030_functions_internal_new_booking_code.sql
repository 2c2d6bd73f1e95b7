-- Undo db/functions/internal/new_booking_code.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.new_booking_code;
-- frozen: versions/0002_mockbook_1_0/upgrade/0045_099_functions_internal_new_booking_code.sql sha256:def4daf71576494a6282810e20cb0ceb78b3821f65c1927af960823c97d27f87
