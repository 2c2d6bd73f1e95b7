-- Undo db/functions/internal/realtime_topic.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.realtime_topic;
