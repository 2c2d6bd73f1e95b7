-- Hand-written: the reverse of upgrade/0041_close_legacy_grants.sql, replayed from its
-- adoption_report rows: the privileges PUBLIC, anon and authenticated held on the production
-- tables and sequences that are still there, the policies' roles, and Supabase's default
-- privileges in hubspot_sync, each as it was (the grantees after them, service_role, step aside
-- and come back, so that each ACL lists its grantees in the order it had). Its report rows go.
DO $$
DECLARE
    v_row record;
    v_other record;
    v_item text;
    v_kind text;
    v_owner text;
    v_others text[];
BEGIN
    FOR v_row IN SELECT r.object, r.old_value, c.relkind, c.relacl,
                        pg_catalog.pg_get_userbyid(c.relowner) AS owner
                 FROM hubspot_sync.adoption_report AS r
                 JOIN pg_catalog.pg_class AS c ON c.oid = to_regclass(r.object)
                 WHERE r.revision = '0002_mockbook_1_0' AND r.action = 'revoked legacy privileges'
                 ORDER BY r.id
    LOOP
        v_kind := CASE WHEN v_row.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END;
        SELECT array_agg(format('%s %s%s', a.privilege_type, quote_ident(r.rolname),
                                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                         ORDER BY a.ord)
        INTO v_others
        FROM aclexplode(v_row.relacl) WITH ORDINALITY AS a(grantor, grantee, privilege_type,
                                                             is_grantable, ord)
        JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
        WHERE a.grantee <> a.grantor AND r.rolname NOT IN ('anon', 'authenticated');
        FOR v_other IN SELECT DISTINCT split_part(o, ' ', 2) AS who FROM unnest(v_others) AS o LOOP
            EXECUTE format('REVOKE ALL ON %s %s FROM %s', v_kind, v_row.object, v_other.who);
        END LOOP;
        FOREACH v_item IN ARRAY string_to_array(v_row.old_value, ', ') LOOP
            EXECUTE format('GRANT %s ON %s %s TO %s', split_part(v_item, ':', 2), v_kind,
                           v_row.object, CASE split_part(v_item, ':', 1) WHEN 'PUBLIC' THEN 'PUBLIC'
                                         ELSE quote_ident(split_part(v_item, ':', 1)) END);
        END LOOP;
        FOREACH v_item IN ARRAY coalesce(v_others, '{}') LOOP
            EXECUTE format('GRANT %s ON %s %s TO %s', split_part(v_item, ' ', 1), v_kind,
                           v_row.object, substr(v_item, strpos(v_item, ' ') + 1));
        END LOOP;
    END LOOP;

    FOR v_row IN SELECT object FROM hubspot_sync.adoption_report
                 WHERE revision = '0002_mockbook_1_0'
                   AND action = 'policy narrowed to service_role'
    LOOP
        EXECUTE format('ALTER POLICY %I ON %s TO public',
                       substr(v_row.object, strpos(v_row.object, ' ') + 1),
                       split_part(v_row.object, ' ', 1));
    END LOOP;

    -- default privileges: old_value 'for role <owner>: anon:SELECT, ..., authenticated:...'
    FOR v_row IN SELECT r.object, r.old_value FROM hubspot_sync.adoption_report AS r
                 WHERE r.revision = '0002_mockbook_1_0' AND r.action = 'default privileges revoked'
                   AND r.old_value LIKE 'for role %: %'
                 ORDER BY r.id
    LOOP
        v_owner := split_part(substr(v_row.old_value, length('for role ') + 1), ': ', 1);
        v_kind := CASE split_part(v_row.object, ' ', 2) WHEN 'r' THEN 'TABLES'
                       WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES'
                       ELSE 'SCHEMAS' END;
        SELECT array_agg(format('%s %s%s', a.privilege_type, quote_ident(r.rolname),
                                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                         ORDER BY a.ord)
        INTO v_others
        FROM pg_catalog.pg_default_acl AS d
        CROSS JOIN LATERAL aclexplode(d.defaclacl) WITH ORDINALITY AS a(grantor, grantee,
                                                        privilege_type, is_grantable, ord)
        JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
        WHERE d.defaclnamespace = 'hubspot_sync'::regnamespace
          AND d.defaclrole = to_regrole(v_owner)
          AND d.defaclobjtype::text = split_part(v_row.object, ' ', 2)
          AND r.rolname NOT IN ('anon', 'authenticated');
        FOR v_other IN SELECT DISTINCT split_part(o, ' ', 2) AS who FROM unnest(v_others) AS o LOOP
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA hubspot_sync'
                           ' REVOKE ALL ON %s FROM %s', v_owner, v_kind, v_other.who);
        END LOOP;
        FOREACH v_item IN ARRAY string_to_array(
                substr(v_row.old_value, strpos(v_row.old_value, ': ') + 2), ', ') LOOP
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA hubspot_sync'
                           ' GRANT %s ON %s TO %I%s', v_owner,
                           split_part(rtrim(v_item, '*'), ':', 2), v_kind,
                           split_part(v_item, ':', 1),
                           CASE WHEN v_item LIKE '%*' THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        FOREACH v_item IN ARRAY coalesce(v_others, '{}') LOOP
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA hubspot_sync'
                           ' GRANT %s ON %s TO %s', v_owner, split_part(v_item, ' ', 1), v_kind,
                           substr(v_item, strpos(v_item, ' ') + 1));
        END LOOP;
    END LOOP;

    DELETE FROM hubspot_sync.adoption_report WHERE revision = '0002_mockbook_1_0'
        AND action IN ('revoked legacy privileges', 'revoked legacy EXECUTE',
                       'policy narrowed to service_role', 'default privileges revoked',
                       'legacy grants kept (mockbook.keep_legacy_grants = on)');
END
$$;
