-- Undo db/functions/internal/trace_record.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.trace_record;
