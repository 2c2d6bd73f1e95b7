-- Frozen copy of db/views/credit_usage.sql (changed).
/**
 * Why: where credits went, week by week and field by field, read from the ledger alone, so it
 * agrees with the balances by construction. The columns are the COMMENT ON MATERIALIZED VIEW
 * below.
 */
-- Re-applicable: a changed definition is dropped and built again with its index, comment and
-- grants. Nothing in mockbook depends on it; no CASCADE: an object someone else built on it
-- (a DBA's report view) makes this DROP fail (2BP01, naming that object) instead of silently
-- dropping it with the view: drop it first, migrate, re-create it.
-- squawk-ignore ban-drop-view
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.credit_usage;
CREATE MATERIALIZED VIEW hubspot_sync.credit_usage AS
SELECT date_trunc('week', l.created_at AT TIME ZONE
                  (SELECT mockbook_internal.business_timezone()))::date AS week,
       l.credit_field::text AS credit_field,
       coalesce(-sum(l.delta) FILTER (WHERE l.reason = 'booking'), 0)::integer AS spent,
       coalesce(sum(l.delta) FILTER (WHERE l.reason IN ('cancellation', 'exam_cancelled')), 0)::integer
           AS refunded,
       coalesce(sum(l.delta) FILTER (WHERE l.reason IN ('admin_adjustment', 'hubspot_adjustment')),
                0)::integer AS adjusted,
       coalesce(sum(l.delta) FILTER (WHERE l.reason = 'rebook'), 0)::integer AS rebooked,
       coalesce(sum(l.delta) FILTER (WHERE l.reason = 'import'), 0)::integer AS imported,
       sum(l.delta)::integer AS net,
       count(*)::integer AS entries
FROM hubspot_sync.credit_ledger AS l
GROUP BY 1, 2
WITH DATA;

-- The view was created just above, in this same transaction: nobody writes it yet, and
-- CREATE INDEX CONCURRENTLY cannot run in a transaction. The key makes REFRESH CONCURRENTLY work.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX credit_usage_key ON hubspot_sync.credit_usage (week, credit_field);

COMMENT ON MATERIALIZED VIEW hubspot_sync.credit_usage IS
'Per week (business time zone) and credit field, from the ledger: spent, refunded, adjusted, rebooked, imported, net and entries. Refreshed by refresh_analytics().

A row per (week, credit_field) with at least one credit_ledger entry, from the ledger alone.
  week          Monday of the entry''s week, created_at taken in the business time zone
                (mockbook.business_timezone, default America/Toronto; read at refresh time)
  credit_field  sj_credits, cs_credits, sjmini_credits, mock_discussion_token,
                shared_mock_credits
  spent         credits spent by bookings: -sum(delta) of reason ''booking'' (positive number)
  refunded      credits given back by cancellations: sum(delta) of reason ''cancellation''
  adjusted      net of ''admin_adjustment'' and ''hubspot_adjustment'' (may be negative)
  rebooked      net of ''rebook'' entries (0 when a rebook kept the same field)
  imported      net of ''import'' entries
  net           sum of every delta (= refunded - spent + adjusted + rebooked + imported)
  entries       number of ledger entries
Every column is always present (0 when there is nothing of that reason).
Refreshed by mockbook_internal.refresh_analytics() (unique index on week, credit_field).
Read by service_role only.';
REVOKE ALL ON TABLE hubspot_sync.credit_usage FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.credit_usage TO service_role;
