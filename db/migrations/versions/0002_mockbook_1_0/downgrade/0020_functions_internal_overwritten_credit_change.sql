-- Undo db/functions/internal/overwritten_credit_change.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.overwritten_credit_change;
DROP FUNCTION IF EXISTS hubspot_sync.overwritten_credit_change;
