-- The hubspot_sync schema: reachable by service_role only. (Each function revokes EXECUTE from
-- PUBLIC, anon and authenticated itself: a per-schema default privilege cannot remove the
-- built-in PUBLIC grant, and the security tests check every function.)
CREATE SCHEMA IF NOT EXISTS hubspot_sync;
REVOKE ALL ON SCHEMA hubspot_sync FROM PUBLIC, anon, authenticated;
GRANT USAGE ON SCHEMA hubspot_sync TO service_role;

CREATE TYPE hubspot_sync.mock_set_letter AS ENUM ('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H');
