-- Hand-written (revision 0026, issue 13: a cheaper booking): idx_bookings_exam_status
-- (associated_mock_exam, is_active), an index mockbook added in revision 0004, is dropped. The
-- production index idx_bookings_exam_id has the same leading column, so a recount of an exam's
-- Active bookings reads the same few hundred entries through it; a booking writes one index
-- entry and takes one relation lock fewer.
DROP INDEX CONCURRENTLY IF EXISTS hubspot_sync.idx_bookings_exam_status;
