-- Undo db/functions/internal/lock_waitlist_entry.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.lock_waitlist_entry;
