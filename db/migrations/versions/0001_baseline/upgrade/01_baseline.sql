-- Frozen: the hubspot_sync read-cache schema as it exists in production before mockbook.
-- A DBA adopting an existing database runs `alembic stamp 0001_baseline` instead of this.
SET lock_timeout = '5s';

CREATE SCHEMA IF NOT EXISTS hubspot_sync;

DO $$
BEGIN
    IF to_regclass('hubspot_sync.hubspot_bookings') IS NOT NULL THEN
        RAISE EXCEPTION 'mockbook 0001_baseline: hubspot_sync.hubspot_bookings already exists; nothing was changed'
            USING HINT = 'This is an existing read-cache database: run "alembic stamp 0001_baseline" '
                         'once, then "alembic upgrade head" (README: adopting an existing database).';
    END IF;
END
$$;

CREATE TYPE hubspot_sync.mock_set_letter AS ENUM ('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H');

CREATE TABLE hubspot_sync.hubspot_contact_credits (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hubspot_id text UNIQUE NOT NULL,
    student_id text NOT NULL,
    email text NOT NULL,
    firstname text,
    lastname text,
    sj_credits integer DEFAULT 0,
    cs_credits integer DEFAULT 0,
    sjmini_credits integer DEFAULT 0,
    mock_discussion_token integer DEFAULT 0,
    shared_mock_credits integer DEFAULT 0,
    ndecc_exam_date text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    synced_at timestamptz DEFAULT now(),
    CONSTRAINT unique_student_email UNIQUE (student_id, email)
);
CREATE INDEX idx_hubspot_id ON hubspot_sync.hubspot_contact_credits (hubspot_id);
CREATE INDEX idx_student_id ON hubspot_sync.hubspot_contact_credits (student_id);
CREATE INDEX idx_email ON hubspot_sync.hubspot_contact_credits (email);
CREATE INDEX idx_synced_at ON hubspot_sync.hubspot_contact_credits (synced_at);

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
    synced_at timestamptz DEFAULT now()
);
CREATE INDEX idx_exams_hubspot_id ON hubspot_sync.hubspot_mock_exams (hubspot_id);
CREATE INDEX idx_exams_active ON hubspot_sync.hubspot_mock_exams (is_active);
CREATE INDEX idx_exams_date ON hubspot_sync.hubspot_mock_exams (exam_date);

CREATE TABLE hubspot_sync.hubspot_bookings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hubspot_id text UNIQUE NOT NULL,
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
    synced_at timestamptz DEFAULT now()
);
CREATE INDEX idx_bookings_hubspot_id ON hubspot_sync.hubspot_bookings (hubspot_id);
CREATE INDEX idx_bookings_contact_id ON hubspot_sync.hubspot_bookings (associated_contact_id);
CREATE INDEX idx_bookings_exam_id ON hubspot_sync.hubspot_bookings (associated_mock_exam);

CREATE TABLE hubspot_sync.sync_metadata (
    sync_type text PRIMARY KEY,
    last_sync_timestamp timestamptz,
    last_sync_status text,
    records_synced integer DEFAULT 0,
    error_message text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
