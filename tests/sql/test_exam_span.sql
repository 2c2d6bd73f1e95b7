-- mockbook_internal.exam_span: the [started, over] pair every rule and job reads, row by row of
-- docs/rpc.md's "Unknown times" table, in the business time zone (America/Toronto here).
BEGIN;
SELECT plan(10);

SET LOCAL mockbook.business_timezone_in_transaction = 'America/Toronto';

CREATE TEMP TABLE spans (what text, d date, s timestamptz, e timestamptz, started timestamptz,
                         over timestamptz);
INSERT INTO spans VALUES
    ('start and end readable', '2027-03-15', '2027-03-15 14:00Z', '2027-03-15 17:00Z',
     '2027-03-15 14:00Z', '2027-03-15 17:00Z'),
    ('an unknown end is the end of the day', '2027-03-15', '2027-03-15 14:00Z', NULL,
     '2027-03-15 14:00Z', '2027-03-16 04:00Z'),
    ('an unknown start is the start of the day (the clocks skipped 02:30)', '2027-03-14', NULL,
     '2027-03-14 07:30Z', '2027-03-14 05:00Z', '2027-03-14 07:30Z'),
    ('neither known: the whole day (a 23-hour day)', '2027-03-14', NULL, NULL,
     '2027-03-14 05:00Z', '2027-03-15 04:00Z'),
    ('neither known: the whole day (a 25-hour day)', '2027-11-07', NULL, NULL,
     '2027-11-07 04:00Z', '2027-11-08 05:00Z'),
    ('an end before the start: started at the end', '2027-03-15', '2027-03-15 17:00Z',
     '2027-03-15 14:00Z', '2027-03-15 14:00Z', '2027-03-15 14:00Z'),
    ('a start after the unknown end of its day: started at that end', '2027-03-15',
     '2027-03-16 15:00Z', NULL, '2027-03-16 04:00Z', '2027-03-16 04:00Z'),
    ('no date, no instant: started and over', NULL, NULL, NULL, '-infinity', '-infinity'),
    ('no date, a start only: over at its start', NULL, '2027-03-15 14:00Z', NULL,
     '2027-03-15 14:00Z', '2027-03-15 14:00Z');

SELECT is((SELECT ARRAY[lower(mockbook_internal.exam_span(d, s, e)),
                        upper(mockbook_internal.exam_span(d, s, e))]), ARRAY[started, over], what)
FROM spans ORDER BY what;

SELECT ok(NOT isempty(mockbook_internal.exam_span('2027-03-15', '2027-03-15 14:00Z',
                                                  '2027-03-15 14:00Z'))
          AND upper_inc(mockbook_internal.exam_span('2027-03-15', NULL, NULL)),
          'a span is never empty, its end included: an exam starting and ending at once is over');

SELECT * FROM finish();
ROLLBACK;
