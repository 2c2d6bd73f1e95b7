-- Undo db/functions/internal/rule_max_active_per_type.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.rule_max_active_per_type;
