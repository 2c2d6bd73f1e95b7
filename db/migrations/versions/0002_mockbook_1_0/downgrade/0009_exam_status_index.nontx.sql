-- Hand-written: idx_bookings_exam_status back, as the constraints step built it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_bookings_exam_status
    ON hubspot_sync.hubspot_bookings (associated_mock_exam, is_active);
