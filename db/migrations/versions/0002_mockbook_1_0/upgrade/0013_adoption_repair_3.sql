INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0002_mockbook_1_0', 'legacy over-capacity exam adopted (no booking until under capacity)', 'hubspot_mock_exams', e.id::text,
       format('capacity %s', e.capacity), format('%s Active bookings', c.n)
FROM hubspot_sync.hubspot_mock_exams AS e
JOIN (SELECT b.associated_mock_exam, count(*) AS n FROM hubspot_sync.hubspot_bookings AS b
      WHERE b.is_active = 'Active' GROUP BY b.associated_mock_exam) AS c
  ON c.associated_mock_exam = e.hubspot_id
WHERE c.n > e.capacity
