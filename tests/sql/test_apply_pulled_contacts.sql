-- apply_pulled_contacts: contacts read from HubSpot; credits merged as deltas against the last
-- synced values (a local deduction not pushed yet survives an admin's change), the push's own
-- write recognised, never below zero, profile fields from HubSpot, malformed records reported.
BEGIN;
SELECT plan(41);

SELECT * FROM tests.glue_function_ok('apply_pulled_contacts', ARRAY['jsonb', 'text', 'boolean'],
                                     'volatile');
SELECT * FROM tests.request_roles_refused('mockbook_internal.apply_pulled_contacts(''[]'')');

CREATE TEMP TABLE r (n int PRIMARY KEY, result jsonb);
CREATE FUNCTION pg_temp.apply(p_records jsonb, p_merge boolean DEFAULT true) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT tests.rpc('mockbook_glue', format(
        'mockbook_internal.apply_pulled_contacts(p_contacts := %L, p_actor := %L, '
        'p_merge_credits := %L)', p_records, 'hubspot:pull', p_merge))
$$;
CREATE FUNCTION pg_temp.counts(p_n int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT result - 'errors' - 'retry' - 'clamped' - 'recheck' - 'held' - 'blank' FROM r WHERE n = p_n
$$;

-- A new contact: zero balances, then 'import' ledger rows up to HubSpot's values.
INSERT INTO r VALUES (1, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC1', 'PCS1', '{"cs_credits": "5", "shared_mock_credits": "1"}'))));
SELECT is(pg_temp.counts(1), '{"inserted": 1, "updated": 0, "unchanged": 0, "baselined": 0,
                              "merged": 0, "queued": 0}'::jsonb, 'a new contact is inserted');
SELECT is(tests.ledger_of('PCS1'),
          ARRAY['cs_credits 5 5 import', 'shared_mock_credits 1 1 import'],
          'its balances come in as import ledger rows');
SELECT is((SELECT s.credits FROM hubspot_sync.contact_credit_sync s
           JOIN hubspot_sync.hubspot_contact_credits c ON c.id = s.contact_id
           WHERE c.student_id = 'PCS1'),
          '{"sj_credits": 0, "cs_credits": 5, "sjmini_credits": 0, "mock_discussion_token": 0,
            "shared_mock_credits": 1}'::jsonb, 'HubSpot''s values are remembered');

-- The issue's case: a booking spends 5 -> 4 (not pushed), the admin sets 5 -> 7 in HubSpot.
DO $$ BEGIN PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'PCX1'); END $$;
SELECT ok(tests.book('PCS1', 'PCX1', 'pck1', p_hand := 'left') ->> 'success' = 'true',
          'the student books (cs 5 -> 4)');
INSERT INTO r VALUES (2, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC1', 'PCS1', '{"cs_credits": "7", "shared_mock_credits": "1"}'))));
SELECT is(tests.balance('PCS1', 'cs_credits'), 6, 'the admin''s +2 is added to the local 4');
SELECT is((tests.ledger_of('PCS1'))[3:4],
          ARRAY['cs_credits -1 4 booking', 'cs_credits 2 6 hubspot_adjustment'],
          'the ledger explains both steps');
SELECT is(pg_temp.counts(2) ->> 'merged', '1', 'one contact merged');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_queue q
           JOIN hubspot_sync.hubspot_contact_credits c ON c.id = q.record_id
           WHERE c.student_id = 'PCS1' AND q.done_at IS NULL), 1::bigint,
          'the contact is queued once for the push (6 is not HubSpot''s 7)');

-- The push is sending 6; HubSpot then says 6: that is the push's write, not a change.
DO $$ BEGIN
    PERFORM tests.rpc('mockbook_glue', format('mockbook_internal.record_credit_push(%L, false)',
        jsonb_build_object((SELECT id FROM hubspot_sync.hubspot_contact_credits
                            WHERE student_id = 'PCS1')::text, '{"cs_credits": 6}'::jsonb)));
END $$;
INSERT INTO r VALUES (3, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC1', 'PCS1', '{"cs_credits": "6", "shared_mock_credits": "1"}'))));
SELECT is(tests.balance('PCS1', 'cs_credits'), 6, 'the push''s own write changes nothing');
SELECT is((SELECT format('%s %s', s.credits ->> 'cs_credits', s.pushing IS NULL)
           FROM hubspot_sync.contact_credit_sync s JOIN hubspot_sync.hubspot_contact_credits c
           ON c.id = s.contact_id WHERE c.student_id = 'PCS1'), '6 t',
          '... it becomes the last synced value');

-- The student spends 5 locally (6 -> 1); the admin removes all 6 in HubSpot: stops at zero.
DO $$ BEGIN
    PERFORM tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''PCS1'', '
                      'p_credit_field := ''cs_credits'', p_delta := -5, p_reason := ''spent'', '
                      'p_actor := ''admin@x'')');
END $$;
INSERT INTO r VALUES (4, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC1', 'PCS1', '{"cs_credits": "0", "shared_mock_credits": "1"}'))));
SELECT is(tests.balance('PCS1', 'cs_credits'), 0, 'a removal larger than the balance stops at 0');
SELECT is((SELECT result -> 'clamped' FROM r WHERE n = 4),
          '[{"id": "PC1", "field": "cs_credits", "hubspot_change": -6, "applied": -1}]'::jsonb,
          '... and is reported');

-- A contact known locally but never synced: a baseline (Postgres wins), queued for the push.
DO $$ BEGIN PERFORM tests.make_student(p_sj := 3, p_student_id := 'PCS2', p_hubspot_id := 'PC2'); END $$;
UPDATE hubspot_sync.sync_queue SET done_at = now() WHERE done_at IS NULL;
INSERT INTO r VALUES (5, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC2', 'PCS2', '{"sj_credits": "5", "firstname": "Renamed"}'))));
SELECT is(pg_temp.counts(5), '{"inserted": 0, "updated": 1, "unchanged": 0, "baselined": 1,
                              "merged": 0, "queued": 1}'::jsonb,
          'a first sight is a baseline: no merge, queued because the balances differ');
SELECT is(format('%s %s', tests.balance('PCS2', 'sj_credits'),
                 (SELECT firstname FROM hubspot_sync.hubspot_contact_credits
                  WHERE student_id = 'PCS2')), '3 Renamed',
          'the local balance stays; the profile comes from HubSpot');

-- Matched by email when the local contact has no HubSpot id yet.
DO $$ BEGIN PERFORM tests.make_student(p_student_id := 'PCS3'); END $$;
UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL WHERE student_id = 'PCS3';
INSERT INTO r VALUES (6, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC3', 'PCS3', '{"email": "PCS3@Example.com"}'))));
SELECT is((SELECT hubspot_id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'PCS3'),
          'PC3', 'a local contact without HubSpot id is matched by email and linked');

-- Without merging (reconcile's profile repair): balances untouched.
INSERT INTO r VALUES (7, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC2', 'PCS2', '{"sj_credits": "50", "lastname": "Changed"}')), false));
SELECT is(format('%s %s', tests.balance('PCS2', 'sj_credits'),
                 (SELECT lastname FROM hubspot_sync.hubspot_contact_credits
                  WHERE student_id = 'PCS2')), '3 Changed',
          'p_merge_credits false applies the profile only');

-- A push holds PCS2's outbox row (a live lease: it may be writing its credits to HubSpot right
-- now): the merge waits for its write-back (tests/py/sync/test_push_pull_race.py is the race).
UPDATE hubspot_sync.sync_queue AS q
SET lease_owner = 'worker-T', lease_expires_at = now() + interval '1 minute'
FROM hubspot_sync.hubspot_contact_credits AS c
WHERE c.id = q.record_id AND c.student_id = 'PCS2' AND q.done_at IS NULL;
INSERT INTO r VALUES (9, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC2', 'PCS2', '{"sj_credits": "9", "lastname": "Busy"}'))));
SELECT is((SELECT result -> 'retry' FROM r WHERE n = 9), '["PC2"]'::jsonb,
          'a contact a push is sending is BUSY: in retry');
SELECT is(format('%s %s', tests.balance('PCS2', 'sj_credits'),
                 (SELECT lastname FROM hubspot_sync.hubspot_contact_credits
                  WHERE student_id = 'PCS2')), '3 Changed',
          '... and nothing of the record is applied');
INSERT INTO r VALUES (10, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC2', 'PCS2', '{"sj_credits": "9", "lastname": "Profile"}')), false));
SELECT is((SELECT lastname FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'PCS2'),
          'Profile', 'without merging (no credit touched) the lease does not hold it back');
UPDATE hubspot_sync.sync_queue AS q SET lease_expires_at = now() - interval '1 second'
FROM hubspot_sync.hubspot_contact_credits AS c
WHERE c.id = q.record_id AND c.student_id = 'PCS2' AND q.done_at IS NULL;
-- Once the lease has expired (the push died), whether the push wrote what it claimed (3)
-- shows only in HubSpot's property history: a search result is read again with it.
INSERT INTO r VALUES (11, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC2', 'PCS2', '{"sj_credits": "9", "lastname": "Profile"}'))));
SELECT is((SELECT result -> 'recheck' FROM r WHERE n = 11), '["PC2"]'::jsonb,
          'once the lease has expired (the push died), a search result is read again');
INSERT INTO r VALUES (12, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC2', 'PCS2', '{"sj_credits": "9", "lastname": "Profile"}')
    || '{"propertiesWithHistory": {"sj_credits": [
          {"value": "9", "timestamp": "2031-01-02T00:00:00.000Z"},
          {"value": "5", "timestamp": "2031-01-01T00:00:00.000Z"}]}}'::jsonb)));
SELECT is(tests.balance('PCS2', 'sj_credits'), 7,
          '... with a history where the push wrote nothing, the admin''s 5 -> 9 is merged: 3 + 4');

-- Malformed records: reported alone, nothing changes.
INSERT INTO r VALUES (8, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC1', 'PCS1', '{"cs_credits": "lots"}'),
    tests.hs_contact('PC4', 'PCS4', '{"email": ""}'),
    tests.hs_contact('PC5', 'PCS2', '{"email": "other@example.com"}'),
    tests.hs_contact('PC6', 'PCS6', '{"student_id": ""}'),
    tests.hs_contact('PC7', 'PCS7'))));
SELECT is((SELECT jsonb_array_length(result -> 'errors') FROM r WHERE n = 8), 4,
          'four malformed contacts are reported');
SELECT matches((SELECT string_agg(e ->> 'error', ' | ' ORDER BY e ->> 'id')
                FROM r, jsonb_array_elements(result -> 'errors') e WHERE n = 8),
               'cs_credits is not a whole number.*missing property email.*'
               'DUPLICATE_KEY: property student_id PCS2 is already.*missing property student_id',
               'each error says what is wrong');
SELECT is(tests.balance('PCS1', 'cs_credits'), 0, 'a malformed record changes nothing');
SELECT is((SELECT count(*) FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'PCS7'),
          1::bigint, 'the good record among them is applied');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_errors WHERE direction = 'pull'
           AND entity_type = 'hubspot_contact_credits' AND NOT resolved
           AND entity_id IN ('PC1', 'PC4', 'PC5', 'PC6', 'PC7')), 4::bigint,
          'the malformed ones are dead-lettered');
-- A push sent 3 and HubSpot took it, but the answer was lost (pushing still recorded); the
-- student then spends 1 (3 -> 2) and an admin adds 3 in HubSpot (3 -> 6). The history shows
-- the push's 3 written after the base (0) was read: the base is 3, the admin's change +3
-- (against the old base it was +6, and the 1 spent would have been counted twice).
DO $$ BEGIN
    PERFORM tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''PCS1'', '
                      'p_credit_field := ''cs_credits'', p_delta := 3, p_reason := ''gift'', '
                      'p_actor := ''admin@x'')');
    PERFORM tests.rpc('mockbook_glue', format('mockbook_internal.record_credit_push(%L, false)',
        jsonb_build_object((SELECT id FROM hubspot_sync.hubspot_contact_credits
                            WHERE student_id = 'PCS1')::text, '{"cs_credits": 3}'::jsonb)));
    PERFORM tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''PCS1'', '
                      'p_credit_field := ''cs_credits'', p_delta := -1, p_reason := ''spent'', '
                      'p_actor := ''admin@x'')');
