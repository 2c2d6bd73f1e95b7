-- Hand-written: the reverse of upgrade/0050_alembic_version_privileges.sql. Alembic's version
-- table stays (it says 0001_baseline); PUBLIC, anon, authenticated and service_role get back
-- what the default privileges gave it when it was made: those of its owner for tables in every
-- schema, then in the schema mockbook.
DO $$
DECLARE
    v_grant record;
BEGIN
    FOR v_grant IN
        SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                      ELSE quote_ident(r.rolname) END AS who,
               a.is_grantable
        FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_default_acl AS d
          ON d.defaclrole = c.relowner AND d.defaclobjtype = 'r'
         AND d.defaclnamespace IN (0, c.relnamespace)
        CROSS JOIN LATERAL aclexplode(d.defaclacl) WITH ORDINALITY AS a(grantor, grantee,
                                                        privilege_type, is_grantable, ord)
        LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
        WHERE c.oid = to_regclass('mockbook.alembic_version')
          AND (a.grantee = 0 OR r.rolname IN ('anon', 'authenticated', 'service_role'))
        ORDER BY d.defaclnamespace, a.ord
    LOOP
        EXECUTE format('GRANT %s ON TABLE mockbook.alembic_version TO %s%s', v_grant.privilege_type,
                       v_grant.who, CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION'
                                         ELSE '' END);
    END LOOP;
END
$$;
