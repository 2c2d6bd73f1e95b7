-- Undo db/functions/internal/apply_realtime_policies.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.apply_realtime_policies;
