CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_bookings_one_per_student_type_day ON hubspot_sync.hubspot_bookings (student_id, mock_type, exam_date) WHERE is_active IN ('Active', 'Completed');
