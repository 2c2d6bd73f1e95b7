-- Frozen copy of db/views/exam_utilization.sql (new).
/**
 * Why: how full each exam was, by status, in one row per exam for the admins' reports. The
 * columns are the COMMENT ON MATERIALIZED VIEW below.
 */
-- Re-applicable: a changed definition is dropped and built again with its index, comment and
-- grants. Nothing in mockbook depends on it; no CASCADE: an object someone else built on it
-- (a DBA's report view) makes this DROP fail (2BP01, naming that object) instead of silently
-- dropping it with the view: drop it first, migrate, re-create it.
-- squawk-ignore ban-drop-view
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.exam_utilization;
CREATE MATERIALIZED VIEW hubspot_sync.exam_utilization AS
SELECT e.hubspot_id,
       e.mock_exam_name,
       e.mock_type,
       e.exam_date,
       e.location,
       e.is_active,
       e.capacity,
       count(b.id)::integer AS bookings,
       count(b.id) FILTER (WHERE b.is_active = 'Active')::integer AS active,
       count(b.id) FILTER (WHERE b.is_active = 'Cancelled')::integer AS cancelled,
       count(b.id) FILTER (WHERE b.is_active = 'Completed')::integer AS completed,
       count(b.id) FILTER (WHERE b.attendance = 'Yes')::integer AS attended,
       count(b.id) FILTER (WHERE b.attendance = 'No')::integer AS no_shows,
       round(count(b.id) FILTER (WHERE b.is_active IN ('Active', 'Completed'))::numeric
             / nullif(e.capacity, 0), 4) AS utilization
FROM hubspot_sync.hubspot_mock_exams AS e
LEFT JOIN hubspot_sync.hubspot_bookings AS b ON b.associated_mock_exam = e.hubspot_id
GROUP BY e.id
WITH DATA;

-- The view was created just above, in this same transaction: nobody writes it yet, and
-- CREATE INDEX CONCURRENTLY cannot run in a transaction. The key makes REFRESH CONCURRENTLY work.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX exam_utilization_key ON hubspot_sync.exam_utilization (hubspot_id);

COMMENT ON MATERIALIZED VIEW hubspot_sync.exam_utilization IS
'Per exam: capacity, bookings, active, cancelled, completed, attended, no-shows and utilization ((active + completed) / capacity). Refreshed by refresh_analytics().

Columns: hubspot_id (unique key), mock_exam_name, mock_type, exam_date, location, is_active,
  capacity,
  bookings    every booking of the exam, whatever its status (Failed included)
  active      is_active = ''Active''
  cancelled   is_active = ''Cancelled''
  completed   is_active = ''Completed''
  attended    attendance = ''Yes'' (whatever the status)
  no_shows    attendance = ''No''
  utilization (active + completed) / capacity, rounded to 4 places; NULL when the capacity is
              0 or unknown. Cancelled and Failed bookings hold no seat.
Exams without any booking are listed with zeros (LEFT JOIN). Bookings are matched to exams by
associated_mock_exam = hubspot_id; bookings of unknown exams appear in no exam view.
Refreshed by mockbook_internal.refresh_analytics() (CONCURRENTLY: unique index on hubspot_id).
Read by service_role only.';
REVOKE ALL ON TABLE hubspot_sync.exam_utilization FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.exam_utilization TO service_role;
