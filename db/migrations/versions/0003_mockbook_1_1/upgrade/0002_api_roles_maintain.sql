-- Hand-written: no MAINTAIN for the API roles on mockbook's tables (docs/dba.md, "Privileges,
-- exactly"). PostgreSQL 17 added MAINTAIN (VACUUM, ANALYZE, REINDEX, REFRESH, LOCK TABLE) to
-- what GRANT ALL gives: 1.0's table files granted service_role ALL and revoked the writes, and
-- Supabase's default privileges grant ALL to anon, authenticated and service_role, so on 17 and
-- later service_role held MAINTAIN on ten of mockbook's tables and could LOCK TABLE the ledger
-- and stall every booking. Revoked wherever an API role (or PUBLIC) holds it on a relation of
-- mockbook's schemas, the production tables mockbook does not own aside (their grants are
-- production's); on PostgreSQL 15 and 16 nobody holds it and nothing is done.
DO $maintain$
DECLARE
    v record;
BEGIN
    FOR v IN
        SELECT DISTINCT c.oid::regclass AS rel,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                    ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS who
        FROM pg_catalog.pg_class AS c
        CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS a
        WHERE c.relnamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
          AND a.privilege_type = 'MAINTAIN'
          AND (a.grantee = 0 OR pg_catalog.pg_get_userbyid(a.grantee)
                                IN ('anon', 'authenticated', 'service_role'))
          AND c.relname NOT IN ('audit_log', 'groups', 'groups_instructors', 'groups_students',
                                'instructors', 'work_check_bookings', 'work_check_slots')
        ORDER BY 1, 2
    LOOP
        EXECUTE pg_catalog.format('REVOKE MAINTAIN ON %s FROM %s', v.rel, v.who);
    END LOOP;
END
$maintain$;
