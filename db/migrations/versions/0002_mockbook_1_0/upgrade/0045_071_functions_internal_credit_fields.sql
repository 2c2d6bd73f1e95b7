-- Frozen copy of db/functions/internal/credit_fields.sql (new).
-- Why: the credit fields are listed once, in the database, and every function that takes or lists a
-- field reads this list (the glue's copy is proved equal by a test).
CREATE OR REPLACE FUNCTION mockbook_internal.credit_fields()
RETURNS TABLE (credit_field text, label text, pays_for text, "position" integer)
LANGUAGE sql
IMMUTABLE
SET search_path = ''
AS $$
    VALUES
        ('sj_credits', 'Situational Judgment credits', 'Situational Judgment', 1),
        ('cs_credits', 'Clinical Skills credits', 'Clinical Skills', 2),
        ('sjmini_credits', 'Mini-mock credits', 'Mini-mock', 3),
        ('mock_discussion_token', 'Mock Discussion tokens', 'Mock Discussion', 4),
        ('shared_mock_credits', 'Shared mock credits', 'shared mock', 5)
$$;

COMMENT ON FUNCTION mockbook_internal.credit_fields() IS
'Internal: the one list of the five credit fields (column = ledger value = HubSpot contact property),
with their HubSpot label, what each pays for, and display order. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.credit_fields() FROM PUBLIC, anon, authenticated, service_role;
