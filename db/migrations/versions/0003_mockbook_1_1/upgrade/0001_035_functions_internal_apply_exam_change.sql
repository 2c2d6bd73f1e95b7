-- Frozen copy of db/functions/internal/apply_exam_change.sql (changed).
-- Why: an exam that moves, closes or reopens in HubSpot carries its bookings and waitlist with it,
-- in the pull's transaction, under the exam's lock the pull holds.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_exam_change(p_old hubspot_sync.hubspot_mock_exams,
                                                            p_new hubspot_sync.hubspot_mock_exams)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_closed boolean := lower(p_new.is_active) = 'false'
                        AND lower(coalesce(p_old.is_active, '')) IS DISTINCT FROM 'false';
    v_reopened boolean := lower(coalesce(p_old.is_active, '')) = 'false'
                          AND lower(p_new.is_active) IS DISTINCT FROM 'false';
    v_moved boolean := (p_new.exam_date, p_new.start_time, p_new.end_time, p_new.mock_type)
                       IS DISTINCT FROM
                       (p_old.exam_date, p_old.start_time, p_old.end_time, p_old.mock_type);
    v_origin text := pg_catalog.current_setting('mockbook.origin', true);
    v_booking hubspot_sync.hubspot_bookings;
    v_result jsonb;
    v_cancelled integer := 0;
    v_refunded integer := 0;
    v_closed_places integer := 0;
    v_reopened_places integer := 0;
    v_offered integer := 0;
    v_moved_count integer := 0;
    v_conflicts integer := 0;
    v_other text;
    v_duplicate boolean;
    v_past boolean := false;
    v_span tstzrange;
    v_freed integer := 0;
