-- Hand-written: the schema changes of db/schema/16_sync_queue.sql and
-- db/schema/21_waitlist_entries.sql (waitlist places pushed to HubSpot, places of past exams
-- closed). The CHECKs are widened (dropped and added again with more values: no
-- guarantee is lost), added NOT VALID and validated by 08_validate.nontx.sql.
-- waitlist_entries holds the places of upcoming and recent exams (a few thousand rows at most):
-- the rewrite for the stored booking_code and the volatile sync_id default, and the plain index
-- build, take milliseconds under the table's lock.
ALTER TABLE hubspot_sync.waitlist_entries
    -- squawk-ignore adding-field-with-default
    ADD COLUMN booking_code text GENERATED ALWAYS AS ('WL-' || id::text) STORED,
    -- squawk-ignore adding-field-with-default
    ADD COLUMN sync_id uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN hubspot_id text,
    ADD COLUMN hubspot_last_sync_at timestamptz;
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX idx_waitlist_sync_id ON hubspot_sync.waitlist_entries (sync_id);
-- squawk-ignore ban-drop-constraint
ALTER TABLE hubspot_sync.waitlist_entries DROP CONSTRAINT waitlist_entries_status_check;
ALTER TABLE hubspot_sync.waitlist_entries ADD CONSTRAINT waitlist_entries_status_check
    CHECK (status IN ('waiting', 'offered', 'accepted', 'expired', 'left', 'closed')) NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE hubspot_sync.waitlist_entries DROP CONSTRAINT waitlist_entries_offer_check;
ALTER TABLE hubspot_sync.waitlist_entries ADD CONSTRAINT waitlist_entries_offer_check
    CHECK (status IN ('waiting', 'left', 'closed') OR offered_at IS NOT NULL) NOT VALID;
-- squawk-ignore ban-drop-constraint
ALTER TABLE hubspot_sync.sync_queue DROP CONSTRAINT sync_queue_table_name_check;
ALTER TABLE hubspot_sync.sync_queue ADD CONSTRAINT sync_queue_table_name_check CHECK (table_name IN (
    'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
    'waitlist_entries')) NOT VALID;
