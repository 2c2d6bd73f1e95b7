-- Undo db/functions/internal/business_timezone.sql (changed).
DROP FUNCTION IF EXISTS mockbook_internal.stamp_business_timezone;
DROP FUNCTION IF EXISTS mockbook_internal.stored_business_timezone;
-- frozen: versions/0002_mockbook_1_0/upgrade/0045_047_functions_internal_business_timezone.sql sha256:d897ab10a78e63b838d97976bc5358343215074aeaba9db32516149cb5bef438
