-- Frozen: the Supabase roles and auth.* functions are kept on downgrade: they are shared by every
-- database of the cluster (and on Supabase they are Supabase's own).
SET lock_timeout = '5s';
REVOKE USAGE ON SCHEMA hubspot_sync FROM service_role;
