-- A student and their credit balances. Balances only change through the RPCs, each change
-- recorded in credit_ledger (balance = starting balance + sum of ledger deltas). Keys as in
-- production (PRIMARY KEY (id, student_id), UNIQUE student_id), plus UNIQUE (id) that the ledger
-- references.
CREATE TABLE hubspot_sync.hubspot_contact_credits (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    hubspot_id text UNIQUE,
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
    hubspot_last_sync_at timestamptz,
    PRIMARY KEY (id, student_id),
    CONSTRAINT hubspot_contact_credits_id_key UNIQUE (id),
    CONSTRAINT hubspot_contact_credits_student_id_key UNIQUE (student_id),
    CONSTRAINT unique_student_email UNIQUE (student_id, email)
);

-- indexes
CREATE INDEX idx_hubspot_id ON hubspot_sync.hubspot_contact_credits (hubspot_id);
CREATE INDEX idx_student_id ON hubspot_sync.hubspot_contact_credits (student_id);
CREATE INDEX idx_email ON hubspot_sync.hubspot_contact_credits (email);
-- a JWT's email to its students (mockbook_internal.caller_students: same_email's comparison)
CREATE INDEX idx_contact_credits_email_key
    ON hubspot_sync.hubspot_contact_credits (lower(btrim(email, E' \t\r\n')));
CREATE INDEX idx_synced_at ON hubspot_sync.hubspot_contact_credits (synced_at);
CREATE INDEX idx_contact_credits_no_hubspot_id
    ON hubspot_sync.hubspot_contact_credits (id) WHERE hubspot_id IS NULL;

-- constraints: no balance below 0 (an unknown one, NULL, passes). One CHECK for the five:
-- PostgreSQL reads every CHECK of a table again for each statement that writes a row of it
-- (a booking's credit update among them), so one constraint costs a booking less than five
-- (measured in docs/performance.md); least() of the balances is below 0 exactly when one is
ALTER TABLE hubspot_sync.hubspot_contact_credits
    ADD CONSTRAINT hubspot_contact_credits_credits_check
        CHECK (least(sj_credits, cs_credits, sjmini_credits, mock_discussion_token,
                     shared_mock_credits) >= 0);

-- storage: a booking's credit deduction updates the student's row, and each student
-- books a few times a year, so the update usually finds its page full (fillfactor 100) and cannot
-- be a HOT update: the new row version goes to another page and gets an entry in each of the
-- table's 10 indexes. With a fifth of each page kept free the update stays on its page and
-- writes no index entry (none of the credit columns is indexed). Pages written before this
-- setting keep their fill until a rewrite (VACUUM FULL or pg_repack); docs/operations.md.
ALTER TABLE hubspot_sync.hubspot_contact_credits SET (fillfactor = 80);

-- security
ALTER TABLE hubspot_sync.hubspot_contact_credits ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.hubspot_contact_credits
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.hubspot_contact_credits FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.hubspot_contact_credits TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.hubspot_contact_credits
    FOR SELECT TO mockbook_glue USING (true);
