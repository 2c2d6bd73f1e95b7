-- Undo db/functions/internal/rule_max_active_per_week.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.rule_max_active_per_week;
