-- claim_audit_notes: which audit rows become HubSpot notes (bookings, and credit changes outside
-- a booking), with what the note says; the rest is marked without a note.
BEGIN;
SELECT plan(20);

SELECT * FROM tests.glue_function_ok('claim_audit_notes', ARRAY['integer'], 'volatile');
SELECT * FROM tests.request_roles_refused('mockbook_internal.claim_audit_notes(10)');

UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now()
WHERE synced_to_hubspot_at IS NULL;
DO $$ BEGIN
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'CAX1');
    PERFORM tests.make_student(p_cs := 2, p_student_id := 'CAS1', p_hubspot_id := 'CCAS1');
    PERFORM tests.book('CAS1', 'CAX1', 'can-k', p_hand := 'left');
    PERFORM tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''CAS1'', '
                      'p_credit_field := ''sj_credits'', p_delta := 3, p_reason := ''goodwill'', '
                      'p_actor := ''admin@school.ca'')');
    UPDATE hubspot_sync.hubspot_contact_credits SET firstname = 'Renamed'
    WHERE student_id = 'CAS1';
END $$;
CREATE TEMP TABLE claimed AS SELECT * FROM mockbook_internal.claim_audit_notes(100);

SELECT is((SELECT array_agg(kind || ' ' || (detail ->> 'performed_by')) FROM claimed),
          ARRAY['credit admin@school.ca'],
          'the booking waits for its HubSpot id; the adjustment is ready');
SELECT is((SELECT detail -> 'ledger' FROM claimed),
          '[{"credit_field": "sj_credits", "delta": 3, "reason": "admin_adjustment",
             "balance_after": 3, "note": "goodwill"}]'::jsonb, 'with its ledger row');
SELECT is((SELECT contact_hubspot_id FROM claimed), 'CCAS1', 'and its contact''s HubSpot id');
SELECT is((SELECT count(*) FROM hubspot_sync.supabase_audit_log
           WHERE synced_to_hubspot_at IS NULL AND table_name = 'hubspot_mock_exams'), 0::bigint,
          'exam rows are marked without a note');
SELECT is((SELECT count(*) FROM hubspot_sync.supabase_audit_log a
           WHERE synced_to_hubspot_at IS NULL AND table_name = 'hubspot_contact_credits'
             AND NOT a.changed_fields ?| ARRAY['sj_credits', 'cs_credits']), 0::bigint,
          'a contact change that moved no balance is marked without a note');

-- The push writes the booking's HubSpot id back; an admin cancels it.
DO $$ BEGIN
    PERFORM set_config('mockbook.origin', 'sync', true);
    UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'HCAB1' WHERE student_id = 'CAS1';
    PERFORM set_config('mockbook.origin', '', true);
    PERFORM tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L, '
                      'p_actor := ''admin@school.ca'')', 'HCAB1'));
END $$;
DO $$ BEGIN
    PERFORM mockbook_internal.mark_audit_notes((SELECT array_agg(m) FROM claimed, unnest(member_ids) m));
END $$;
CREATE TEMP TABLE claimed2 AS SELECT * FROM mockbook_internal.claim_audit_notes(100);
SELECT is((SELECT array_agg(format('%s %s %s', kind, detail ->> 'operation',
                                   detail -> 'ledger' -> 0 ->> 'reason') ORDER BY audit_id)
           FROM claimed2),
          ARRAY['booking INSERT booking', 'booking UPDATE cancellation'],
          'the booking''s creation and cancellation, each with its ledger row');
SELECT is((SELECT array_agg(DISTINCT booking_hubspot_id || ' ' || contact_hubspot_id)
           FROM claimed2), ARRAY['HCAB1 CCAS1'], 'both know the booking and the contact');
-- (In this one-transaction test both balance changes of the booking share its time, so each
-- note takes both along; in production each is its own transaction.)
SELECT is((SELECT array_agg(cardinality(member_ids) ORDER BY audit_id) FROM claimed2),
          ARRAY[3, 3], 'each takes along the balance changes of its booking');
SELECT is((SELECT count(*) FROM hubspot_sync.supabase_audit_log
           WHERE synced_to_hubspot_at IS NULL AND table_name = 'hubspot_bookings'
             AND changed_fields = '["hubspot_id"]'), 0::bigint,
          'the HubSpot id written back by the push gets no note');
SELECT is((SELECT count(*) FROM mockbook_internal.claim_audit_notes(1)), 1::bigint,
          'p_limit bounds the result');

-- Changes applied from HubSpot: a credit merge is noted, an import is not.
DO $$ BEGIN
    PERFORM mockbook_internal.mark_audit_notes(
        (SELECT array_agg(m) FROM claimed2, unnest(member_ids) m));
    PERFORM mockbook_internal.apply_pulled_contacts(jsonb_build_array(
        tests.hs_contact('CCAS2', 'CAS2', '{"cs_credits": "4"}')), 'hubspot:import');
END $$;
DO $$ BEGIN  -- a later transaction: the admin's change in HubSpot arrives
    PERFORM mockbook_internal.apply_pulled_contacts(jsonb_build_array(
        tests.hs_contact('CCAS2', 'CAS2', '{"cs_credits": "6"}')), 'hubspot:pull');
END $$;
SELECT is((SELECT array_agg(format('%s %s', kind, detail -> 'ledger' -> 0 ->> 'reason'))
           FROM mockbook_internal.claim_audit_notes(100)),
          ARRAY['credit hubspot_adjustment'], 'the merge of a HubSpot change is noted, the import not');
SELECT throws_ok($$SELECT * FROM mockbook_internal.claim_audit_notes(0)$$, 'PT400',
                 'INVALID_ARGUMENT', 'p_limit must be 1..1000');

SELECT * FROM finish();
ROLLBACK;
