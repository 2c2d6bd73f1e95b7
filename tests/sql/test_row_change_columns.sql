-- record_row_change's column lists (db/triggers/row_change.sql) against the catalog. The trigger
-- compares NEW and OLD column by column from a list per table (cheaper than
-- diffing jsonb), so the lists repeat the tables' columns: a column added to a table and not to
-- its lists would go unaudited and unqueued when it alone changes, silently. These checks fail
-- until both lists of the table name every column but the bookkeeping ones (synced_at,
-- hubspot_last_sync_at, updated_at, and an exam's derived instants: exam_starts_at,
-- exam_ends_at, time_problem, which change only with the columns they are derived from), each item compares and names the same column, and the
-- lists are in the order changed_fields has (ORDER BY in the database's collation, and in "C":
-- the same list must be right wherever it is deployed). The last checks show the comparison
-- sees an added column, and that a table given the trigger without lists is refused.
BEGIN;
SELECT plan(21);

-- the n-th list of p_table in the function's source: 1 = UPDATE's, 2 = INSERT's (either one
-- written as is or inside array_remove(..., NULL))
CREATE FUNCTION pg_temp.list_text(p_table text, p_n int) RETURNS text LANGUAGE sql AS $$
    SELECT r.m[1]
    FROM pg_proc AS p,
         regexp_matches(p.prosrc, 'TG_TABLE_NAME = ''' || p_table
                                  || ''' THEN\s+v_fields := (?:array_remove\()?ARRAY\[([^]]*)\]'
                                  || '(?:, NULL\))?;', 'g')
             WITH ORDINALITY AS r(m, n)
    WHERE p.oid = 'mockbook_internal.record_row_change()'::regprocedure AND r.n = p_n
$$;

-- the column names the list's items give changed_fields, in the list's order; an item whose
-- tested column(s) and name differ yields NULL (so the arrays differ)
CREATE FUNCTION pg_temp.listed(p_table text, p_n int) RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY(
        SELECT CASE WHEN i.m[1] = i.m[2] AND i.m[2] = i.m[cardinality(i.m)]
                    THEN i.m[cardinality(i.m)] END
        FROM regexp_matches(pg_temp.list_text(p_table, p_n),
                 CASE p_n WHEN 1 THEN 'CASE WHEN NEW\.(\w+)\s+IS DISTINCT FROM OLD\.(\w+)\s+'
                                      || 'THEN ''(\w+)'' END'
                          ELSE 'CASE WHEN NEW\.(\w+) IS NOT NULL\s+THEN ''(\w+)'' END' END, 'g')
             WITH ORDINALITY AS i(m, n)
        ORDER BY i.n)
$$;

-- how many items (CASE ...) the list has: each must be one the pattern above read
CREATE FUNCTION pg_temp.items(p_table text, p_n int) RETURNS int LANGUAGE sql AS $$
    SELECT count(*)::int FROM regexp_matches(pg_temp.list_text(p_table, p_n), 'CASE WHEN', 'g')
$$;

-- the table's columns less the bookkeeping ones, in ORDER BY's order (the database's collation,
-- as the jsonb diff's jsonb_agg(key ORDER BY key) had them)
CREATE FUNCTION pg_temp.columns(p_table text) RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY(
        SELECT a.attname::text
        FROM pg_attribute AS a
        WHERE a.attrelid = ('hubspot_sync.' || p_table)::regclass AND a.attnum > 0
          AND NOT a.attisdropped
          AND a.attname NOT IN ('synced_at', 'hubspot_last_sync_at', 'updated_at',
                                'exam_starts_at', 'exam_ends_at', 'time_problem')
        ORDER BY a.attname::text)
$$;

SELECT set_eq(
    $$SELECT format('%s.%s', n.nspname, c.relname)
      FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
      WHERE t.tgfoid = 'mockbook_internal.record_row_change()'::regprocedure$$,
    ARRAY['hubspot_sync.hubspot_contact_credits', 'hubspot_sync.hubspot_mock_exams',
          'hubspot_sync.hubspot_bookings'],
    'record_row_change is on exactly the three tables it has column lists for');

SELECT is(pg_temp.listed(t, n), pg_temp.columns(t),
          format('%s: the %s list names every column but the bookkeeping ones, in order',
                 t, CASE n WHEN 1 THEN 'UPDATE' ELSE 'INSERT' END))
FROM unnest(ARRAY['hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings']) AS t,
     generate_series(1, 2) AS n;

SELECT is(cardinality(pg_temp.listed(t, n)), pg_temp.items(t, n),
          format('%s: every item of the %s list tests the column it names',
                 t, CASE n WHEN 1 THEN 'UPDATE' ELSE 'INSERT' END))
FROM unnest(ARRAY['hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings']) AS t,
     generate_series(1, 2) AS n;

SELECT is(ARRAY(SELECT c FROM unnest(pg_temp.columns(t)) AS c ORDER BY c COLLATE "C"),
          pg_temp.columns(t),
          format('%s: its columns sort alike in "C" and in the database''s collation', t))
FROM unnest(ARRAY['hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings']) AS t;

-- the lists as the rows show them: an insert lists exactly the non-NULL columns, in order
CREATE TEMP TABLE t_ids ON COMMIT DROP AS
SELECT tests.make_exam(p_capacity := 5) AS exam, tests.make_student(p_sj := 3) AS student;
SELECT is((SELECT changed_fields FROM hubspot_sync.supabase_audit_log AS l
           JOIN hubspot_sync.hubspot_mock_exams AS e ON e.id = l.record_id
           WHERE e.hubspot_id = (SELECT exam FROM t_ids) AND l.operation = 'INSERT'),
          (SELECT jsonb_agg(k ORDER BY k)
           FROM hubspot_sync.hubspot_mock_exams AS e,
                jsonb_object_keys(jsonb_strip_nulls(to_jsonb(e))) AS k
           WHERE e.hubspot_id = (SELECT exam FROM t_ids)
             AND k NOT IN ('synced_at', 'hubspot_last_sync_at', 'updated_at',
                           'exam_starts_at', 'exam_ends_at', 'time_problem')),
          'an inserted exam''s changed_fields: its non-NULL columns, sorted');
UPDATE hubspot_sync.hubspot_mock_exams
SET total_bookings = total_bookings + 1, capacity = 9, location = 'Vancouver',
    updated_at = now() + interval '1 minute'
WHERE hubspot_id = (SELECT exam FROM t_ids);
SELECT is((SELECT changed_fields || jsonb_build_array(old_values ? 'capacity',
                                                      new_values -> 'capacity')
           FROM hubspot_sync.supabase_audit_log AS l
           JOIN hubspot_sync.hubspot_mock_exams AS e ON e.id = l.record_id
           WHERE e.hubspot_id = (SELECT exam FROM t_ids) AND l.operation = 'UPDATE'),
          '["capacity", "location", "total_bookings", true, 9]'::jsonb,
          'an update of three columns lists them sorted, with their values; not updated_at');

-- the checks above can fail: a column added to a table is missing from its lists
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN t_added text;
SELECT isnt(pg_temp.listed('hubspot_bookings', 1), pg_temp.columns('hubspot_bookings'),
            'a column added to hubspot_bookings is seen missing from its UPDATE list');
SELECT isnt(pg_temp.listed('hubspot_bookings', 2), pg_temp.columns('hubspot_bookings'),
            'and from its INSERT list');

-- a table given the trigger without lists: every write is refused, none goes unaudited
CREATE TABLE hubspot_sync.t_unlisted (id uuid PRIMARY KEY, hubspot_id text);
CREATE TRIGGER record_row_change AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.t_unlisted
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.record_row_change();
SELECT throws_ok($$INSERT INTO hubspot_sync.t_unlisted VALUES (gen_random_uuid(), 'x')$$,
                 'XX000', 'record_row_change has no column list for table t_unlisted',
                 'a table the trigger has no column list for: the write fails (XX000)');

SELECT * FROM finish();
ROLLBACK;
