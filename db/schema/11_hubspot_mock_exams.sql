-- A mock-exam session. Admins create exams in HubSpot (hubspot_id is always known); the glue
-- pulls them. total_bookings is maintained by the booking functions: it always equals the
-- number of the exam's bookings with is_active = 'Active'.
CREATE TABLE hubspot_sync.hubspot_mock_exams (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hubspot_id text UNIQUE NOT NULL,
    mock_exam_name text,
    mock_type text,
    exam_date date,
    start_time text,
    end_time text,
    location text,
    capacity integer,
    total_bookings integer DEFAULT 0,
    is_active text,
    scheduled_activation_datetime timestamptz,
    mock_set hubspot_sync.mock_set_letter,
    prerequisite_exam_ids text[] DEFAULT '{}',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    synced_at timestamptz DEFAULT now(),
    hubspot_last_sync_at timestamptz,
    -- derived from exam_date, start_time and end_time by the trigger derive_exam_instants
    -- (db/triggers/exam_instants.sql); every time-based rule and job reads these
    exam_starts_at timestamptz,
    exam_ends_at timestamptz,
    time_problem text
);

-- indexes
CREATE INDEX idx_exams_hubspot_id ON hubspot_sync.hubspot_mock_exams (hubspot_id);
CREATE INDEX idx_exams_active ON hubspot_sync.hubspot_mock_exams (is_active);
CREATE INDEX idx_exams_date ON hubspot_sync.hubspot_mock_exams (exam_date);
CREATE INDEX idx_hubspot_mock_exams_prerequisite_ids ON hubspot_sync.hubspot_mock_exams
    USING gin (prerequisite_exam_ids)
    WHERE prerequisite_exam_ids IS NOT NULL AND array_length(prerequisite_exam_ids, 1) > 0;

-- constraints: capacity and total_bookings not below 0, is_active one of four words in any case
-- (NULL passes each). One CHECK, its list one array constant: read again for each statement that
-- writes an exam (a booking's seat among them), as every CHECK is
ALTER TABLE hubspot_sync.hubspot_mock_exams
    ADD CONSTRAINT hubspot_mock_exams_values_check
        CHECK (least(capacity, total_bookings) >= 0
               AND lower(is_active) = ANY ('{true,false,scheduled,active}'::text[]));

-- security
ALTER TABLE hubspot_sync.hubspot_mock_exams ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.hubspot_mock_exams
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.hubspot_mock_exams FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.hubspot_mock_exams TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.hubspot_mock_exams
    FOR SELECT TO mockbook_glue USING (true);
