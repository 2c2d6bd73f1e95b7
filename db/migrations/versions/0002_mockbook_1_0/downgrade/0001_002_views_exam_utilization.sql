-- Undo db/views/exam_utilization.sql (new).
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.exam_utilization;
