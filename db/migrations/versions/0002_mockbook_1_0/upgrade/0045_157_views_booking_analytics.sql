-- Frozen copy of db/views/booking_analytics.sql (new).
/**
 * Why: admins want to see how exams filled, week by week and type by type, without a query that
 * scans every booking on each read; a materialized view the glue refreshes answers that. The
 * columns are the COMMENT ON MATERIALIZED VIEW below.
 */
-- Re-applicable: a changed definition is dropped and built again with its index, comment and
-- grants. Nothing in mockbook depends on it; no CASCADE: an object someone else built on it
-- (a DBA's report view) makes this DROP fail (2BP01, naming that object) instead of silently
-- dropping it with the view: drop it first, migrate, re-create it.
-- squawk-ignore ban-drop-view
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.booking_analytics;
CREATE MATERIALIZED VIEW hubspot_sync.booking_analytics AS
WITH per_exam AS (
    SELECT date_trunc('week', e.exam_date::timestamp)::date AS week,
           coalesce(e.mock_type, '(none)') AS mock_type,
           e.capacity,
           count(b.id) AS bookings,
           count(b.id) FILTER (WHERE b.is_active = 'Active') AS active,
           count(b.id) FILTER (WHERE b.is_active = 'Cancelled') AS cancellations,
           count(b.id) FILTER (WHERE b.is_active = 'Completed') AS completed,
           count(b.id) FILTER (WHERE b.is_active IN ('Active', 'Completed'))::numeric
               / nullif(e.capacity, 0) AS utilization
    FROM hubspot_sync.hubspot_mock_exams AS e
    LEFT JOIN hubspot_sync.hubspot_bookings AS b ON b.associated_mock_exam = e.hubspot_id
    WHERE e.exam_date IS NOT NULL
    GROUP BY e.id
)
SELECT week,
       mock_type,
       count(*)::integer AS exams,
       sum(bookings)::integer AS bookings,
       sum(active)::integer AS active,
       sum(cancellations)::integer AS cancellations,
       sum(completed)::integer AS completed,
       round(avg(capacity), 2) AS avg_capacity,
       round(avg(utilization), 4) AS avg_utilization
FROM per_exam
GROUP BY week, mock_type
WITH DATA;

-- The view was created just above, in this same transaction: nobody writes it yet, and
-- CREATE INDEX CONCURRENTLY cannot run in a transaction. The key makes REFRESH CONCURRENTLY work.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX booking_analytics_key ON hubspot_sync.booking_analytics (week, mock_type);

COMMENT ON MATERIALIZED VIEW hubspot_sync.booking_analytics IS
'Per exam week and mock type: exams, bookings (by exam week), active, cancellations, completed, average capacity and average per-exam utilization. Refreshed by refresh_analytics().

A row per (week, mock_type) that has at least one exam; weeks without exams have no row.
  week             Monday of the exam''s week (date_trunc(''week'', exam_date)): bookings are
                   counted in the week of their EXAM, not the week they were made (see
                   daily_booking_trends for when bookings were made)
  mock_type        the exam''s mock type, ''(none)'' when unknown
  exams            exams of that week and type (exams without a date are left out)
  bookings         all bookings of those exams, whatever their status
  active, cancellations, completed   bookings by status
  avg_capacity     average exam capacity, 2 places
  avg_utilization  average over the exams of (active + completed) / capacity, 4 places;
                   exams of capacity 0 have no utilization and are left out of the average
Computed per exam first (a CTE), then averaged over exams.
Refreshed by mockbook_internal.refresh_analytics() (unique index on week, mock_type).
Read by service_role only.';
REVOKE ALL ON TABLE hubspot_sync.booking_analytics FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.booking_analytics TO service_role;
