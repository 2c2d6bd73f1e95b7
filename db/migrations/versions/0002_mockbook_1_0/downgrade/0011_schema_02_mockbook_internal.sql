-- Undo db/schema/02_mockbook_internal.sql (new).

