-- Frozen copy of db/functions/internal/check_idempotency_key_arg.sql (new).
-- Why: every keyed RPC checks its key the same way, including the prefix reserved for
-- accept_offer's bookings.
CREATE OR REPLACE FUNCTION mockbook_internal.check_idempotency_key_arg(p_idempotency_key text,
                                                                  p_required boolean)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    IF p_idempotency_key IS NULL AND NOT p_required THEN
        RETURN;
    END IF;
    IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            CASE WHEN p_required THEN 'p_idempotency_key is required, 1 to 255 characters.'
                 ELSE 'p_idempotency_key must be 1 to 255 characters (or left out).' END);
    END IF;
    IF starts_with(lower(p_idempotency_key), 'waitlist-offer-') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_idempotency_key %L: keys starting with waitlist-offer- are reserved for '
                   'the bookings accept_offer makes.', p_idempotency_key));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_idempotency_key_arg(text, boolean) IS
'Internal: the one check of a caller''s idempotency key (required or optional, 1-255 characters, not
starting with the waitlist-offer- prefix reserved for accept_offer); INVALID_ARGUMENT. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.check_idempotency_key_arg(text, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
