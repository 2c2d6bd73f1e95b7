-- Hand-written: idx_bookings_exam_status
-- (associated_mock_exam, is_active), an index the constraints step adds, is dropped. The
-- production index idx_bookings_exam_id has the same leading column, so a recount of an exam's
-- Active bookings reads the same few hundred entries through it; a booking writes one index
-- entry and takes one relation lock fewer.
DROP INDEX CONCURRENTLY IF EXISTS hubspot_sync.idx_bookings_exam_status;
