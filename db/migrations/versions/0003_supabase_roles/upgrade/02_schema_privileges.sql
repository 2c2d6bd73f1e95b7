-- Frozen: the hubspot_sync schema is reachable by service_role only.
SET lock_timeout = '5s';
REVOKE ALL ON SCHEMA hubspot_sync FROM PUBLIC, anon, authenticated;
GRANT USAGE ON SCHEMA hubspot_sync TO service_role;
