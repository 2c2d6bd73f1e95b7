INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0002_mockbook_1_0', 'legacy exam time adopted (unreadable)', 'hubspot_mock_exams.time_problem', e.id::text,
       concat_ws(' / ', e.start_time, e.end_time), e.time_problem
FROM hubspot_sync.hubspot_mock_exams AS e
WHERE strpos(e.time_problem, ' is not a time mockbook can read') > 0
   OR strpos(e.time_problem, ': the clocks move ') > 0
