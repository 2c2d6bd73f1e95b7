-- Undo db/functions/book.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.book;
