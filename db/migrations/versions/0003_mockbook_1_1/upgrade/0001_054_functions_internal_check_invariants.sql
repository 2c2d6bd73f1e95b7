-- Frozen copy of db/functions/internal/check_invariants.sql (changed).
-- Why: one implementation of the invariants (docs/operations.md), called by status, the demo, the
-- benchmarks and the tests, so they agree on what "healthy" means.
CREATE OR REPLACE FUNCTION mockbook_internal.check_invariants(p_start_balances jsonb DEFAULT NULL,
                                                        p_after_ledger_id bigint DEFAULT NULL)
RETURNS TABLE (invariant text, subject text, detail text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = ''
-- No JIT: a large plan for little work (on a new database 164 ms to compile, 1.4 ms to run)
SET jit = off
AS $$
    WITH balance AS (
        SELECT c.id AS contact_id, f.credit_field,
               mockbook_internal.credit_balance(c, f.credit_field) AS balance,
               (p_start_balances -> c.id::text ->> f.credit_field)::integer AS start
        FROM hubspot_sync.hubspot_contact_credits AS c
        CROSS JOIN mockbook_internal.credit_fields() AS f
    ), ledger AS (
        SELECT l.id, l.contact_id, l.credit_field, l.delta, l.balance_after,
               lag(l.balance_after) OVER w AS previous,
               row_number() OVER w AS n,
               count(*) OVER (PARTITION BY l.contact_id, l.credit_field) AS rows,
               sum(l.delta) OVER (PARTITION BY l.contact_id, l.credit_field) AS deltas
        FROM hubspot_sync.credit_ledger AS l
        WHERE l.id > coalesce(p_after_ledger_id, 0)
        WINDOW w AS (PARTITION BY l.contact_id, l.credit_field ORDER BY l.id)
    )
    SELECT 'exam_total', 'exam ' || e.hubspot_id,
           format('total_bookings %s but %s Active bookings', e.total_bookings, count(b.id))
    FROM hubspot_sync.hubspot_mock_exams AS e
    LEFT JOIN hubspot_sync.hubspot_bookings AS b
           ON b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active'
    GROUP BY e.hubspot_id, e.total_bookings
    HAVING e.total_bookings IS DISTINCT FROM count(b.id)
    UNION ALL
    SELECT 'negative_balance', format('contact %s %s', v.contact_id, v.credit_field),
           format('negative balance %s', v.balance)
    FROM balance AS v
    WHERE v.balance < 0
    UNION ALL
    SELECT 'unpaid_booking', format('booking %s (%s)', b.booking_id, b.id),
           format('Active, token %s, but no credit_ledger ''booking'' or ''rebook'' row',
                  coalesce(quote_literal(b.token_used), 'NULL'))
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.is_active = 'Active'
      AND b.token_used IS DISTINCT FROM 'Admin Override'
      AND b.idempotency_fingerprint IS NOT NULL
      AND NOT EXISTS (SELECT FROM hubspot_sync.credit_ledger AS l
                      WHERE l.booking_id = b.id AND l.reason IN ('booking', 'rebook'))
    UNION ALL
    SELECT 'ledger_chain', format('contact %s %s', l.contact_id, l.credit_field),
           format('ledger row %s says balance_after %s, the chain gives %s', l.id,
                  l.balance_after, coalesce(l.previous, v.start) + l.delta)
    FROM ledger AS l
    JOIN balance AS v USING (contact_id, credit_field)
    WHERE l.balance_after IS DISTINCT FROM coalesce(l.previous, v.start, l.balance_after - l.delta)
                                           + l.delta
    UNION ALL
    SELECT 'ledger_balance', format('contact %s %s', v.contact_id, v.credit_field),
           CASE WHEN v.start IS NOT NULL
                THEN format('balance %s, but start %s + ledger %s = %s', v.balance, v.start,
                            coalesce(l.deltas, 0), v.start + coalesce(l.deltas, 0))
                ELSE format('balance %s, but the last ledger row %s says %s', v.balance, l.id,
                            l.balance_after)
           END
    FROM balance AS v
    LEFT JOIN ledger AS l
           ON l.contact_id = v.contact_id AND l.credit_field = v.credit_field AND l.n = l.rows
    WHERE CASE WHEN v.start IS NOT NULL THEN v.balance <> v.start + coalesce(l.deltas, 0)
               ELSE l.id IS NOT NULL AND v.balance IS DISTINCT FROM l.balance_after
          END
    UNION ALL
    -- seats: Active bookings and held offers within the capacity; admins' bookings, a HubSpot
    -- cut (capacity_cut) and an adopted excess (legacy) are listed elsewhere, not violations
    SELECT 'over_capacity', 'exam ' || e.hubspot_id,
           format('%s Active bookings (%s by an admin) and %s held offers on %s seats',
                  s.active, s.admin, s.held, e.capacity)
    FROM hubspot_sync.hubspot_mock_exams AS e
    CROSS JOIN LATERAL (
        SELECT (SELECT count(*) FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active') AS active,
               (SELECT count(*) FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active'
                  AND b.token_used = 'Admin Override') AS admin,
               (SELECT count(*) FROM hubspot_sync.waitlist_entries AS w
                WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered'
                  AND w.offer_expires_at > mockbook_internal.clock_now()) AS held
    ) AS s
    WHERE e.capacity IS NOT NULL
      AND s.active - s.admin + s.held > e.capacity
      AND NOT EXISTS (SELECT FROM hubspot_sync.booking_conflicts AS c
                      WHERE c.mock_exam_id = e.hubspot_id AND c.rule = 'capacity_cut'
                        AND c.resolved_at IS NULL)
      AND NOT EXISTS (SELECT FROM hubspot_sync.adoption_report AS r
                      WHERE r.object = 'hubspot_mock_exams' AND r.record_id = e.id::text
                        AND r.action LIKE 'legacy over-capacity%')
    -- legacy_: what the adoption took over as the old apps left it; listed, not violations
    UNION ALL
    SELECT 'legacy_duplicate', format('booking %s (%s)', b.booking_id, b.id),
           format('Active %s of %s on %s: %s', b.mock_type, b.student_id, b.exam_date,
                  b.legacy_issue)
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.legacy_issue IS NOT NULL AND b.is_active = 'Active'
      -- a duplicate an exam's move made is listed in booking_conflicts while open
      AND NOT EXISTS (SELECT FROM hubspot_sync.booking_conflicts AS c
                      WHERE c.booking_id = b.id AND c.rule = 'one_per_type_and_day'
                        AND c.resolved_at IS NULL)
    UNION ALL
    SELECT 'legacy_over_capacity', 'exam ' || e.hubspot_id,
           format('%s Active bookings on %s seats (adopted so)', e.total_bookings, e.capacity)
    FROM hubspot_sync.hubspot_mock_exams AS e
    WHERE e.total_bookings > e.capacity
      AND EXISTS (SELECT FROM hubspot_sync.adoption_report AS r
                  WHERE r.object = 'hubspot_mock_exams' AND r.record_id = e.id::text
                    AND r.action LIKE 'legacy over-capacity%')
    UNION ALL
    SELECT 'legacy_booking_code', format('booking %s (%s)', b.booking_id, b.id),
           mockbook_internal.booking_code_problem(b.booking_id)
    FROM hubspot_sync.adoption_report AS r
    JOIN hubspot_sync.hubspot_bookings AS b ON b.id::text = r.record_id
    WHERE r.object = 'hubspot_bookings.booking_id' AND r.action LIKE 'legacy booking code%'
      AND mockbook_internal.booking_code_problem(b.booking_id) IS NOT NULL
    UNION ALL
    SELECT 'legacy_exam_time', 'exam ' || e.hubspot_id, e.time_problem
    FROM hubspot_sync.adoption_report AS r
    JOIN hubspot_sync.hubspot_mock_exams AS e ON e.id::text = r.record_id
    WHERE r.object = 'hubspot_mock_exams.time_problem' AND r.action LIKE 'legacy exam time%'
      AND e.time_problem IS NOT NULL
    ORDER BY 1, 2, 3
$$;

COMMENT ON FUNCTION mockbook_internal.check_invariants(jsonb, bigint) IS
'Internal: the invariants (exam_total, negative_balance, unpaid_booking, ledger_chain,
ledger_balance, over_capacity), one row per violation, none when all hold; and, named legacy_*
and not violations, what the adoption took over while it is still so. Optional snapshot:
p_start_balances {contact id: {field: balance}} with p_after_ledger_id. Each is defined in
docs/operations.md "Invariants". Used by status --check, the demo, the benchmarks and the tests.
Locks: none (call it in REPEATABLE READ for one snapshot).';
REVOKE ALL ON FUNCTION mockbook_internal.check_invariants(jsonb, bigint)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.check_invariants(jsonb, bigint) TO mockbook_glue;
