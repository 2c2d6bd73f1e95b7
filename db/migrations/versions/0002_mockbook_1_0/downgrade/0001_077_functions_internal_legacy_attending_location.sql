-- Undo db/functions/internal/legacy_attending_location.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.legacy_attending_location;
