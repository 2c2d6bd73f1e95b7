-- Hand-written: no schema change here. The bookings table gets no index on (associated_mock_exam,
-- is_active): production's idx_bookings_exam_id has the same leading column, so a recount of an
-- exam's Active bookings reads the same few hundred entries through it, and a booking writes one
-- index entry fewer.
SELECT 1;
