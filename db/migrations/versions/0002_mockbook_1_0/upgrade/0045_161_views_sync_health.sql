-- Frozen copy of db/views/sync_health.sql (new).
/**
 * Why: one always-current row that says whether the sync keeps up (backlog, errors, last runs),
 * for `mockbook status` and monitoring. The columns are the COMMENT ON VIEW below.
 */
-- Re-applicable even when the columns change (OR REPLACE cannot drop or reorder a view's
-- columns); the grants are given again below.
-- squawk-ignore ban-drop-view
DROP VIEW IF EXISTS hubspot_sync.sync_health;
CREATE VIEW hubspot_sync.sync_health WITH (security_invoker = true) AS
SELECT q.pending,
       q.oldest_pending_at,
       round(extract(epoch FROM now() - q.oldest_pending_at), 3) AS oldest_pending_seconds,
       e.errors_last_hour,
       e.dead_letters,
       m.last_push_at,
       m.last_pull_at,
       m.last_refresh_at
FROM (SELECT count(*) AS pending, min(created_at) AS oldest_pending_at
      FROM hubspot_sync.sync_queue
      WHERE done_at IS NULL AND dead_at IS NULL) AS q
CROSS JOIN (SELECT count(*) FILTER (WHERE created_at >= now() - interval '1 hour') AS errors_last_hour,
                   count(*) FILTER (WHERE NOT resolved) AS dead_letters
            FROM hubspot_sync.sync_errors) AS e
CROSS JOIN (SELECT max(last_sync_timestamp)
                       FILTER (WHERE sync_type = 'push' OR sync_type LIKE 'push:%') AS last_push_at,
                   max(last_sync_timestamp)
                       FILTER (WHERE sync_type = 'pull' OR sync_type LIKE 'pull:%') AS last_pull_at,
                   max(last_sync_timestamp)
                       FILTER (WHERE sync_type = 'refresh_analytics') AS last_refresh_at
            FROM hubspot_sync.sync_metadata
            WHERE lower(last_sync_status) = 'success') AS m;

COMMENT ON VIEW hubspot_sync.sync_health IS
'One row: pending outbox rows, the oldest one''s time and age, sync errors in the last hour, unresolved dead letters, last successful push, pull (sync_metadata types push[:x], pull[:x]) and analytics refresh.

pending                 outbox rows still to push (sync_queue: done_at and dead_at NULL)
  oldest_pending_at       created_at of the oldest of them (NULL when none)
  oldest_pending_seconds  its age in seconds at the time of the query, 3 places (NULL: none)
  errors_last_hour        sync_errors rows created in the last hour (resolved or not)
  dead_letters            sync_errors rows not resolved
  last_push_at            last successful push, last_pull_at last successful pull, and
  last_refresh_at         last analytics refresh: the newest last_sync_timestamp of the
                          sync_metadata rows with last_sync_status ''success'' whose sync_type is
                          ''push'' or starts with ''push:'' (e.g. ''push:bookings''), ''pull'' or
                          ''pull:...'' (e.g. ''pull:exams'', ''pull:contacts''), and
                          ''refresh_analytics'' (written by refresh_analytics()). NULL: never.
"Now" is the reading transaction''s now(). security_invoker: the reader needs SELECT on
sync_queue, sync_errors and sync_metadata (service_role has it); anon and authenticated have
nothing.';
REVOKE ALL ON TABLE hubspot_sync.sync_health FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.sync_health TO service_role, mockbook_glue;
