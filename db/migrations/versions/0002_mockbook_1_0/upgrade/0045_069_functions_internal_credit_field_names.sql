-- Frozen copy of db/functions/internal/credit_field_names.sql (new).
-- Why: IMMUTABLE and without arguments, so a caller's plan folds the array in and the hot paths
-- (apply_credit_delta on every booking) check a field name without a call.
CREATE OR REPLACE FUNCTION mockbook_internal.credit_field_names()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = ''
AS $$
    SELECT array_agg(f.credit_field ORDER BY f."position") FROM mockbook_internal.credit_fields() AS f
$$;

COMMENT ON FUNCTION mockbook_internal.credit_field_names() IS
'Internal: the names of credit_fields() as one array, in order (folded into callers'' plans).';
REVOKE ALL ON FUNCTION mockbook_internal.credit_field_names() FROM PUBLIC, anon, authenticated, service_role;
