-- Frozen copy of db/functions/internal/refresh_analytics.sql (new).
-- Why: the analytics views are refreshed by the glue, one refresh at a time across all sessions,
-- without blocking their readers, and the run is recorded for sync_health.
CREATE OR REPLACE FUNCTION mockbook_internal.refresh_analytics(p_concurrently boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_start constant timestamptz := clock_timestamp();
    v_views constant text[] := ARRAY['booking_analytics', 'exam_utilization',
                                     'daily_booking_trends', 'credit_usage'];
    v_populated text[];
    v_concurrent text[] := '{}'::text[];
BEGIN
    IF NOT pg_catalog.pg_try_advisory_xact_lock(
            pg_catalog.hashtextextended('mockbook:refresh_analytics', 0)) THEN
        RETURN jsonb_build_object('refreshed', false, 'reason', 'another refresh is running');
    END IF;

    SELECT coalesce(array_agg(c.relname::text), '{}'::text[]) INTO v_populated
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'hubspot_sync' AND c.relkind = 'm' AND c.relispopulated
      AND c.relname::text = ANY (v_views);
    IF p_concurrently THEN
        v_concurrent := v_populated;
    END IF;

    IF 'booking_analytics' = ANY (v_concurrent) THEN
        REFRESH MATERIALIZED VIEW CONCURRENTLY hubspot_sync.booking_analytics;
    ELSE
        REFRESH MATERIALIZED VIEW hubspot_sync.booking_analytics;
    END IF;
    IF 'exam_utilization' = ANY (v_concurrent) THEN
        REFRESH MATERIALIZED VIEW CONCURRENTLY hubspot_sync.exam_utilization;
    ELSE
        REFRESH MATERIALIZED VIEW hubspot_sync.exam_utilization;
    END IF;
    IF 'daily_booking_trends' = ANY (v_concurrent) THEN
        REFRESH MATERIALIZED VIEW CONCURRENTLY hubspot_sync.daily_booking_trends;
    ELSE
        REFRESH MATERIALIZED VIEW hubspot_sync.daily_booking_trends;
    END IF;
    IF 'credit_usage' = ANY (v_concurrent) THEN
        REFRESH MATERIALIZED VIEW CONCURRENTLY hubspot_sync.credit_usage;
    ELSE
        REFRESH MATERIALIZED VIEW hubspot_sync.credit_usage;
    END IF;

    INSERT INTO hubspot_sync.sync_metadata AS m (
        sync_type, last_sync_timestamp, last_sync_status, records_synced, error_message)
    VALUES ('refresh_analytics', now(), 'success', pg_catalog.cardinality(v_views), NULL)
    ON CONFLICT (sync_type) DO UPDATE
        SET last_sync_timestamp = excluded.last_sync_timestamp,
            last_sync_status = excluded.last_sync_status,
            records_synced = excluded.records_synced,
            error_message = NULL,
            updated_at = now();

    RETURN jsonb_build_object(
        'refreshed', true,
        'views', to_jsonb(v_views),
        'concurrently', to_jsonb(ARRAY(SELECT v FROM unnest(v_views) AS v WHERE v = ANY (v_concurrent))),
        'seconds', round(extract(epoch FROM clock_timestamp() - v_start), 3));
END
$$;

COMMENT ON FUNCTION mockbook_internal.refresh_analytics(boolean) IS
'Refreshes booking_analytics, exam_utilization, daily_booking_trends and credit_usage (CONCURRENTLY
by default), one refresh at a time (advisory lock), and records it in sync_metadata as
refresh_analytics. Returns {refreshed, views, concurrently, seconds} or {refreshed: false, reason}.
Must be run by the views'' owner.';
REVOKE ALL ON FUNCTION mockbook_internal.refresh_analytics(boolean) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.refresh_analytics(boolean) TO mockbook_glue;
