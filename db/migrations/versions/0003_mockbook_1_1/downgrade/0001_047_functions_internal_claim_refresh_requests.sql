-- Undo db/functions/internal/claim_refresh_requests.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.claim_refresh_requests;
