-- The hubspot_sync schema: reachable by service_role only; nothing new in it is executable by PUBLIC.
CREATE SCHEMA IF NOT EXISTS hubspot_sync;
REVOKE ALL ON SCHEMA hubspot_sync FROM PUBLIC, anon, authenticated;
GRANT USAGE ON SCHEMA hubspot_sync TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA hubspot_sync REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

CREATE TYPE hubspot_sync.mock_set_letter AS ENUM ('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H');
