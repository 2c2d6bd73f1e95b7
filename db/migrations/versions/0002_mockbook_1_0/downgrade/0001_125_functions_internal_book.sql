-- Undo db/functions/internal/book.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.book;
