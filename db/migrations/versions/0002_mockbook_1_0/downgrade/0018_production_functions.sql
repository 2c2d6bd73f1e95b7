-- Hand-written: the production versions of the functions mockbook replaced, verbatim from the
-- production dump (../shared/production/hubspot_sync_schema.sql), with production's default
-- privileges. Runs after the files above dropped mockbook's versions.
SET check_function_bodies = off;
CREATE OR REPLACE FUNCTION hubspot_sync.cancel_booking_atomic(p_booking_id uuid, p_credit_field text, p_restored_credit_value integer)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_booking hubspot_sync.hubspot_bookings;  -- Full record from helper
  v_contact hubspot_sync.hubspot_contact_credits;  -- Full record from helper
  v_result JSONB;
BEGIN
  -- Use helper function to get booking record
  v_booking := hubspot_sync.get_booking(p_id := p_booking_id);

  IF v_booking.id IS NULL THEN
    RAISE EXCEPTION 'Booking not found: %', p_booking_id;
  END IF;

  -- Use helper function to get contact record (using booking's student info)
  v_contact := hubspot_sync.get_contact_credits(
    p_student_id := v_booking.student_id,
    p_email := v_booking.student_email
  );

  -- Update booking status
  UPDATE hubspot_sync.hubspot_bookings
  SET is_active = 'Cancelled',
      updated_at = NOW(),
      synced_at = NOW()
  WHERE id = p_booking_id;

  -- Restore contact credits using contact.id from helper
  EXECUTE format(
    'UPDATE hubspot_sync.hubspot_contact_credits
     SET %I = $1, updated_at = NOW(), synced_at = NOW()
     WHERE id = $2',
    p_credit_field
  ) USING p_restored_credit_value, v_contact.id;

  v_result := jsonb_build_object(
    'success', true,
    'booking_id', p_booking_id,
    'booking_hubspot_id', v_booking.hubspot_id,
    'student_id', v_booking.student_id,
    'mock_exam_id', v_booking.associated_mock_exam
  );

  RETURN v_result;
END;
$function$
;

CREATE OR REPLACE FUNCTION hubspot_sync.check_idempotency_key(p_idempotency_key text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_booking hubspot_sync.hubspot_bookings;
BEGIN
  IF p_idempotency_key IS NULL THEN
    RETURN NULL;
  END IF;

  SELECT * INTO v_booking
  FROM hubspot_sync.hubspot_bookings
  WHERE idempotency_key = p_idempotency_key;

  IF NOT FOUND THEN
    RETURN NULL;
  END IF;

  RETURN jsonb_build_object(
    'found', true,
    'booking_id', v_booking.booking_id,
    'id', v_booking.id,
    'hubspot_id', v_booking.hubspot_id,
    'is_active', v_booking.is_active,
    'student_id', v_booking.student_id,
    'mock_exam_id', v_booking.mock_exam_id,
    'created_at', v_booking.created_at
  );
END;
$function$
;

CREATE OR REPLACE FUNCTION hubspot_sync.create_booking_atomic(p_booking_id text, p_student_id text, p_student_email text, p_mock_exam_id text, p_student_name text, p_token_used text, p_attending_location text, p_dominant_hand text, p_idempotency_key text, p_credit_field text, p_new_credit_value integer, p_mock_set text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_booking_uuid UUID;
  v_contact hubspot_sync.hubspot_contact_credits;
  v_exam_date DATE;
  v_mock_type TEXT;
  v_start_time TEXT;
  v_end_time TEXT;
  v_result JSONB;
  v_location TEXT;
BEGIN
  -- Use helper function to get contact record
  v_contact := hubspot_sync.get_contact_credits(
    p_student_id := p_student_id,
    p_email := p_student_email
  );

  IF v_contact.id IS NULL THEN
    RAISE EXCEPTION 'Contact not found for student_id: %, email: %', p_student_id, p_student_email;
  END IF;


  -- Get exam data including mock_type, start_time, end_time
  SELECT exam_date, mock_type, start_time, end_time,
    COALESCE(p_attending_location, location) AS attending_location
  INTO v_exam_date, v_mock_type, v_start_time, v_end_time, v_location
  FROM hubspot_sync.hubspot_mock_exams
  WHERE hubspot_id = p_mock_exam_id;

  IF NOT FOUND THEN
    RAISE EXCEPTION 'Mock exam not found: %', p_mock_exam_id;
  END IF;

  -- Insert booking with exam-related fields populated
  INSERT INTO hubspot_sync.hubspot_bookings (
    hubspot_id,
    booking_id,
    student_id,
    student_email,
    associated_contact_id,
    associated_mock_exam,
    name,
    is_active,
    token_used,
    attending_location,
    dominant_hand,
    idempotency_key,
    exam_date,
    mock_type,
    start_time,
    end_time,
    created_at,
    synced_at,
    mock_set
  ) VALUES (
    NULL,
    p_booking_id,
    p_student_id,
    p_student_email,
    v_contact.hubspot_id,
    p_mock_exam_id,
    p_student_name,
    'Active',
    p_token_used,
    v_location,
    p_dominant_hand,
    p_idempotency_key,
    v_exam_date,
    v_mock_type,
    v_start_time,
    v_end_time,
    NOW(),
    NOW(),
    p_mock_set::mock_set_enum 
  )
  RETURNING id INTO v_booking_uuid;

  -- Update contact credits
  EXECUTE format(
    'UPDATE hubspot_sync.hubspot_contact_credits
     SET %I = $1, updated_at = NOW(), synced_at = NOW()
     WHERE id = $2',
    p_credit_field
  ) USING p_new_credit_value, v_contact.id;

  v_result := jsonb_build_object(
    'success', true,
    'booking_id', v_booking_uuid,
    'booking_code', p_booking_id,
    'contact_hubspot_id', v_contact.hubspot_id,
    'mock_exam_hubspot_id', p_mock_exam_id
  );

  RETURN v_result;
END;
$function$
;

CREATE OR REPLACE FUNCTION hubspot_sync.create_booking_atomic_v1(p_booking_id text, p_student_id text, p_student_email text, p_mock_exam_id text, p_student_name text, p_token_used text, p_attending_location text, p_dominant_hand text, p_idempotency_key text, p_credit_field text, p_new_credit_value integer)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$DECLARE
  v_booking_uuid UUID;
  v_contact hubspot_sync.hubspot_contact_credits;
  v_exam_date DATE;
  v_mock_type TEXT;
  v_start_time TEXT;
  v_end_time TEXT;
  v_result JSONB;
  v_location TEXT;
BEGIN
  -- Use helper function to get contact record
  v_contact := hubspot_sync.get_contact_credits(
    p_student_id := p_student_id,
    p_email := p_student_email
  );

  IF v_contact.id IS NULL THEN
    RAISE EXCEPTION 'Contact not found for student_id: %, email: %', p_student_id, p_student_email;
  END IF;


  -- Get exam data including mock_type, start_time, end_time
  SELECT exam_date, mock_type, start_time, end_time,
    COALESCE(p_attending_location, location) AS attending_location
  INTO v_exam_date, v_mock_type, v_start_time, v_end_time, v_location
  FROM hubspot_sync.hubspot_mock_exams
  WHERE hubspot_id = p_mock_exam_id;

  IF NOT FOUND THEN
    RAISE EXCEPTION 'Mock exam not found: %', p_mock_exam_id;
  END IF;

  -- Insert booking with exam-related fields populated
  INSERT INTO hubspot_sync.hubspot_bookings (
    hubspot_id,
    booking_id,
    student_id,
    student_email,
    associated_contact_id,
    associated_mock_exam,
    name,
    is_active,
    token_used,
    attending_location,
    dominant_hand,
    idempotency_key,
    exam_date,
    mock_type,
    start_time,
    end_time,
    created_at,
    synced_at
  ) VALUES (
    NULL,
    p_booking_id,
    p_student_id,
    p_student_email,
    v_contact.hubspot_id,
    p_mock_exam_id,
    p_student_name,
    'Active',
    p_token_used,
    v_location,
    p_dominant_hand,
    p_idempotency_key,
    v_exam_date,
    v_mock_type,
    v_start_time,
    v_end_time,
    NOW(),
    NOW()
  )
  RETURNING id INTO v_booking_uuid;

  -- Update contact credits
  EXECUTE format(
    'UPDATE hubspot_sync.hubspot_contact_credits
     SET %I = $1, updated_at = NOW(), synced_at = NOW()
     WHERE id = $2',
    p_credit_field
  ) USING p_new_credit_value, v_contact.id;

  v_result := jsonb_build_object(
    'success', true,
    'booking_id', v_booking_uuid,
    'booking_code', p_booking_id,
    'contact_hubspot_id', v_contact.hubspot_id,
    'mock_exam_hubspot_id', p_mock_exam_id
  );

  RETURN v_result;
END;$function$
;

CREATE OR REPLACE FUNCTION hubspot_sync.get_booking(p_id uuid DEFAULT NULL::uuid, p_hubspot_id text DEFAULT NULL::text, p_booking_id text DEFAULT NULL::text)
 RETURNS hubspot_sync.hubspot_bookings
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_result hubspot_sync.hubspot_bookings;
BEGIN
  IF p_id IS NOT NULL THEN
    SELECT * INTO v_result FROM hubspot_sync.hubspot_bookings WHERE id = p_id;
  ELSIF p_hubspot_id IS NOT NULL THEN
    SELECT * INTO v_result FROM hubspot_sync.hubspot_bookings WHERE hubspot_id = p_hubspot_id;
  ELSIF p_booking_id IS NOT NULL THEN
    SELECT * INTO v_result FROM hubspot_sync.hubspot_bookings WHERE booking_id = p_booking_id;
  ELSE
    RAISE EXCEPTION 'Must provide id, hubspot_id, or booking_id';
  END IF;
  
  RETURN v_result;
END;
$function$
;

CREATE OR REPLACE FUNCTION hubspot_sync.get_contact_credits(p_student_id text DEFAULT NULL::text, p_email text DEFAULT NULL::text, p_id uuid DEFAULT NULL::uuid, p_hubspot_id text DEFAULT NULL::text)
 RETURNS hubspot_sync.hubspot_contact_credits
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_result hubspot_sync.hubspot_contact_credits;
BEGIN
  IF p_id IS NOT NULL THEN
    SELECT * INTO v_result FROM hubspot_sync.hubspot_contact_credits WHERE id = p_id;
  ELSIF p_hubspot_id IS NOT NULL THEN
    SELECT * INTO v_result FROM hubspot_sync.hubspot_contact_credits WHERE hubspot_id = p_hubspot_id;
  ELSIF p_student_id IS NOT NULL AND p_email IS NOT NULL THEN
    SELECT * INTO v_result FROM hubspot_sync.hubspot_contact_credits WHERE student_id = p_student_id AND email = p_email;
  ELSE
    RAISE EXCEPTION 'Must provide id, hubspot_id, or (student_id AND email)';
  END IF;
  
  RETURN v_result;
END;
$function$
;

CREATE OR REPLACE FUNCTION hubspot_sync.increment_exam_bookings(p_exam_id text, p_delta integer)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$DECLARE
  v_new_count INTEGER;
BEGIN
  -- Atomic update with RETURNING clause
  UPDATE hubspot_sync.hubspot_mock_exams
  SET
    total_bookings = GREATEST(0, COALESCE(total_bookings, 0) + p_delta),
    updated_at = NOW(),
    synced_at = NOW()
  WHERE hubspot_id = p_exam_id
  RETURNING total_bookings INTO v_new_count;

  -- If no rows updated, exam doesn't exist in Supabase yet
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Exam % not found in Supabase', p_exam_id;
  END IF;

  RETURN v_new_count;
END;$function$
;
