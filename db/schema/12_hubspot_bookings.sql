-- A seat booked by a student. booking_id is the human-readable booking code (BK-YYYYMMDD-XXXXXX),
-- unique, and required for every row written since mockbook (rows from before may lack it:
-- a NOT NULL check would block every UPDATE of those, NOT VALID or not, so the trigger
-- db/triggers/require_booking_code.sql enforces it on INSERT and on UPDATEs that clear it). The
-- duplicate rule of create_booking (one Active
-- or Completed booking per student, mock type and exam day) is also a unique index.
CREATE TABLE hubspot_sync.hubspot_bookings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hubspot_id text UNIQUE,
    booking_id text,
    associated_mock_exam text,
    associated_contact_id text,
    student_id text,
    name text,
    student_email text,
    is_active text,
    attendance text,
    dominant_hand text,
    attending_location text,
    token_used text,
    token_refunded boolean DEFAULT false,
    token_refunded_at timestamptz,
    token_refund_admin text,
    start_time text,
    end_time text,
    exam_date date,
    mock_type text,
    mock_set hubspot_sync.mock_set_letter,
    ndecc_exam_date text,
    idempotency_key text UNIQUE,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    synced_at timestamptz DEFAULT now(),
    hubspot_last_sync_at timestamptz,
    idempotency_fingerprint text,
    -- a repeated production booking code, when the adoption gave this row a unique one
    legacy_booking_id text,
    -- why the adoption flagged this row as it found it ('duplicate of <booking code>': the old
    -- app booked the student twice on one type and day); NULL for every row mockbook writes
    legacy_issue text
);

-- indexes
CREATE INDEX idx_bookings_hubspot_id ON hubspot_sync.hubspot_bookings (hubspot_id);
CREATE INDEX idx_bookings_contact_id ON hubspot_sync.hubspot_bookings (associated_contact_id);
CREATE INDEX idx_bookings_exam_id ON hubspot_sync.hubspot_bookings (associated_mock_exam);
CREATE INDEX idx_hubspot_bookings_mock_set ON hubspot_sync.hubspot_bookings (mock_set)
    WHERE mock_set IS NOT NULL;
CREATE INDEX idx_bookings_student_id ON hubspot_sync.hubspot_bookings (student_id);
CREATE INDEX idx_bookings_student_email ON hubspot_sync.hubspot_bookings (student_email);
CREATE INDEX idx_bookings_no_hubspot_id
    ON hubspot_sync.hubspot_bookings (id) WHERE hubspot_id IS NULL;
CREATE UNIQUE INDEX hubspot_bookings_booking_id_key ON hubspot_sync.hubspot_bookings (booking_id);
-- the one-per-type-and-day rule, outside the functions too; a legacy duplicate the adoption
-- flagged is left out (its pair's first booking holds the place, so a third is still refused)
CREATE UNIQUE INDEX uq_bookings_one_per_student_type_day
    ON hubspot_sync.hubspot_bookings (student_id, mock_type, exam_date)
    WHERE is_active IN ('Active', 'Completed') AND legacy_issue IS NULL;
-- the flagged legacy rows by student: with the index above, the one-per-type-and-day check of
-- a booking reads two index probes instead of every booking of the student (a row mockbook
-- writes has no legacy_issue, so it adds no entry here)
CREATE INDEX idx_bookings_legacy_student
    ON hubspot_sync.hubspot_bookings (student_id) WHERE legacy_issue IS NOT NULL;
-- a repeated production booking code the adoption replaced, as a school still quotes it
-- (`mockbook trace`); only the adopted rows that had one have an entry
CREATE INDEX idx_bookings_legacy_booking_id
    ON hubspot_sync.hubspot_bookings (legacy_booking_id) WHERE legacy_booking_id IS NOT NULL;
-- (no index on (associated_mock_exam, is_active): the production index idx_bookings_exam_id
-- has the same leading column, so a recount of an exam's
-- Active bookings reads the exam's few hundred entries either way, and a booking writes one index
-- entry and takes one relation lock fewer.)

-- constraints: is_active and attendance from their lists (NULL passes each). One CHECK, each
-- list one array constant: read again for each statement that writes a booking, as every CHECK is
ALTER TABLE hubspot_sync.hubspot_bookings
    ADD CONSTRAINT hubspot_bookings_values_check
        CHECK (is_active = ANY ('{Active,Cancelled,Completed,Failed}'::text[])
               AND attendance = ANY ('{Yes,No}'::text[]));

-- security
ALTER TABLE hubspot_sync.hubspot_bookings ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.hubspot_bookings
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.hubspot_bookings FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.hubspot_bookings TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.hubspot_bookings
    FOR SELECT TO mockbook_glue USING (true);
