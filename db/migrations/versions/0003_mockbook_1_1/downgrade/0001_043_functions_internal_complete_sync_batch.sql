-- Undo db/functions/internal/complete_sync_batch.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.complete_sync_batch;
-- frozen: versions/0002_mockbook_1_0/upgrade/0045_065_functions_internal_complete_sync_batch.sql sha256:18e7d6911e1ddfd6be5f499ca1d4838100349d12ee06834ed27410111363a5de
