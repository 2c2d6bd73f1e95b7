-- Frozen: pull cursors live in sync_metadata.cursor.
SET lock_timeout = '5s';
ALTER TABLE hubspot_sync.sync_metadata ADD COLUMN IF NOT EXISTS cursor jsonb NOT NULL DEFAULT '{}';
