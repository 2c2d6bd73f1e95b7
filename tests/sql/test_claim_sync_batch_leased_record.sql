-- claim_sync_batch never hands a record to a second worker while a first one holds a live lease
-- on it: a change queued during a push waits for that push (else two workers could send two
-- states of one record to HubSpot, the older one last).
BEGIN;
SELECT plan(4);

DELETE FROM hubspot_sync.sync_queue;
SELECT tests.make_student(p_sj := 3, p_student_id := 'CLR1');
SELECT is((SELECT count(*) FROM mockbook_internal.claim_sync_batch('A', 10, 60))::integer, 1,
          'worker A leases the contact''s row');
UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = 5 WHERE student_id = 'CLR1';
SELECT is((SELECT count(*) FROM mockbook_internal.claim_sync_batch('B', 10, 60))::integer, 0,
          'a new change of that contact is not given to worker B during A''s lease');
UPDATE hubspot_sync.sync_queue SET lease_expires_at = now() - interval '1 second'
WHERE lease_owner = 'A';
SELECT is((SELECT array_agg(lease_owner) FROM mockbook_internal.claim_sync_batch('B', 10, 60)),
          ARRAY['B', 'B'], 'once A''s lease has expired, B takes both rows of the record');
SELECT is(mockbook_internal.complete_sync_batch('A', ARRAY(SELECT id FROM hubspot_sync.sync_queue)),
          0, 'and A can no longer complete them');

SELECT * FROM finish();
ROLLBACK;
