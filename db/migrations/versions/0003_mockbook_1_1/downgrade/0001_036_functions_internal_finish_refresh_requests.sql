-- Undo db/functions/internal/finish_refresh_requests.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.finish_refresh_requests;
