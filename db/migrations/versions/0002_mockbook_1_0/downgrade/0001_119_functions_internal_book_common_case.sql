-- Undo db/functions/internal/book_common_case.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.book_common_case;
