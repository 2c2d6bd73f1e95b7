-- Frozen copy of db/functions/internal/apply_pulled_exams.sql (changed).
-- Why: the glue's door to apply HubSpot's exams (apply_pulled_exam, apply_pulled_records).
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_exams(p_exams jsonb, p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    RETURN mockbook_internal.apply_pulled_records('exams', p_exams, p_actor, '{
        "inserted": 0, "updated": 0, "unchanged": 0, "deactivated": 0, "errors": [], "retry": [],
        "capacity_refused": [], "capacity_cut": [], "bookings_cancelled": 0, "bookings_moved": 0,
        "conflicts": 0, "time_problems": []}');
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_exams(jsonb, text) IS
'Glue (pull, import): apply exams read from HubSpot (p_exams: CRM v3 records), each in its own
subtransaction: insert, update, archived -> deactivated; a read older (hs_lastmodifieddate) than
the one applied last is left alone; a capacity cut is stored and listed (capacity_cut). Exams
locked in ascending HubSpot id after prelock_exam_changes; busy ones listed in retry. Rules:
docs/hubspot.md "Who owns what". Returns {inserted, updated, unchanged, deactivated, errors,
retry, capacity_refused, capacity_cut, bookings_cancelled, bookings_moved, conflicts, time_problems}.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_exams(jsonb, text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.apply_pulled_exams(jsonb, text) TO mockbook_glue;
