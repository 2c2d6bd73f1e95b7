-- Hand-written (revision 0026): idx_bookings_exam_status comes back in
-- 99_exam_status_index.nontx.sql (CONCURRENTLY, as revision 0004 built it).
SELECT 1;
