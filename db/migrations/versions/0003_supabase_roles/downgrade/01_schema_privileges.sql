-- Frozen: the Supabase roles and auth.* functions are kept on downgrade: they are shared by every
-- database of the cluster (and on Supabase they are Supabase's own).
SET lock_timeout = '5s';
ALTER DEFAULT PRIVILEGES IN SCHEMA hubspot_sync GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
REVOKE USAGE ON SCHEMA hubspot_sync FROM service_role;
