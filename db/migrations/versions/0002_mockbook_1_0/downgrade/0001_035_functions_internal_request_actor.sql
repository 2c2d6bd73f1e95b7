-- Undo db/functions/internal/request_actor.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.request_actor;
