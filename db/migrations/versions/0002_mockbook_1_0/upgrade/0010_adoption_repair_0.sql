WITH changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b SET attendance = NULL
    FROM (SELECT id, attendance AS old FROM hubspot_sync.hubspot_bookings
          WHERE btrim(attendance) = '') AS o
    WHERE b.id = o.id
    RETURNING b.id, o.old
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0002_mockbook_1_0', 'unmarked attendance (empty) set to NULL',
       'hubspot_bookings.attendance', id::text, old, NULL
FROM changed
