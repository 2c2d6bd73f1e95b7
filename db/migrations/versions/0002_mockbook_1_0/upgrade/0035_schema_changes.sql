-- Hand-written: the one schema change,
-- idx_bookings_exam_status dropped, is 99_drop_exam_status_index.nontx.sql (CONCURRENTLY, outside
-- the revision's transaction, so the hot booking table is not locked against writes).
SELECT 1;
