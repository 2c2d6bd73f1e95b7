-- Undo db/triggers/exam_instants.sql (new).
DROP TRIGGER IF EXISTS derive_exam_instants ON hubspot_sync.hubspot_mock_exams;
DROP FUNCTION IF EXISTS mockbook_internal.derive_exam_instants;
