-- Frozen copy of db/views/daily_booking_trends.sql (new).
/**
 * Why: when bookings were made, day by day, type and campus, in the business time zone; a
 * materialized view the glue refreshes, since the campus grouping is costly per row. The columns
 * are the COMMENT ON MATERIALIZED VIEW below.
 */
-- Re-applicable: a changed definition is dropped and built again with its index, comment and
-- grants. Nothing in mockbook depends on it; no CASCADE: an object someone else built on it
-- (a DBA's report view) makes this DROP fail (2BP01, naming that object) instead of silently
-- dropping it with the view: drop it first, migrate, re-create it.
-- squawk-ignore ban-drop-view
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.daily_booking_trends;
CREATE MATERIALIZED VIEW hubspot_sync.daily_booking_trends AS
-- counted per stored location first, then each distinct stored value is mapped once (a
-- function call per booking would cost seconds at a million bookings) and the spellings of
-- one campus are added up
WITH made AS (
    SELECT (b.created_at AT TIME ZONE (SELECT mockbook_internal.business_timezone()))::date AS day,
           coalesce(b.mock_type, '(none)') AS mock_type,
           b.attending_location AS stored_location,
           count(*) AS bookings,
           count(*) FILTER (WHERE b.is_active = 'Active') AS active,
           count(*) FILTER (WHERE b.is_active = 'Cancelled') AS cancellations,
           count(*) FILTER (WHERE b.is_active = 'Completed') AS completed
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.created_at IS NOT NULL
    GROUP BY 1, 2, 3
), locations AS (
    SELECT s.stored_location, mockbook_internal.trend_location(s.stored_location) AS location
    FROM (SELECT DISTINCT m.stored_location FROM made AS m) AS s
)
SELECT m.day,
       m.mock_type,
       l.location,
       sum(m.bookings)::integer AS bookings,
       sum(m.active)::integer AS active,
       sum(m.cancellations)::integer AS cancellations,
       sum(m.completed)::integer AS completed
FROM made AS m
JOIN locations AS l ON l.stored_location IS NOT DISTINCT FROM m.stored_location
GROUP BY m.day, m.mock_type, l.location
WITH DATA;

-- The view was created just above, in this same transaction: nobody writes it yet, and
-- CREATE INDEX CONCURRENTLY cannot run in a transaction. The key makes REFRESH CONCURRENTLY work.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX daily_booking_trends_key
    ON hubspot_sync.daily_booking_trends (day, mock_type, location);

COMMENT ON MATERIALIZED VIEW hubspot_sync.daily_booking_trends IS
'Per day the bookings were made (business time zone, read at refresh), mock type and attending campus (one code whatever the stored spelling): bookings, and how many are now active, cancelled, completed. Refreshed by refresh_analytics().

A row per (day, mock_type, location) with at least one booking made that day.
  day            the booking''s created_at as a date in the business time zone (setting
                 mockbook.business_timezone, default America/Toronto, as business_today()):
                 the zone is read when the view is REFRESHED, so refresh after changing it
  mock_type      the booking''s mock type, ''(none)'' when unknown
  location       the booking''s attending_location as a campus code
                 (mockbook_internal.trend_location: ''Mississauga'', ''Mississauga - B9'' and
                 ''mississauga'' are ''mississauga'', as production and HubSpot spell them),
                 ''(none)'' when it names no campus (NULL, empty, ''TBD'', ''Online'', ...), any
                 other value as stored (the key columns are never NULL, so the unique index
                 identifies every row)
  bookings       bookings made that day
  active, cancellations, completed   of those, their status now (a booking made on Monday and
                 cancelled on Tuesday counts as a cancellation of Monday)
Bookings without created_at are left out.
Refreshed by mockbook_internal.refresh_analytics() (unique index on day, mock_type, location).
Read by service_role only.';
REVOKE ALL ON TABLE hubspot_sync.daily_booking_trends FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.daily_booking_trends TO service_role;
