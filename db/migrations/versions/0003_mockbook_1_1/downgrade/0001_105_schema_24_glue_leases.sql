-- Undo db/schema/24_glue_leases.sql (new).
DROP TABLE IF EXISTS mockbook_internal.glue_leases;
