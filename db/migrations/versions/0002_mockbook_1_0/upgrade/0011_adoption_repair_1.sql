WITH changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET mock_type = coalesce(b.mock_type, o.exam_type),
        exam_date = coalesce(b.exam_date, o.exam_day)
    FROM (SELECT l.id, l.mock_type IS NULL AS no_type, l.exam_date IS NULL AS no_day,
                 e.mock_type AS exam_type, e.exam_date AS exam_day
          FROM hubspot_sync.hubspot_bookings AS l
          JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = l.associated_mock_exam
          WHERE (l.mock_type IS NULL AND e.mock_type IS NOT NULL)
             OR (l.exam_date IS NULL AND e.exam_date IS NOT NULL)) AS o
    WHERE b.id = o.id
    RETURNING b.id, CASE WHEN o.no_type THEN o.exam_type END AS new_type,
              CASE WHEN o.no_day THEN o.exam_day END AS new_day
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0002_mockbook_1_0', 'legacy booking: copied from its exam', v.object, c.id::text, NULL,
       v.value
FROM changed AS c,
     LATERAL (VALUES ('hubspot_bookings.mock_type', c.new_type),
                     ('hubspot_bookings.exam_date', c.new_day::text)) AS v (object, value)
WHERE v.value IS NOT NULL
