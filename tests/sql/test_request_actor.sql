-- mockbook_internal.request_actor (db/functions/internal/request_actor.sql): who acts. A JWT user is
-- 'admin:' only with one of the original platform's admin roles ('admin', 'super_admin') in
-- app_metadata.role or the top-level user_role claim; any other role, a role in user_metadata
-- (which the user can write), or a near-miss spelling is 'user:'. Without a JWT user: p_actor.
BEGIN;
SELECT plan(14);

CREATE FUNCTION pg_temp.actor_with(p_claims jsonb, p_actor text DEFAULT 'job') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('request.jwt.claims', coalesce(p_claims::text, ''), true);
    RETURN mockbook_internal.request_actor(p_actor);
END
$$;

-- the admin roles, in either claim
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "app_metadata": {"role": "admin"}}'),
          'admin:a@x.ca', 'app_metadata.role admin is an admin');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "app_metadata": {"role": "super_admin"}}'),
          'admin:a@x.ca', 'app_metadata.role super_admin is an admin');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "user_role": "admin"}'),
          'admin:a@x.ca', 'user_role admin is an admin');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "user_role": "super_admin"}'),
          'admin:a@x.ca', 'user_role super_admin (the original admin app''s claim) is an admin');
SELECT is(pg_temp.actor_with('{"sub": "u-1", "user_role": "super_admin", "permissions": []}'),
          'admin:u-1', 'a super_admin without an email is named by sub');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "user_role": "viewer", "app_metadata": {"role": "super_admin"}}'),
          'admin:a@x.ca', 'either claim naming an admin role is enough');

-- everything else is a user
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "user_role": "viewer"}'),
          'user:a@x.ca', 'viewer (the hook''s default role) is not an admin');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "user_metadata": {"role": "super_admin"}}'),
          'user:a@x.ca', 'user_metadata.role super_admin is never read');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "user_metadata": {"user_role": "admin"}, "role": "authenticated"}'),
          'user:a@x.ca', 'user_metadata.user_role admin is never read');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "app_metadata": {"role": "Super_Admin"}}'),
          'user:a@x.ca', 'role values are exact');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "app_metadata": {"roles": ["super_admin"]}, "user_role": "superadmin"}'),
          'user:a@x.ca', 'other claims and spellings are not admin roles');
SELECT is(pg_temp.actor_with('{"email": "a@x.ca", "role": "super_admin"}'),
          'user:a@x.ca', 'the PostgREST role claim is not an admin role claim');

-- no JWT user: p_actor
SELECT is(pg_temp.actor_with('{"role": "service_role", "user_role": "super_admin"}'),
          'job', 'claims without a user keep p_actor, whatever role they carry');
SELECT is(pg_temp.actor_with(NULL), 'job', 'no claims keep p_actor');

SELECT * FROM finish();
ROLLBACK;
