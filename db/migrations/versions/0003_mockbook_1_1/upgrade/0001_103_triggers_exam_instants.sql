-- Frozen copy of db/triggers/exam_instants.sql (changed).
/**
 * Why: every write of an exam's date or times, whoever makes it, keeps its derived instants in
 * step, read by the one reader (exam_starts_at). The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.derive_exam_instants()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    NEW.exam_starts_at := mockbook_internal.exam_starts_at(NEW.exam_date, NEW.start_time);
    NEW.exam_ends_at := coalesce(
        mockbook_internal.exam_starts_at(NEW.exam_date, NEW.end_time),
        mockbook_internal.day_start(NEW.exam_date + 1));
    NEW.time_problem := mockbook_internal.exam_time_problem(NEW.exam_date, NEW.start_time,
                                                            NEW.end_time);
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION mockbook_internal.derive_exam_instants() IS
'Trigger: sets an exam''s exam_starts_at, exam_ends_at and time_problem from exam_date, start_time and end_time.

BEFORE INSERT, and UPDATE OF exam_date, start_time, end_time, FOR EACH ROW, on
hubspot_mock_exams: every write (the RPCs, the pull, the import, an adoption) keeps
exam_starts_at, exam_ends_at and time_problem in step with the stored text, read in one place
(mockbook_internal.exam_starts_at). exam_starts_at is NULL when the exam has no start time;
exam_ends_at is the end time, else the end of the exam day in the business time zone (a
whole-day exam has taken place when its day is over). Every rule and job reads these columns.
The seat-taking UPDATE (total_bookings only) does not fire it.';
REVOKE ALL ON FUNCTION mockbook_internal.derive_exam_instants() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE TRIGGER derive_exam_instants
    BEFORE INSERT OR UPDATE OF exam_date, start_time, end_time ON hubspot_sync.hubspot_mock_exams
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.derive_exam_instants();