END $$;
INSERT INTO r VALUES (13, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC1', 'PCS1', '{"cs_credits": "6", "shared_mock_credits": "1"}')
    || '{"propertiesWithHistory": {"cs_credits": [
          {"value": "6", "timestamp": "2031-01-03T00:00:00.000Z"},
          {"value": "3", "timestamp": "2031-01-02T00:00:00.000Z"},
          {"value": "0", "timestamp": "2031-01-01T00:00:00.000Z"}]}}'::jsonb)));
SELECT is(tests.balance('PCS1', 'cs_credits'), 5,
          'a lost-answer push HubSpot took is the base: the admin''s +3 is added to the local 2');
SELECT is((SELECT format('%s %s', s.credits ->> 'cs_credits', s.pushing IS NULL)
           FROM hubspot_sync.contact_credit_sync s JOIN hubspot_sync.hubspot_contact_credits c
           ON c.id = s.contact_id WHERE c.student_id = 'PCS1'), '6 t',
          '... and the push''s outcome is settled (pushing cleared)');
SELECT is(tests.balance_minus_ledger('PCS1'),
          ARRAY['cs_credits 0', 'mock_discussion_token 0', 'shared_mock_credits 0',
                'sj_credits 0', 'sjmini_credits 0'],
          'PCS1''s balances equal the sum of its ledger rows');


