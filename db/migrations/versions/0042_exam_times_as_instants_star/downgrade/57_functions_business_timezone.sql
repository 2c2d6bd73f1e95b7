-- Undo db/functions/business_timezone.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.business_timezone;
