-- Hand-written: back to the earlier waitlist_entries and sync_queue. The places'
-- outbox rows go (that schema has no such table name), and a 'closed' place becomes 'left' (that schema has
-- no 'closed'; both mean the place ended without a booking).
DROP TRIGGER IF EXISTS queue_waitlist_change ON hubspot_sync.waitlist_entries;
DELETE FROM hubspot_sync.sync_queue WHERE table_name = 'waitlist_entries';
UPDATE hubspot_sync.waitlist_entries SET status = 'left' WHERE status = 'closed';
ALTER TABLE hubspot_sync.sync_queue DROP CONSTRAINT sync_queue_table_name_check;
ALTER TABLE hubspot_sync.sync_queue ADD CONSTRAINT sync_queue_table_name_check CHECK (table_name IN (
    'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings'));
ALTER TABLE hubspot_sync.waitlist_entries DROP CONSTRAINT waitlist_entries_status_check;
ALTER TABLE hubspot_sync.waitlist_entries ADD CONSTRAINT waitlist_entries_status_check
    CHECK (status IN ('waiting', 'offered', 'accepted', 'expired', 'left'));
ALTER TABLE hubspot_sync.waitlist_entries DROP CONSTRAINT waitlist_entries_offer_check;
ALTER TABLE hubspot_sync.waitlist_entries ADD CONSTRAINT waitlist_entries_offer_check
    CHECK (status = 'waiting' OR status = 'left' OR offered_at IS NOT NULL);
DROP INDEX hubspot_sync.idx_waitlist_sync_id;
ALTER TABLE hubspot_sync.waitlist_entries
    DROP COLUMN hubspot_last_sync_at,
    DROP COLUMN hubspot_id,
    DROP COLUMN sync_id,
    DROP COLUMN booking_code;
