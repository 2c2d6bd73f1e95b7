-- Frozen copy of db/schema/21_waitlist_entries.sql (new).
-- The waitlist of full exams: one row per place a student took. A place is
-- 'waiting' (in id order), then 'offered' (a seat held for the student until offer_expires_at;
-- held seats count against the exam's capacity, see hubspot_sync.take_seat), then 'accepted'
-- (booking_id is the booking accept_offer made) or 'expired' (the offer passed on), or 'left'
-- (the student left, declining an offer if one was held). Each row is offered at most once, so
-- an offer is this row's offered -> accepted/expired/left transition, made exactly once under
-- the row's lock.
CREATE TABLE hubspot_sync.waitlist_entries (
    id bigserial PRIMARY KEY,
    mock_exam_id text NOT NULL,
    student_id text NOT NULL,
    contact_id uuid NOT NULL,
    attending_location text,
    dominant_hand text,
    status text NOT NULL DEFAULT 'waiting',
    joined_at timestamptz NOT NULL DEFAULT now(),
    offered_at timestamptz,
    offer_expires_at timestamptz,
    resolved_at timestamptz,
    booking_id uuid,
    CONSTRAINT waitlist_entries_status_check
        CHECK (status IN ('waiting', 'offered', 'accepted', 'expired', 'left')),
    CONSTRAINT waitlist_entries_offer_check
        CHECK (status = 'waiting' OR status = 'left' OR offered_at IS NOT NULL),
    CONSTRAINT waitlist_entries_booking_check
        CHECK ((status = 'accepted') = (booking_id IS NOT NULL))
);

-- indexes
-- one open place per student and exam (join_waitlist is idempotent through it)
CREATE UNIQUE INDEX idx_waitlist_open_place ON hubspot_sync.waitlist_entries
    (mock_exam_id, student_id) WHERE status IN ('waiting', 'offered');
CREATE INDEX idx_waitlist_queue ON hubspot_sync.waitlist_entries (mock_exam_id, id)
    WHERE status IN ('waiting', 'offered');
CREATE INDEX idx_waitlist_offers_due ON hubspot_sync.waitlist_entries (offer_expires_at)
    WHERE status = 'offered';
CREATE INDEX idx_waitlist_student ON hubspot_sync.waitlist_entries (student_id);

-- security
ALTER TABLE hubspot_sync.waitlist_entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.waitlist_entries
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.waitlist_entries FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE hubspot_sync.waitlist_entries TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.waitlist_entries_id_seq FROM PUBLIC, anon, authenticated;
GRANT USAGE ON SEQUENCE hubspot_sync.waitlist_entries_id_seq TO service_role;
