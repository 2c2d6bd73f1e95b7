-- Undo db/functions/internal/refresh_analytics.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.refresh_analytics;
