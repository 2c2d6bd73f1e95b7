WITH ranked AS (
    SELECT id, first_value(coalesce(booking_id, id::text)) OVER w AS kept,
           row_number() OVER w AS n
    FROM hubspot_sync.hubspot_bookings
    WHERE initcap(btrim(is_active)) IN ('Active', 'Completed')
    WINDOW w AS (PARTITION BY student_id, mock_type, exam_date
                 ORDER BY created_at NULLS FIRST, id)
), flagged AS (
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET student_id = b.student_id || '~legacy-duplicate~' || b.id::text
    FROM ranked AS r
    WHERE b.id = r.id AND r.n > 1
    RETURNING b.id, r.kept
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0002_mockbook_1_0', 'legacy duplicate adopted and flagged', 'hubspot_bookings.legacy_issue', id::text,
       NULL, 'duplicate of ' || kept
FROM flagged
