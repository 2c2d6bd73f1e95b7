WITH checked AS MATERIALIZED (  -- the rule evaluated once per code
    SELECT b.id, b.booking_id, mockbook_internal.booking_code_problem(b.booking_id) AS problem
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.booking_id IS NOT NULL
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0002_mockbook_1_0', 'legacy booking code adopted (breaks the code rule)', 'hubspot_bookings.booking_id', c.id::text,
       c.booking_id, c.problem
FROM checked AS c
WHERE c.problem IS NOT NULL
