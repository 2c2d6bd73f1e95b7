-- Undo db/functions/api/set_business_timezone.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.set_business_timezone;
