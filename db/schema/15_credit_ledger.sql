-- One row per credit change. For every contact and credit field:
--   balance now = starting balance + sum(delta) of its ledger rows.
-- The column rules as domains, not table CHECKs (as the outbox's, 16_sync_queue.sql: a
-- booking writes a ledger row). The constraint names are the rules' names.
CREATE DOMAIN hubspot_sync.ledger_credit_field AS text
    CONSTRAINT credit_ledger_credit_field_check CHECK (VALUE IN (
        'sj_credits', 'cs_credits', 'sjmini_credits', 'mock_discussion_token',
        'shared_mock_credits'));
CREATE DOMAIN hubspot_sync.ledger_reason AS text
    CONSTRAINT credit_ledger_reason_check CHECK (VALUE IN (
        'booking', 'cancellation', 'rebook', 'admin_adjustment', 'hubspot_adjustment', 'import',
        'exam_cancelled'));
CREATE DOMAIN hubspot_sync.ledger_delta AS integer
    CONSTRAINT credit_ledger_delta_check CHECK (VALUE <> 0);
CREATE DOMAIN hubspot_sync.ledger_balance AS integer
    CONSTRAINT credit_ledger_balance_after_check CHECK (VALUE >= 0);

CREATE TABLE hubspot_sync.credit_ledger (
    id bigserial PRIMARY KEY,
    contact_id uuid NOT NULL REFERENCES hubspot_sync.hubspot_contact_credits (id),
    student_id text NOT NULL,
    credit_field hubspot_sync.ledger_credit_field NOT NULL,
    delta hubspot_sync.ledger_delta NOT NULL,
    balance_after hubspot_sync.ledger_balance NOT NULL,
    reason hubspot_sync.ledger_reason NOT NULL,
    booking_id uuid,
    actor text,
    note text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- indexes
CREATE INDEX idx_credit_ledger_booking ON hubspot_sync.credit_ledger (booking_id)
    WHERE booking_id IS NOT NULL;
-- a contact's ledger rows (a trace, the invariant check) and those of one change of it (the
-- audit row's record and time): the notes claim's lookup, bounded by one contact's rows whatever
-- else shares the timestamp. One index for both: every booking writes one entry fewer.
CREATE INDEX idx_credit_ledger_contact_created
    ON hubspot_sync.credit_ledger (contact_id, created_at);

-- security
ALTER TABLE hubspot_sync.credit_ledger ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.credit_ledger
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.credit_ledger FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.credit_ledger TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.credit_ledger_id_seq FROM PUBLIC, anon, authenticated, service_role;
