-- Fixture helpers of the analytics tests (tests/sql/test_analytics.sql): a second database
-- session, through dblink, to hold the refresh lock while the test session tries to refresh.
-- dblink is called through EXECUTE so these helpers load even where dblink is not installed;
-- tests.other_session_open() returns false there (or when the server needs a password), and
-- the tests that need a second session are skipped.

-- Opens the second session (named 'mockbook_other') on the current database; true when open.
-- Creates the dblink extension inside the caller's transaction (rolled back with it).
CREATE OR REPLACE FUNCTION tests.other_session_open() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_schema text;
    v_host text;
BEGIN
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'dblink') THEN
            CREATE EXTENSION dblink WITH SCHEMA tests;
        END IF;
        SELECT extnamespace::regnamespace::text INTO v_schema
        FROM pg_extension WHERE extname = 'dblink';
        v_host := coalesce(host(inet_server_addr()),
                           split_part(current_setting('unix_socket_directories'), ',', 1));
        EXECUTE format('SELECT %s.dblink_connect($1, $2)', v_schema)
        USING 'mockbook_other',
              format('host=%s port=%s dbname=%s user=%s', v_host, current_setting('port'),
                     current_database(), session_user);
        RETURN true;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'tests.other_session_open: no second session (%)', SQLERRM;
        RETURN false;
    END;
END
$$;

-- Runs one query returning a single value in the second session; its value as text.
CREATE OR REPLACE FUNCTION tests.other_session(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_result text;
BEGIN
    EXECUTE format('SELECT x FROM %s.dblink($1, $2) AS t(x text)',
                   (SELECT extnamespace::regnamespace::text FROM pg_extension
                    WHERE extname = 'dblink'))
    INTO v_result USING 'mockbook_other', p_sql;
    RETURN v_result;
END
$$;

-- Closes the second session (releasing whatever it held).
CREATE OR REPLACE FUNCTION tests.other_session_close() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT %s.dblink_disconnect($1)',
                   (SELECT extnamespace::regnamespace::text FROM pg_extension
                    WHERE extname = 'dblink'))
    USING 'mockbook_other';
END
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tests TO PUBLIC;
