-- Undo db/schema/23_exam_hubspot_sync.sql (new).
DROP TABLE IF EXISTS hubspot_sync.exam_hubspot_sync;
