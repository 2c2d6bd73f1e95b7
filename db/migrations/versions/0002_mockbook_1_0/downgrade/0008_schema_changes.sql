-- Hand-written: idx_bookings_exam_status comes back in
-- 99_exam_status_index.nontx.sql (CONCURRENTLY, as the constraints step built it).
SELECT 1;
