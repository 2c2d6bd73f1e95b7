ALTER TABLE hubspot_sync.hubspot_bookings DISABLE TRIGGER USER;
UPDATE hubspot_sync.hubspot_bookings AS b
SET legacy_issue = r.new_value,
    student_id = split_part(b.student_id, '~legacy-duplicate~', 1)
FROM hubspot_sync.adoption_report AS r
WHERE r.action = 'legacy duplicate adopted and flagged' AND r.record_id = b.id::text
  AND strpos(b.student_id, '~legacy-duplicate~') > 0;
ALTER TABLE hubspot_sync.hubspot_bookings ENABLE TRIGGER USER;
