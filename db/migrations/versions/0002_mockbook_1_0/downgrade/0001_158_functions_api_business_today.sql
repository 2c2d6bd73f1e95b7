-- Undo db/functions/api/business_today.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.business_today;
