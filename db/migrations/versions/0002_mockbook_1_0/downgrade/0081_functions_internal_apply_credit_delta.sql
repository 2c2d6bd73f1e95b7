-- Undo db/functions/internal/apply_credit_delta.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.apply_credit_delta;
DROP FUNCTION IF EXISTS hubspot_sync.apply_credit_delta;
