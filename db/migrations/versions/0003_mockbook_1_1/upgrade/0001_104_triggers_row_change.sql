-- Frozen copy of db/triggers/row_change.sql (changed).
/**
 * Why: every change of a contact, exam or booking needs an audit row and an outbox row; one
 * trigger writes both from one jsonb conversion of OLD and NEW, so a booking costs one trigger
 * call per row (measured in bench/README.md). The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.record_row_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_old jsonb;
    v_new jsonb;
    -- the audit row's changed_fields: UPDATE the changed columns, INSERT the non-NULL ones,
    -- DELETE those that held a value
    v_fields text[];
    v_key text;
    -- the audit row's old_values and new_values, record id, HubSpot id and note_waits (and
    -- v_fields, its changed_fields): set by the branch that applies, so the one INSERT below
    -- reads variables (its expressions are set up at every execution, all branches of a CASE
    -- included). An expression that calls a function which is not immutable (to_jsonb,
    -- jsonb_build_object, now(), current_setting) takes a snapshot of its own in a VOLATILE
    -- function, computed again whenever another transaction committed since the last: the
    -- values are built with jsonb_set (immutable), and the origin's test, changed_fields' jsonb
    -- and an exam's sync stamp are made by the INSERT, under its snapshot
    v_old_values jsonb;
    v_new_values jsonb;
    v_id uuid;
    v_hubspot_id text;
    v_waits boolean := false;
    -- who (performed_by): mockbook_internal.request_actor decides when the request's claims
    -- name a user (a non-blank email or sub claim, in an object); the test here, the same as
    -- its own, only spares that call where it would return its argument: the rows of the glue,
    -- of jobs and of requests with a service key, whose claims name none or a null sub
    v_claims constant jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    v_actor constant text := nullif(current_setting('mockbook.actor', true), '');
    v_who constant text := coalesce(
        CASE WHEN jsonb_typeof(v_claims) = 'object'
                  AND coalesce(nullif(btrim(v_claims ->> 'email'), ''),
                               nullif(btrim(v_claims ->> 'sub'), '')) IS NOT NULL
             THEN mockbook_internal.request_actor(v_actor) END,
        v_actor, nullif(v_claims ->> 'role', ''), current_user);
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- the columns whose value changed, bookkeeping columns (synced_at,
        -- hubspot_last_sync_at, updated_at) not listed
        DECLARE
            -- plpgsql_check checks this function once per table it is on, where the other
            -- tables' columns do not exist: not in this block (its lists are checked against
            -- the catalog by tests/sql/test_row_change_columns.sql). Its pragma as a constant
            -- the planner computes: nothing runs per call (a PERFORM started the executor)
            v_pragma constant integer := mockbook_internal.plpgsql_check_pragma('disable:check');
        BEGIN
            IF TG_TABLE_NAME = 'hubspot_contact_credits' THEN
                v_fields := array_remove(ARRAY[
                    CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at THEN 'created_at' END,
                    CASE WHEN NEW.cs_credits IS DISTINCT FROM OLD.cs_credits THEN 'cs_credits' END,
                    CASE WHEN NEW.email IS DISTINCT FROM OLD.email THEN 'email' END,
                    CASE WHEN NEW.firstname IS DISTINCT FROM OLD.firstname THEN 'firstname' END,
                    CASE WHEN NEW.hubspot_id IS DISTINCT FROM OLD.hubspot_id THEN 'hubspot_id' END,
                    CASE WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id' END,
                    CASE WHEN NEW.lastname IS DISTINCT FROM OLD.lastname THEN 'lastname' END,
                    CASE WHEN NEW.mock_discussion_token IS DISTINCT FROM OLD.mock_discussion_token
                         THEN 'mock_discussion_token' END,
                    CASE WHEN NEW.ndecc_exam_date IS DISTINCT FROM OLD.ndecc_exam_date
                         THEN 'ndecc_exam_date' END,
                    CASE WHEN NEW.shared_mock_credits IS DISTINCT FROM OLD.shared_mock_credits
                         THEN 'shared_mock_credits' END,
                    CASE WHEN NEW.sj_credits IS DISTINCT FROM OLD.sj_credits THEN 'sj_credits' END,
                    CASE WHEN NEW.sjmini_credits IS DISTINCT FROM OLD.sjmini_credits
                         THEN 'sjmini_credits' END,
                    CASE WHEN NEW.student_id IS DISTINCT FROM OLD.student_id THEN 'student_id' END], NULL);
            ELSIF TG_TABLE_NAME = 'hubspot_mock_exams' THEN
                v_fields := array_remove(ARRAY[
                    CASE WHEN NEW.capacity IS DISTINCT FROM OLD.capacity THEN 'capacity' END,
                    CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at THEN 'created_at' END,
                    CASE WHEN NEW.end_time IS DISTINCT FROM OLD.end_time THEN 'end_time' END,
                    CASE WHEN NEW.exam_date IS DISTINCT FROM OLD.exam_date THEN 'exam_date' END,
                    CASE WHEN NEW.hubspot_id IS DISTINCT FROM OLD.hubspot_id THEN 'hubspot_id' END,
                    CASE WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id' END,
                    CASE WHEN NEW.is_active IS DISTINCT FROM OLD.is_active THEN 'is_active' END,
                    CASE WHEN NEW.location IS DISTINCT FROM OLD.location THEN 'location' END,
                    CASE WHEN NEW.mock_exam_name IS DISTINCT FROM OLD.mock_exam_name
                         THEN 'mock_exam_name' END,
                    CASE WHEN NEW.mock_set IS DISTINCT FROM OLD.mock_set THEN 'mock_set' END,
                    CASE WHEN NEW.mock_type IS DISTINCT FROM OLD.mock_type THEN 'mock_type' END,
                    CASE WHEN NEW.prerequisite_exam_ids IS DISTINCT FROM OLD.prerequisite_exam_ids
                         THEN 'prerequisite_exam_ids' END,
                    CASE WHEN NEW.scheduled_activation_datetime
                              IS DISTINCT FROM OLD.scheduled_activation_datetime
                         THEN 'scheduled_activation_datetime' END,
                    CASE WHEN NEW.start_time IS DISTINCT FROM OLD.start_time THEN 'start_time' END,
                    CASE WHEN NEW.total_bookings IS DISTINCT FROM OLD.total_bookings
                         THEN 'total_bookings' END], NULL);
            ELSIF TG_TABLE_NAME = 'hubspot_bookings' THEN
                v_fields := array_remove(ARRAY[
                    CASE WHEN NEW.associated_contact_id IS DISTINCT FROM OLD.associated_contact_id
                         THEN 'associated_contact_id' END,
                    CASE WHEN NEW.associated_mock_exam IS DISTINCT FROM OLD.associated_mock_exam
                         THEN 'associated_mock_exam' END,
                    CASE WHEN NEW.attendance IS DISTINCT FROM OLD.attendance THEN 'attendance' END,
                    CASE WHEN NEW.attending_location IS DISTINCT FROM OLD.attending_location
                         THEN 'attending_location' END,
                    CASE WHEN NEW.booking_id IS DISTINCT FROM OLD.booking_id THEN 'booking_id' END,
                    CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at THEN 'created_at' END,
                    CASE WHEN NEW.dominant_hand IS DISTINCT FROM OLD.dominant_hand
                         THEN 'dominant_hand' END,
                    CASE WHEN NEW.end_time IS DISTINCT FROM OLD.end_time THEN 'end_time' END,
                    CASE WHEN NEW.exam_date IS DISTINCT FROM OLD.exam_date THEN 'exam_date' END,
                    CASE WHEN NEW.hubspot_id IS DISTINCT FROM OLD.hubspot_id THEN 'hubspot_id' END,
                    CASE WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id' END,
                    CASE WHEN NEW.idempotency_fingerprint
                              IS DISTINCT FROM OLD.idempotency_fingerprint
                         THEN 'idempotency_fingerprint' END,
                    CASE WHEN NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
                         THEN 'idempotency_key' END,
                    CASE WHEN NEW.is_active IS DISTINCT FROM OLD.is_active THEN 'is_active' END,
                    CASE WHEN NEW.legacy_booking_id IS DISTINCT FROM OLD.legacy_booking_id
                         THEN 'legacy_booking_id' END,
                    CASE WHEN NEW.legacy_issue IS DISTINCT FROM OLD.legacy_issue
                         THEN 'legacy_issue' END,
                    CASE WHEN NEW.mock_set IS DISTINCT FROM OLD.mock_set THEN 'mock_set' END,
                    CASE WHEN NEW.mock_type IS DISTINCT FROM OLD.mock_type THEN 'mock_type' END,
                    CASE WHEN NEW.name IS DISTINCT FROM OLD.name THEN 'name' END,
                    CASE WHEN NEW.ndecc_exam_date IS DISTINCT FROM OLD.ndecc_exam_date
                         THEN 'ndecc_exam_date' END,
                    CASE WHEN NEW.start_time IS DISTINCT FROM OLD.start_time THEN 'start_time' END,
                    CASE WHEN NEW.student_email IS DISTINCT FROM OLD.student_email
                         THEN 'student_email' END,
                    CASE WHEN NEW.student_id IS DISTINCT FROM OLD.student_id THEN 'student_id' END,
                    CASE WHEN NEW.token_refund_admin IS DISTINCT FROM OLD.token_refund_admin
                         THEN 'token_refund_admin' END,
                    CASE WHEN NEW.token_refunded IS DISTINCT FROM OLD.token_refunded
                         THEN 'token_refunded' END,
                    CASE WHEN NEW.token_refunded_at IS DISTINCT FROM OLD.token_refunded_at
                         THEN 'token_refunded_at' END,
                    CASE WHEN NEW.token_used IS DISTINCT FROM OLD.token_used THEN 'token_used' END], NULL);
            ELSE
                RAISE EXCEPTION 'record_row_change has no column list for table %', TG_TABLE_NAME
                    USING ERRCODE = 'XX000';
            END IF;
        END;
        IF cardinality(v_fields) = 0 THEN
            -- only bookkeeping columns (or nothing) changed: neither row
            RETURN NULL;
        END IF;
        v_new := to_jsonb(NEW);
        v_old := to_jsonb(OLD);
        IF cardinality(v_fields) = 1 THEN
            -- the common case (a balance, a seat count): one column, no loop; jsonb_set (adds
            -- the key) is immutable, where jsonb_build_object is not: no snapshot of its own
            v_old_values := jsonb_set('{}', v_fields, v_old -> v_fields[1]);
            v_new_values := jsonb_set('{}', v_fields, v_new -> v_fields[1]);
        ELSE
            -- in ORDER BY's order (the database's collation), as changed_fields always was
            v_fields := ARRAY(SELECT k.key FROM unnest(v_fields) AS k(key) ORDER BY k.key);
            v_old_values := '{}'::jsonb;
            v_new_values := '{}'::jsonb;
            FOREACH v_key IN ARRAY v_fields LOOP
                v_old_values := jsonb_set(v_old_values, ARRAY[v_key], v_old -> v_key);
                v_new_values := jsonb_set(v_new_values, ARRAY[v_key], v_new -> v_key);
            END LOOP;
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        -- the columns given a non-NULL value, bookkeeping columns not listed, in alphabetical
        -- order as written
        DECLARE
            -- plpgsql_check checks this function once per table it is on, where the other
            -- tables' columns do not exist: not in this block (its lists are checked against
            -- the catalog by tests/sql/test_row_change_columns.sql). Its pragma as a constant
            -- the planner computes: nothing runs per call (a PERFORM started the executor)
            v_pragma constant integer := mockbook_internal.plpgsql_check_pragma('disable:check');
        BEGIN
            IF TG_TABLE_NAME = 'hubspot_contact_credits' THEN
                v_fields := array_remove(ARRAY[
                    CASE WHEN NEW.created_at IS NOT NULL THEN 'created_at' END,
                    CASE WHEN NEW.cs_credits IS NOT NULL THEN 'cs_credits' END,
                    CASE WHEN NEW.email IS NOT NULL THEN 'email' END,
                    CASE WHEN NEW.firstname IS NOT NULL THEN 'firstname' END,
                    CASE WHEN NEW.hubspot_id IS NOT NULL THEN 'hubspot_id' END,
                    CASE WHEN NEW.id IS NOT NULL THEN 'id' END,
                    CASE WHEN NEW.lastname IS NOT NULL THEN 'lastname' END,
                    CASE WHEN NEW.mock_discussion_token IS NOT NULL
                         THEN 'mock_discussion_token' END,
                    CASE WHEN NEW.ndecc_exam_date IS NOT NULL THEN 'ndecc_exam_date' END,
                    CASE WHEN NEW.shared_mock_credits IS NOT NULL THEN 'shared_mock_credits' END,
                    CASE WHEN NEW.sj_credits IS NOT NULL THEN 'sj_credits' END,
                    CASE WHEN NEW.sjmini_credits IS NOT NULL THEN 'sjmini_credits' END,
                    CASE WHEN NEW.student_id IS NOT NULL THEN 'student_id' END], NULL);
            ELSIF TG_TABLE_NAME = 'hubspot_mock_exams' THEN
                v_fields := array_remove(ARRAY[
                    CASE WHEN NEW.capacity IS NOT NULL THEN 'capacity' END,
                    CASE WHEN NEW.created_at IS NOT NULL THEN 'created_at' END,
                    CASE WHEN NEW.end_time IS NOT NULL THEN 'end_time' END,
                    CASE WHEN NEW.exam_date IS NOT NULL THEN 'exam_date' END,
                    CASE WHEN NEW.hubspot_id IS NOT NULL THEN 'hubspot_id' END,
                    CASE WHEN NEW.id IS NOT NULL THEN 'id' END,
                    CASE WHEN NEW.is_active IS NOT NULL THEN 'is_active' END,
                    CASE WHEN NEW.location IS NOT NULL THEN 'location' END,
                    CASE WHEN NEW.mock_exam_name IS NOT NULL THEN 'mock_exam_name' END,
                    CASE WHEN NEW.mock_set IS NOT NULL THEN 'mock_set' END,
                    CASE WHEN NEW.mock_type IS NOT NULL THEN 'mock_type' END,
                    CASE WHEN NEW.prerequisite_exam_ids IS NOT NULL
                         THEN 'prerequisite_exam_ids' END,
                    CASE WHEN NEW.scheduled_activation_datetime IS NOT NULL
                         THEN 'scheduled_activation_datetime' END,
                    CASE WHEN NEW.start_time IS NOT NULL THEN 'start_time' END,
                    CASE WHEN NEW.total_bookings IS NOT NULL THEN 'total_bookings' END], NULL);
            ELSIF TG_TABLE_NAME = 'hubspot_bookings' THEN
                v_fields := array_remove(ARRAY[
                    CASE WHEN NEW.associated_contact_id IS NOT NULL
                         THEN 'associated_contact_id' END,
                    CASE WHEN NEW.associated_mock_exam IS NOT NULL THEN 'associated_mock_exam' END,
                    CASE WHEN NEW.attendance IS NOT NULL THEN 'attendance' END,
                    CASE WHEN NEW.attending_location IS NOT NULL THEN 'attending_location' END,
                    CASE WHEN NEW.booking_id IS NOT NULL THEN 'booking_id' END,
                    CASE WHEN NEW.created_at IS NOT NULL THEN 'created_at' END,
                    CASE WHEN NEW.dominant_hand IS NOT NULL THEN 'dominant_hand' END,
                    CASE WHEN NEW.end_time IS NOT NULL THEN 'end_time' END,
                    CASE WHEN NEW.exam_date IS NOT NULL THEN 'exam_date' END,
                    CASE WHEN NEW.hubspot_id IS NOT NULL THEN 'hubspot_id' END,
                    CASE WHEN NEW.id IS NOT NULL THEN 'id' END,
                    CASE WHEN NEW.idempotency_fingerprint IS NOT NULL
                         THEN 'idempotency_fingerprint' END,
                    CASE WHEN NEW.idempotency_key IS NOT NULL THEN 'idempotency_key' END,
                    CASE WHEN NEW.is_active IS NOT NULL THEN 'is_active' END,
                    CASE WHEN NEW.legacy_booking_id IS NOT NULL THEN 'legacy_booking_id' END,
                    CASE WHEN NEW.legacy_issue IS NOT NULL THEN 'legacy_issue' END,
                    CASE WHEN NEW.mock_set IS NOT NULL THEN 'mock_set' END,
                    CASE WHEN NEW.mock_type IS NOT NULL THEN 'mock_type' END,
                    CASE WHEN NEW.name IS NOT NULL THEN 'name' END,
                    CASE WHEN NEW.ndecc_exam_date IS NOT NULL THEN 'ndecc_exam_date' END,
                    CASE WHEN NEW.start_time IS NOT NULL THEN 'start_time' END,
                    CASE WHEN NEW.student_email IS NOT NULL THEN 'student_email' END,
                    CASE WHEN NEW.student_id IS NOT NULL THEN 'student_id' END,
                    CASE WHEN NEW.token_refund_admin IS NOT NULL THEN 'token_refund_admin' END,
                    CASE WHEN NEW.token_refunded IS NOT NULL THEN 'token_refunded' END,
                    CASE WHEN NEW.token_refunded_at IS NOT NULL THEN 'token_refunded_at' END,
                    CASE WHEN NEW.token_used IS NOT NULL THEN 'token_used' END], NULL);
            ELSE
                RAISE EXCEPTION 'record_row_change has no column list for table %', TG_TABLE_NAME
                    USING ERRCODE = 'XX000';
            END IF;
        END;
        v_new := to_jsonb(NEW);
        v_new_values := v_new;
    ELSE
        -- DELETE (rare: no list of its own): the non-NULL columns of the jsonb row;
        -- jsonb_strip_nulls drops exactly the top-level keys holding a JSON null
        v_old := to_jsonb(OLD);
        v_fields := ARRAY(SELECT k.key
                          FROM jsonb_object_keys(jsonb_strip_nulls(v_old)
                                                 - ARRAY['synced_at', 'hubspot_last_sync_at',
                                                         'updated_at']) AS k(key)
                          ORDER BY k.key);
        v_old_values := v_old;
    END IF;
    -- note_waits: set aside as written when the transaction tells: a booking not in HubSpot
    -- yet, and the credit it spends or refunds (apply_credit_delta names the booking in
    -- mockbook.credit_booking while it changes the balance); claim_audit_notes sets aside any
    -- other row it finds waiting, and audit_notes_ready brings both back. A booking written
    -- without its HubSpot id is named in mockbook.waiting_booking for the rest of the
    -- transaction (the audit row of the credit it spends waits with it). An exam's change never
    -- becomes a HubSpot note (HubSpot owns exams): written as handled.
    IF TG_OP = 'DELETE' THEN
        v_id := OLD.id;
        v_hubspot_id := OLD.hubspot_id;
    ELSE
        v_id := NEW.id;
        v_hubspot_id := NEW.hubspot_id;
        IF TG_TABLE_NAME = 'hubspot_bookings' THEN
            -- (an assignment: no executor start, as a PERFORM has; set_config returns the value
            -- it set, '' when the booking does not wait)
            v_waits := set_config('mockbook.waiting_booking',
                                  CASE WHEN NEW.hubspot_id IS NULL AND v_who NOT LIKE 'hubspot:%'
                                       THEN NEW.id::text ELSE '' END, true) <> '';
        ELSIF TG_TABLE_NAME = 'hubspot_contact_credits' THEN
            v_waits := NEW.hubspot_id IS NULL
                       OR (TG_OP = 'UPDATE'
                           AND coalesce(nullif(current_setting('mockbook.credit_booking', true),
                                               '')
                                        = current_setting('mockbook.waiting_booking', true),
                                        false));
        END IF;
    END IF;
    -- one statement: the audit row and, unless the glue made the change (mockbook.origin), the
    -- outbox row (the statement's own snapshot serves the origin's test, changed_fields' jsonb
    -- and the exam's sync stamp)
    WITH queued AS (
        INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data, new_data)
        SELECT TG_TABLE_NAME, v_id, TG_OP, v_old, v_new
        WHERE coalesce(current_setting('mockbook.origin', true), '') NOT IN ('hubspot', 'sync')
    )
    INSERT INTO hubspot_sync.supabase_audit_log (
        table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
        new_values, performed_by, performed_at, synced_to_hubspot_at, note_waits)
    VALUES (TG_TABLE_NAME, v_id, v_hubspot_id, TG_OP, to_jsonb(v_fields), v_old_values,
            v_new_values, v_who, now(),
            CASE WHEN TG_TABLE_NAME = 'hubspot_mock_exams' THEN now() END, v_waits);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.record_row_change() IS
'Trigger: one call per change of the three synced tables writes its supabase_audit_log row (changed columns only; performed_by = the JWT user of the request (request_actor), else mockbook.actor, else the request''s role claim, else current_user) and its sync_queue outbox row (unless mockbook.origin is hubspot or sync); a bookkeeping-only update writes neither.

AFTER INSERT / UPDATE / DELETE, FOR EACH ROW, on hubspot_contact_credits, hubspot_mock_exams
and hubspot_bookings. One trigger for both jobs: each row change is one call, OLD and NEW are
turned into jsonb once, the UPDATE diff is computed once for both, and both rows are written
by one statement (measured in bench/README.md).

Audit (supabase_audit_log, one row per audited row change):
  table_name         TG_TABLE_NAME
  record_id          the row''s id (uuid); record_hubspot_id its hubspot_id (may be NULL)
  operation          ''INSERT'' | ''UPDATE'' | ''DELETE''
  changed_fields     jsonb array of column names, in alphabetical order:
                       UPDATE: the columns whose value changed;
                       INSERT: the columns given a (non-NULL) value;
                       DELETE: the columns that held a (non-NULL) value.
  old_values         UPDATE: {column: old value} of the changed columns; DELETE: the whole row
  new_values         UPDATE: {column: new value} of the changed columns; INSERT: the whole row
  performed_by       mockbook_internal.request_actor(mockbook.actor): the user the PostgREST
                     request''s JWT claims name (''user:<email>'' / ''admin:<email>''), else the setting mockbook.actor (functions with a p_actor set
                     it with set_config(''mockbook.actor'', p_actor, true); server jobs), else
                     the role claim of the request (request.jwt.claims ->> ''role'', as
                     auth.role() reads it), else current_user
  performed_at       now() (the transaction''s time)
  synced_to_hubspot_at  now() for an exam''s row (never a HubSpot note), else NULL
  note_waits         true when its note waits for a HubSpot id the transaction shows missing:
                     a booking''s or contact''s own, or (a balance change) that of the booking
                     apply_credit_delta names, written by this transaction without one;
                     claim_audit_notes sets aside any other waiting row; cleared when the id
                     arrives (audit_notes_ready)
The sync bookkeeping columns synced_at, hubspot_last_sync_at and updated_at are never listed
as changed, nor an exam''s instants derived from its times (exam_starts_at, exam_ends_at,
time_problem: they change with start_time/end_time/exam_date, which are listed), and an
UPDATE that changes nothing else writes no audit row.

Outbox (sync_queue, one row per relevant change: table, record id, operation, old and new
row as jsonb). No NOTIFY: the worker wakes by reading the outbox''s high-water mark
(glue.cache.OutboxWatch). Not queued:
  - an UPDATE that only touches the bookkeeping columns (or changes nothing): the same test as
    the audit''s, so such an update writes neither row;
  - changes the glue applies itself: its session (or transaction) sets mockbook.origin to
    ''hubspot'' (pulled from HubSpot) or ''sync'' (HubSpot ids written back after a push); these
    are still audited.
Runs as the writing role (SECURITY INVOKER): service_role may insert into both tables.

How (measured in bench/README.md "The trigger''s CPU per change"): the
changed columns of an UPDATE are found by comparing NEW and OLD column by column (IS DISTINCT
FROM, each column''s own equality) and the non-NULL columns of an INSERT by testing NEW''s
columns, from a list per table below, instead of turning the rows into jsonb and walking
them key by key (jsonb_each / jsonb_strip_nulls): about a quarter less CPU per change, the
same rows. to_jsonb(OLD) and to_jsonb(NEW) are still built once each (the outbox carries the
whole rows; the audit''s values are read from them, so they are the same jsonb), and not at all
for an update that changes nothing but bookkeeping.
The column lists repeat the three tables'' columns less the bookkeeping ones, in alphabetical
order (changed_fields'' order: an INSERT''s list is used as written, an UPDATE''s is sorted when
more than one column changed). A column added to one of these tables must be added to both
lists of its table: tests/sql/test_row_change_columns.sql compares them with pg_attribute
and fails until it is. A table given this trigger without lists makes every write fail
(XX000), never a silent partial audit.';
REVOKE ALL ON FUNCTION mockbook_internal.record_row_change() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE TRIGGER record_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_contact_credits
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.record_row_change();

CREATE OR REPLACE TRIGGER record_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_mock_exams
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.record_row_change();

CREATE OR REPLACE TRIGGER record_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_bookings
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.record_row_change();
