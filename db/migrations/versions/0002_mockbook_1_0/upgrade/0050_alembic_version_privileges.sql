-- Hand-written: Alembic's version table is the migrations' own; whatever default privileges
-- the cluster gives new tables (Supabase grants ALL to anon, authenticated and service_role),
-- no API role may read or write it.
REVOKE ALL ON TABLE mockbook.alembic_version FROM PUBLIC, anon, authenticated, service_role;