-- An empty value means what the record's "unknown" list says (the glue's catalogue): a name or
-- credit it names keeps the local value (listed in blank), one it does not name is cleared, a
-- credit merged as 0.
DO $$ BEGIN PERFORM tests.make_student(p_sj := 4, p_student_id := 'PCS9', p_hubspot_id := 'PC9'); END $$;
INSERT INTO r VALUES (14, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC9', 'PCS9', '{"sj_credits": "4", "firstname": "Nine"}'))));
INSERT INTO r VALUES (15, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC9', 'PCS9', '{"sj_credits": "", "firstname": "", "lastname": ""}')
    || '{"unknown": ["firstname", "sj_credits"]}')));
SELECT is((SELECT format('%s %s %s', firstname, coalesce(lastname, 'none'), sj_credits)
           FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'PCS9'), 'Nine none 4',
          'an empty name or credit named unknown is kept; a name not named is cleared');
SELECT is((SELECT result -> 'blank' FROM r WHERE n = 15),
          '[{"id": "PC9", "field": "firstname"}, {"id": "PC9", "field": "sj_credits"}]'::jsonb,
          '... and the kept ones are listed in blank');
INSERT INTO r VALUES (16, pg_temp.apply(jsonb_build_array(
    tests.hs_contact('PC9', 'PCS9', '{"sj_credits": "", "firstname": ""}'))));
SELECT is((SELECT format('%s %s', coalesce(firstname, 'none'), sj_credits)
           FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'PCS9'), 'none 0',
          'not named unknown, an empty name is cleared and an empty credit merged as 0');
SELECT is((tests.ledger_of('PCS9'))[array_upper(tests.ledger_of('PCS9'), 1)],
          'sj_credits -4 0 hubspot_adjustment', '... as a ledger row');

SELECT * FROM finish();
ROLLBACK;
