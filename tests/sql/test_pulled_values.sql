-- pulled_text, pulled_int, pulled_date, pulled_timestamp: reading HubSpot's property values (all
-- strings) into columns, with "missing property" and malformed values as INVALID_ARGUMENT;
-- pulled_created_at: a record's createdAt, never refused (now() instead).
BEGIN;
SELECT plan(66);

SELECT * FROM tests.glue_function_ok('pulled_text', ARRAY['jsonb', 'text', 'boolean'], 'stable', p_glue := false);
SELECT * FROM tests.glue_function_ok('pulled_int', ARRAY['jsonb', 'text', 'boolean'], 'stable', p_glue := false);
SELECT * FROM tests.glue_function_ok('pulled_date', ARRAY['jsonb', 'text', 'boolean'], 'stable', p_glue := false);
SELECT * FROM tests.glue_function_ok('pulled_timestamp', ARRAY['jsonb', 'text', 'boolean'],
                                     'stable', p_glue := false);
SELECT * FROM tests.glue_function_ok('pulled_created_at', ARRAY['jsonb'], 'stable', p_glue := false);
SELECT * FROM tests.request_roles_refused('mockbook_internal.pulled_text(''{}'', ''x'')');

SELECT is(mockbook_internal.pulled_text('{"a": "  x  "}', 'a'), 'x', 'text is trimmed');
SELECT is(mockbook_internal.pulled_text('{"a": "   "}', 'a'), NULL, 'blank is NULL');
SELECT is(mockbook_internal.pulled_text('{"a": 12}', 'a'), '12', 'a JSON number is read as text');
SELECT throws_like($$SELECT mockbook_internal.pulled_text('{}', 'email', true)$$,
                   '%INVALID_ARGUMENT%', 'a required property that is missing is refused');
SELECT is(tests.rpc_error(current_user, 'mockbook_internal.pulled_text(''{}'', ''email'', true)'),
          'PT400 INVALID_ARGUMENT: missing property email', '... naming it');
SELECT throws_ok($$SELECT mockbook_internal.pulled_text('{"a": {"b": 1}}', 'a')$$, 'PT400',
                 'INVALID_ARGUMENT', 'an object is not a property value');

SELECT is(mockbook_internal.pulled_int('{"n": "12"}', 'n'), 12, 'a whole number');
SELECT is(mockbook_internal.pulled_int('{"n": "12.0"}', 'n'), 12, 'HubSpot''s 12.0 is 12');
SELECT is(mockbook_internal.pulled_int('{"n": ""}', 'n'), NULL, 'blank is NULL');
SELECT throws_ok($$SELECT mockbook_internal.pulled_int('{"n": "twelve"}', 'n')$$, 'PT400',
                 'INVALID_ARGUMENT', 'words are refused');
SELECT throws_ok($$SELECT mockbook_internal.pulled_int('{"n": "-1"}', 'n')$$, 'PT400',
                 'INVALID_ARGUMENT', 'negative numbers are refused');
SELECT throws_ok($$SELECT mockbook_internal.pulled_int('{"n": "1.5"}', 'n')$$, 'PT400',
                 'INVALID_ARGUMENT', 'fractions are refused');
SELECT throws_ok($$SELECT mockbook_internal.pulled_int('{"n": "99999999999"}', 'n')$$, 'PT400',
                 'INVALID_ARGUMENT', 'numbers too large are refused');

SELECT is(mockbook_internal.pulled_date('{"d": "2031-03-01"}', 'd'), '2031-03-01'::date, 'a date');
SELECT is(mockbook_internal.pulled_date('{"d": "1930089600000"}', 'd'), '2031-03-01'::date,
          'epoch milliseconds of midnight UTC (how HubSpot stores dates)');
SELECT is(mockbook_internal.pulled_date('{"d": "2031-03-01T23:30:00-05:00"}', 'd'), '2031-03-02'::date,
          'a date-time: its UTC day');
SELECT throws_ok($$SELECT mockbook_internal.pulled_date('{"d": "March 1st"}', 'd')$$, 'PT400',
                 'INVALID_ARGUMENT', 'not a date');
SELECT throws_ok($$SELECT mockbook_internal.pulled_date('{"d": "2031-02-30"}', 'd')$$, 'PT400',
                 'INVALID_ARGUMENT', 'an impossible date');

SELECT is(mockbook_internal.pulled_timestamp('{"t": "2031-03-01T08:00:00.000Z"}', 't'),
          '2031-03-01 08:00:00+00'::timestamptz, 'ISO 8601');
SELECT is(mockbook_internal.pulled_timestamp('{"t": "1930118400000"}', 't'),
          '2031-03-01 08:00:00+00'::timestamptz, 'epoch milliseconds');
SELECT is(mockbook_internal.pulled_timestamp('{}', 't'), NULL, 'absent is NULL');
SELECT throws_ok($$SELECT mockbook_internal.pulled_timestamp('{"t": "soon"}', 't')$$, 'PT400',
                 'INVALID_ARGUMENT', 'not a date-time');
SELECT throws_ok($$SELECT mockbook_internal.pulled_timestamp('{"t": "2031-03-01T25:00:00Z"}', 't')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an impossible time');

-- createdAt is a top-level field of the object, not a property; now() (the transaction's start
-- here) when it cannot be used, and the record is never refused for it
SELECT is(mockbook_internal.pulled_created_at('{"id": "1", "createdAt": "2025-01-13T15:30:00.000Z"}'),
          '2025-01-13 15:30:00+00'::timestamptz, 'createdAt in ISO 8601 (as HubSpot returns it)');
SELECT is(mockbook_internal.pulled_created_at('{"createdAt": "2025-01-13T10:30:00-05:00"}'),
          '2025-01-13 15:30:00+00'::timestamptz, 'with an offset');
SELECT is(mockbook_internal.pulled_created_at('{"createdAt": 1736782200000}'),
          '2025-01-13 15:30:00+00'::timestamptz, 'epoch milliseconds (a JSON number too)');
SELECT is(mockbook_internal.pulled_created_at('{"id": "1", "properties": {}}'), now(),
          'missing: now()');
SELECT is(mockbook_internal.pulled_created_at('{"createdAt": null}'), now(), 'null: now()');
SELECT is(mockbook_internal.pulled_created_at('{"createdAt": "yesterday"}'), now(),
          'not a date-time: now(), not an error');
SELECT is(mockbook_internal.pulled_created_at('{"createdAt": "2025-02-30T10:00:00Z"}'), now(),
          'an impossible date: now()');
SELECT is(mockbook_internal.pulled_created_at('{"createdAt": {"at": 1}}'), now(),
          'not a scalar: now()');
SELECT is(mockbook_internal.pulled_created_at(
              jsonb_build_object('createdAt', to_char(now() + interval '1 day',
                                                      'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
          now(), 'in the future: now()');
SELECT is(mockbook_internal.pulled_created_at('"2025-01-13"'), now(), 'not an object: now()');
SELECT is(mockbook_internal.pulled_created_at(NULL), now(), 'NULL: now()');

SELECT * FROM finish();
ROLLBACK;