BEGIN
    IF NOT (v_closed OR v_reopened OR v_moved) THEN
        RETURN NULL;
    END IF;
    -- the bookings' and places' changes are mockbook's to push (not an echo of HubSpot)
    PERFORM set_config('mockbook.origin', '', true);

    IF v_closed THEN
        IF coalesce(mockbook_internal.booking_rule('exam_closed_policy') #>> '{}', 'refund')
           = 'refund' THEN
            FOR v_booking IN
                SELECT b.* FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.associated_mock_exam = p_new.hubspot_id AND b.is_active = 'Active'
                ORDER BY b.id
            LOOP
                v_result := mockbook_internal.cancel_locked_booking(
                    v_booking.id, NULL, true, 'exam_cancelled', 'hubspot:exam-cancelled');
                v_cancelled := v_cancelled + 1;
                v_refunded := v_refunded + coalesce((v_result ->> 'credits_restored')::integer, 0);
            END LOOP;
        END IF;
        UPDATE hubspot_sync.waitlist_entries AS w
        SET status = 'closed', resolved_at = now(), closed_reason = 'exam_closed'
        WHERE w.mock_exam_id = p_new.hubspot_id AND w.status IN ('waiting', 'offered');
        GET DIAGNOSTICS v_closed_places = ROW_COUNT;
    ELSIF v_reopened THEN
        UPDATE hubspot_sync.waitlist_entries AS w
        SET status = 'waiting', offered_at = NULL, offer_expires_at = NULL, resolved_at = NULL,
            closed_reason = NULL
        WHERE w.mock_exam_id = p_new.hubspot_id AND w.status = 'closed'
          AND w.closed_reason = 'exam_closed'
          AND NOT EXISTS (SELECT FROM hubspot_sync.waitlist_entries AS o
                          WHERE o.mock_exam_id = w.mock_exam_id AND o.student_id = w.student_id
                            AND o.status IN ('waiting', 'offered'));
        GET DIAGNOSTICS v_reopened_places = ROW_COUNT;
        IF v_reopened_places > 0 AND p_new.exam_date >= hubspot_sync.business_today() THEN
            v_offered := mockbook_internal.offer_free_seats(p_new.hubspot_id);
        END IF;
    END IF;

    IF v_moved AND NOT v_closed THEN
        -- moved into the past: no job can judge whether the session took place
        -- (over as every rule reads it: exam_span)
        v_span := mockbook_internal.exam_span(p_new.exam_date, p_new.exam_starts_at,
                                              p_new.exam_ends_at);
        v_past := upper(v_span) <= mockbook_internal.clock_now()
                  OR coalesce(p_new.exam_date < hubspot_sync.business_today(), false);
        IF NOT v_past THEN
            -- moved back to a time still ahead: the job completes its bookings after it again
            UPDATE hubspot_sync.booking_conflicts AS c SET resolved_at = now()
            WHERE c.mock_exam_id = p_new.hubspot_id AND c.rule = 'moved_into_past'
              AND c.resolved_at IS NULL;
        END IF;
        FOR v_booking IN
            SELECT b.* FROM hubspot_sync.hubspot_bookings AS b
            WHERE b.associated_mock_exam = p_new.hubspot_id AND b.is_active = 'Active'
            ORDER BY b.id
        LOOP
            v_booking := mockbook_internal.lock_booking(v_booking.id);
            CONTINUE WHEN v_booking.is_active IS DISTINCT FROM 'Active';
            SELECT o.booking_id INTO v_other FROM hubspot_sync.hubspot_bookings AS o
            WHERE o.student_id = v_booking.student_id AND o.id <> v_booking.id
              AND o.mock_type = p_new.mock_type AND o.exam_date = p_new.exam_date
              AND o.is_active IN ('Active', 'Completed')
            LIMIT 1;
            v_duplicate := FOUND;
            IF v_duplicate THEN
                INSERT INTO hubspot_sync.booking_conflicts (booking_id, mock_exam_id, rule, detail)
                VALUES (v_booking.id, p_new.hubspot_id, 'one_per_type_and_day',
                        format('exam %s moved to %s; %s already holds booking %s of type %s that '
                               'day: booking %s follows the exam and is kept beside it until an '
                               'admin decides', p_new.hubspot_id, p_new.exam_date,
                               v_booking.student_id, v_other, p_new.mock_type,
                               v_booking.booking_id));
                v_conflicts := v_conflicts + 1;
            END IF;
            -- the copies follow the exam; a second booking of the type on the new day becomes
            -- a flagged duplicate, listed above
            UPDATE hubspot_sync.hubspot_bookings AS b
            SET exam_date = p_new.exam_date, start_time = p_new.start_time,
                end_time = p_new.end_time, mock_type = p_new.mock_type,
                legacy_issue = CASE WHEN v_duplicate THEN coalesce(b.legacy_issue,
                                   format('exam moved in HubSpot onto a day that holds booking '
                                          '%s of the same type', v_other))
                                    ELSE b.legacy_issue END,
                updated_at = now()
            WHERE b.id = v_booking.id;
            v_moved_count := v_moved_count + 1;
            IF v_past THEN
                INSERT INTO hubspot_sync.booking_conflicts (booking_id, mock_exam_id, rule, detail)
                VALUES (v_booking.id, p_new.hubspot_id, 'moved_into_past',
                        format('exam %s moved into the past (%s); booking %s of %s stays Active '
                               'and is not completed by the job until an admin marks its '
                               'attendance, cancels it or resolves this', p_new.hubspot_id,
                               coalesce(p_new.exam_starts_at::text, p_new.exam_date::text),
                               v_booking.booking_id, v_booking.student_id));
                v_conflicts := v_conflicts + 1;
            END IF;
            IF mockbook_internal.booking_rule('time_conflict') = 'true'::jsonb THEN
                -- the sessions as the rule reads them (rule_time_conflict)
                SELECT o.booking_id INTO v_other
                FROM hubspot_sync.hubspot_bookings AS o
                JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = o.associated_mock_exam
                CROSS JOIN LATERAL mockbook_internal.exam_span(e.exam_date, e.exam_starts_at,
                                                               e.exam_ends_at) AS x(span)
                WHERE o.student_id = v_booking.student_id AND o.id <> v_booking.id
                  AND o.is_active = 'Active'
                  AND lower(x.span) < upper(v_span) AND upper(x.span) > lower(v_span)
                LIMIT 1;
                IF FOUND THEN
                    INSERT INTO hubspot_sync.booking_conflicts (booking_id, mock_exam_id, rule, detail)
                    VALUES (v_booking.id, p_new.hubspot_id, 'time_conflict',
                            format('exam %s moved to %s; booking %s of %s now overlaps their '
                                   'booking %s', p_new.hubspot_id, p_new.exam_starts_at,
                                   v_booking.booking_id, v_booking.student_id, v_other));
                    v_conflicts := v_conflicts + 1;
                END IF;
            END IF;
        END LOOP;

        -- places that can no longer take the seat (past, or already booked that day) give it up
        IF v_past THEN
            UPDATE hubspot_sync.waitlist_entries AS w
            SET status = 'closed', resolved_at = now(), closed_reason = 'exam_moved_past'
            WHERE w.mock_exam_id = p_new.hubspot_id AND w.status IN ('waiting', 'offered');
            GET DIAGNOSTICS v_closed_places = ROW_COUNT;
        ELSE
            WITH gone AS (
                UPDATE hubspot_sync.waitlist_entries AS w
                SET status = 'left', resolved_at = now()
                WHERE w.mock_exam_id = p_new.hubspot_id AND w.status IN ('waiting', 'offered')
                  AND EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                              WHERE b.student_id = w.student_id
                                AND b.mock_type = p_new.mock_type
                                AND b.exam_date = p_new.exam_date
                                AND b.is_active IN ('Active', 'Completed'))
                RETURNING w.offered_at
            )
            SELECT count(*)::integer, count(g.offered_at)::integer
            INTO v_closed_places, v_freed FROM gone AS g;
            IF v_freed > 0 THEN
                v_offered := mockbook_internal.offer_free_seats(p_new.hubspot_id);
            END IF;
        END IF;
    END IF;

    PERFORM set_config('mockbook.origin', coalesce(v_origin, ''), true);
    RETURN jsonb_build_object('cancelled', v_cancelled, 'refunded', v_refunded,
                              'places_closed', v_closed_places,
                              'places_reopened', v_reopened_places, 'offered', v_offered,
                              'moved', v_moved_count, 'conflicts', v_conflicts);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_exam_change(hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_mock_exams) IS
'Internal: what an exam changed in HubSpot does to its bookings and waitlist, in the pull''s
transaction under the exam''s lock: closed (refund or keep by exam_closed_policy; places closed),
reopened (places wait again, free seats offered), moved (copies follow; conflicts and a move into
the past listed in booking_conflicts). The policy table is docs/rpc.md "When an exam moves, closes
or is cancelled". Locks taken earlier by apply_pulled_exams (prelock_exam_changes).
Returns {cancelled, refunded, places_closed, places_reopened, offered, moved, conflicts}.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_exam_change(hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_mock_exams)
    FROM PUBLIC, anon, authenticated, service_role;
